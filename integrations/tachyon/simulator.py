"""A 1E Tachyon Consumer API simulator (aiohttp) speaking the shapes of integrations.md section 2.

Every call needs `X-Tachyon-Authenticate: <token>` (or `Authorization: Bearer <token>`; 401
otherwise) and a registered `X-Tachyon-Consumer` (403 otherwise). Paths are case-insensitive
under `/Consumer/`, with an optional version segment (`/Consumer/v3.2/...`). Errors are ASP.NET
style `{"Message": ...}`. Switches (`Switches`, also `GET/POST /_control`) set latency, a random
error rate, forced failures, 429s, a forced status and the speed of the status progression.
Run alone: `python -m integrations.tachyon.simulator --port 8720 --token demo-token --devices 50000`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from integrations.tachyon.sim_catalogue import CATALOGUE, SETS, Entry, mix
from integrations.tachyon.sim_handlers import CONSUMER, PRINCIPAL, Handlers, fail
from integrations.tachyon.sim_state import SimDevice, SimInstruction

UNAUTHORIZED = "Authorization has been denied for this request."



@dataclass
class Switches:
    latency: float = 0.0  # seconds added to every API call
    error_rate: float = 0.0  # share of API calls answered with `error_status`
    error_status: int = 503
    fail_next: int = 0  # the next N API calls (matching `fail_path`) answer `fail_status`
    fail_status: int = 503
    fail_path: str = ""  # substring of "METHOD /lowercased/path", e.g. "POST /consumer/instructions"
    rate_limit_next: int = 0  # the next N API calls answer 429 with Retry-After
    retry_after: int = 1
    lose_next_issue: int = 0  # create the instruction, then answer 502 (a lost response)
    force_status: int | None = None  # every instruction reports this Status code
    step_seconds: float = 1.0  # Created -> Sent -> In progress, each this long
    answer_seconds: float = 5.0  # until every reachable target has answered
    minute_seconds: float = 60.0  # one TTL minute; shrink it to see gather windows end
    otp_seconds: float = 600.0  # 2FA code lifetime; after it an action is rejected
    error_percent: int = 2  # of targets that answer with an error
    offline_percent: int = 2  # of targets that never answer (outstanding until the TTL ends)
    approval_for_actions: bool = True  # 1E's workflow: actions wait in approval (Status 1)
    two_factor: bool = False  # actions first await an e-mailed code (Status 12)


class TachyonSimulator:
    def __init__(self, *, tokens: dict[str, str] | None = None, consumers: Sequence[str] = ("deskhand",),
                 switches: Switches | None = None, devices: list[SimDevice] | None = None,
                 approvers: set[str] | None = None, catalogue: list[Entry] | None = None,
                 seed: int = 11) -> None:
        self.tokens = dict(tokens or {})  # token -> principal name
        self.consumers = {c.lower() for c in consumers}
        self.switches = switches or Switches()
        self.approvers = approvers  # principals allowed to approve; None: everyone (but not their own)
        self.catalogue = list(catalogue or CATALOGUE)
        self.sets = list(SETS)
        self.devices: list[SimDevice] = []
        self._by_fqdn: dict[str, SimDevice] = {}
        self.set_devices(devices or [])
        self.instructions: dict[int, SimInstruction] = {}
        self.next_id = 1
        self.hits: Counter[str] = Counter()
        self.refused = 0
        self.installed: set[str] = set()  # devices where the TeamViewer install action ran
        self._rng = random.Random(seed)
        self.prefix = ""
        self.handlers = Handlers(self)

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

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/_control", self.control_get)
        app.router.add_post("/_control", self.control_set)
        app.router.add_get("/_control/otp/{id}", self.control_otp)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    def mount(self, parent: web.Application, prefix: str) -> None:
        """Serve under `prefix` of another app; the Consumer root is then `<prefix>/Consumer/`."""
        self.prefix = prefix.rstrip("/")
        parent.add_subapp(self.prefix, self.app())

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path.removeprefix(self.prefix)
        if path.startswith("/_control"):
            return await handler(request)
        sw = self.switches
        key = f"{request.method} {path.lower()}"
        self.hits[key] += 1
        if sw.latency:
            await asyncio.sleep(sw.latency)
        if sw.rate_limit_next > 0:
            sw.rate_limit_next -= 1
            return fail(429, "Too many requests. Retry later.", {"Retry-After": str(sw.retry_after)})
        if sw.fail_next > 0 and sw.fail_path.lower() in key.lower():
            sw.fail_next -= 1
            return fail(sw.fail_status, "Simulated failure.")
        if sw.error_rate and self._rng.random() < sw.error_rate:
            return fail(sw.error_status, "Simulated random failure.")
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
        return await handler(request)

    async def dispatch(self, request: web.Request) -> web.Response:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if parts and parts[0].lower() == "consumer":
            parts = parts[1:]
        if parts and re.fullmatch(r"v\d+(\.\d+)?", parts[0], re.I):
            parts = parts[1:]
        path = "/".join(parts)
        for method, pattern, handler in self.handlers.routes():
            if method != request.method:
                continue
            found = re.fullmatch(pattern, path, re.I)
            if found:
                return await self.handlers.call(request, handler, list(found.groups()))
        return fail(404, f"No HTTP resource was found that matches the request URI '{request.path}'.")

    # --- control ---------------------------------------------------------------------------

    def control_state(self) -> dict[str, Any]:
        return {**asdict(self.switches), "devices": len(self.devices), "instructions": len(self.instructions),
                "hits": dict(self.hits), "refused": self.refused}

    async def control_get(self, request: web.Request) -> web.Response:
        return web.json_response(self.control_state())

    async def control_set(self, request: web.Request) -> web.Response:
        """Switch fields, plus `devices` (a synthetic fleet size), `force` {"id", "status"} and
        `reset_stats`."""
        try:
            body = await request.json()
        except ValueError:
            return fail(400, "The body is not valid JSON.")
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
        known = asdict(self.switches)
        unknown = [k for k in body if k not in known]
        if unknown:
            return fail(400, f"unknown switches: {', '.join(unknown)}")
        for key, value in body.items():
            setattr(self.switches, key, value)
        return web.json_response(self.control_state())

    async def control_otp(self, request: web.Request) -> web.Response:
        """The one-time code 1E would e-mail for an action awaiting authentication."""
        ins = self.instructions.get(int(request.match_info["id"]))
        if ins is None:
            return fail(404, "No such instruction.")
        return web.json_response({"Id": ins.id, "Token": ins.otp})

    def install_effects(self, ins: SimInstruction, now: float) -> None:
        """A finished TeamViewer install makes the check answer "installed" on those devices."""
        if ins.entry.name.endswith("InstallFullClient") and len(ins.devices) <= 1000:
            self.installed.update(ins.answered_fqdns(now))

    def pattern_offset(self, instruction_id: int) -> int:
        return mix("offset", instruction_id) % 100


async def serve(sim: TachyonSimulator, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Listen on host:port (0 picks a free one); returns the runner and the Consumer API root URL."""
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}/Consumer/"


def main() -> None:
    p = argparse.ArgumentParser(description="1E Tachyon Consumer API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8720)
    p.add_argument("--token", action="append", default=[],
                   help="an accepted token, optionally token=principal (repeatable)")
    p.add_argument("--consumer", action="append", default=[], help="a registered consumer name")
    p.add_argument("--devices", type=int, default=200, help="synthetic fleet size")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each API call")
    args = p.parse_args()
    tokens = dict(t.split("=", 1) if "=" in t else (t, f"principal-{n}") for n, t in enumerate(args.token))
    sim = TachyonSimulator(tokens=tokens, consumers=args.consumer or ["deskhand"],
                           switches=Switches(latency=args.latency))
    sim.synthetic_fleet(args.devices)
    web.run_app(sim.app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
