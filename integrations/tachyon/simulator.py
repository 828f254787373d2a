"""A 1E Tachyon Consumer API simulator (aiohttp) speaking the shapes of integrations.md section 2.

Every call needs `X-Tachyon-Authenticate: <token>` (or `Authorization: Bearer <token>`; 401
otherwise) and a registered `X-Tachyon-Consumer` (403 otherwise). Paths are case-insensitive
under `/Consumer/`, with an optional version segment (`/Consumer/v3.2/...`). Errors are ASP.NET
style `{"Message": ...}`. Switches (`sim_api.Switches`, also `GET/POST /_control`) set latency, a
random error rate, forced failures, 429s, a forced status and the speed of the status progression.
Run alone: `python -m integrations.tachyon.simulator --port 8720 --token demo-token --devices 50000`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from integrations.simulator_kit import VendorSimulator, arguments
from integrations.tachyon.sim_api import CONSUMER, PRINCIPAL, Problem, Switches, fail
from integrations.tachyon.sim_catalogue import CATALOGUE, SETS, Entry
from integrations.tachyon.sim_devices import DeviceEndpoints
from integrations.tachyon.sim_instructions import InstructionEndpoints
from integrations.tachyon.sim_pages import PageEndpoints
from integrations.tachyon.sim_state import SimDevice, SimInstruction

UNAUTHORIZED = "Authorization has been denied for this request."
VERSION = re.compile(r"v\d+(\.\d+)?", re.I)


class TachyonSimulator(VendorSimulator[Switches]):
    root = "/Consumer/"

    def __init__(self, *, tokens: dict[str, str] | None = None, consumers: Sequence[str] = ("deskhand",),
                 switches: Switches | None = None, devices: list[SimDevice] | None = None,
                 approvers: set[str] | None = None, catalogue: list[Entry] | None = None,
                 seed: int = 11) -> None:
        super().__init__(switches or Switches(), seed)
        self.tokens = dict(tokens or {})  # token -> principal name
        self.consumers = {c.lower() for c in consumers}
        self.approvers = approvers  # principals allowed to approve; None: everyone (but not their own)
        self.catalogue = list(catalogue or CATALOGUE)
        self.sets = list(SETS)
        self.devices: list[SimDevice] = []
        self._by_fqdn: dict[str, SimDevice] = {}
        self.set_devices(devices or [])
        self.instructions: dict[int, SimInstruction] = {}
        self.next_id = 1
        self.installed: set[str] = set()  # devices where the TeamViewer install action ran
        instructions = InstructionEndpoints(self)
        self.routes = [(method, re.compile(pattern, re.I), endpoint) for method, pattern, endpoint
                       in instructions.routes() + PageEndpoints(self, instructions.to_json).routes()
                       + DeviceEndpoints(self).routes()]

    # --- fleet -----------------------------------------------------------------------------

    def set_devices(self, devices: list[SimDevice]) -> None:
        self.devices = sorted(devices, key=lambda d: d.fqdn)
        self._by_fqdn = {d.fqdn.lower(): d for d in self.devices}

    def seed_devices(self, fleet: list[tuple[str, str, dict[str, Any]]]) -> None:
        """(fqdn, management group name, attributes) triples, e.g. from the demo's inventory."""
        groups: dict[str, int] = {}
        self.set_devices([SimDevice(fqdn.lower(), groups.setdefault(group or "Default", len(groups) + 1),
                                    group or "Default", dict(attrs)) for fqdn, group, attrs in fleet])

    def synthetic_fleet(self, count: int, groups: Sequence[str] = ("London", "New York", "Singapore",
                                                                   "Field Laptops")) -> None:
        """`count` devices pc-0001.corp.example.com..., spread over `groups` (ids 1..n)."""
        width = max(4, len(str(count)))
        self.set_devices([SimDevice(f"pc-{n:0{width}d}.corp.example.com", (n - 1) % len(groups) + 1,
                                    groups[(n - 1) % len(groups)]) for n in range(1, count + 1)])

    def device(self, fqdn: str) -> SimDevice | None:
        return self._by_fqdn.get(fqdn.lower())

    def entry(self, key: int | str) -> Entry | None:
        for e in self.catalogue:
            if e.id == key if isinstance(key, int) else e.name.lower() == key.lower():
                return e
        return None

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def now(self) -> float:
        return time.time()

    # --- wiring ----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """All but `/_control` goes to `dispatch`; mounted under `prefix`, the Consumer root is
        `<prefix>/Consumer/`."""
        app.router.add_get("/_control/otp/{id}", self.control_otp)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)

    def rate_limited(self, retry_after: int) -> web.Response:
        return fail(429, "Too many requests. Retry later.", {"Retry-After": str(retry_after)})

    def failed(self, status: int, message: str) -> web.Response:
        return fail(status, message)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(self.prefix)
        if path.startswith("/_control"):
            return await handler(request)
        call = f"{request.method} {path.lower()}"
        self.hits[call] += 1
        refused = await self.inject_faults(call)
        if refused is None:
            refused = self._authenticate(request)
        return refused if refused is not None else await handler(request)

    def _authenticate(self, request: web.Request) -> web.Response | None:
        """Refuses the call (401, 403), or notes who made it for the endpoints."""
        token = request.headers.get("X-Tachyon-Authenticate", "").strip()
        bearer = request.headers.get("Authorization", "")
        if not token and bearer.lower().startswith("bearer "):
            token = bearer[7:].strip()
        if token not in self.tokens:
            self.refused += 1
            return fail(401, UNAUTHORIZED)
        consumer = request.headers.get("X-Tachyon-Consumer", "").strip()
        if consumer.lower() not in self.consumers:
            self.refused += 1
            return fail(403, f"Consumer '{consumer}' is not registered or not enabled."
                        if consumer else "The X-Tachyon-Consumer header is required.")
        request[PRINCIPAL] = self.tokens[token]
        request[CONSUMER] = consumer
        return None

    async def dispatch(self, request: web.Request) -> web.Response:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if parts and parts[0].lower() == "consumer":
            parts = parts[1:]
        if parts and VERSION.fullmatch(parts[0]):
            parts = parts[1:]
        path = "/".join(parts)
        for method, pattern, endpoint in self.routes:
            found = pattern.fullmatch(path) if method == request.method else None
            if found:
                try:
                    return await endpoint(request, list(found.groups()))
                except Problem as exc:
                    return fail(exc.status, str(exc))
        return fail(404, f"No HTTP resource was found that matches the request URI '{request.path}'.")

    # --- control ---------------------------------------------------------------------------

    def control_state(self) -> dict[str, Any]:
        return {**asdict(self.switches), "devices": len(self.devices), "instructions": len(self.instructions),
                "hits": dict(self.hits), "refused": self.refused}

    def take_control(self, body: dict[str, Any]) -> web.Response | None:
        """`devices` (a synthetic fleet size), `force` {"id", "status"} and `reset_stats`."""
        if "devices" in body:
            self.synthetic_fleet(int(body.pop("devices")))
        force = body.pop("force", None)
        if force:
            ins = self.instructions.get(int(force["id"]))
            if ins is None:
                return fail(404, f"Instruction {force['id']} was not found.")
            ins.forced = None if force.get("status") is None else int(force["status"])
        if body.pop("reset_stats", False):
            self.hits.clear()
            self.refused = 0
        return None

    async def control_otp(self, request: web.Request) -> web.Response:
        """The one-time code 1E would e-mail for an action awaiting authentication."""
        ins = self.instructions.get(int(request.match_info["id"]))
        if ins is None:
            return fail(404, "No such instruction.")
        return web.json_response({"Id": ins.id, "Token": ins.otp})


def main() -> None:
    p = arguments("1E Tachyon Consumer API simulator", 8720)
    p.add_argument("--token", action="append", default=[],
                   help="an accepted token, optionally token=principal (repeatable)")
    p.add_argument("--consumer", action="append", default=[], help="a registered consumer name")
    p.add_argument("--devices", type=int, default=200, help="synthetic fleet size")
    args = p.parse_args()
    tokens = dict(t.split("=", 1) if "=" in t else (t, f"principal-{n}") for n, t in enumerate(args.token))
    sim = TachyonSimulator(tokens=tokens, consumers=args.consumer or ["deskhand"],
                           switches=Switches(latency=args.latency))
    sim.synthetic_fleet(args.devices)
    sim.run(args.host, args.port)


if __name__ == "__main__":
    main()
