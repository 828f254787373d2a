"""A Workspace ONE UEM REST API simulator (aiohttp) speaking the shapes of integrations.md section 3.

Serves `/api/mdm/devices/...` (lookup, search, commands, passcode, find, device log, messages,
BitLocker and FileVault keys, notes) and the OAuth token endpoint `/connect/token`. Every API
call needs `Authorization: Bearer <token>` from that endpoint, or `Basic` of a known account with
its `aw-tenant-code`: else 401 with errorCode 1005. Errors are `{errorCode, message, activityId}`.
Every command, message and note is recorded (`sent`). Switches (`Switches`, also at
`POST /_control`) set latency, random errors, forced failures, 429s, token expiry and lost answers.
Run alone: `python -m integrations.workspace_one.simulator --port 8730 --account api:secret:TENANT`.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from integrations.simulator_kit import FaultSwitches, VendorSimulator, arguments
from integrations.workspace_one.sim_routes import DeviceEndpoints
from integrations.workspace_one.sim_state import Seed, Sent, SimDevice, make_fleet, problem

API = "/api"
TOKEN_PATH = "/connect/token"
VERSION = re.compile(r"version\s*=\s*(\d+)", re.I)


@dataclass
class Switches(FaultSwitches):
    unauthorized_next: int = 0  # the next N authenticated calls answer 401 (an expired token)
    lose_next_command: int = 0  # do the next N commands, then answer 502 (a lost answer)
    drop_next_command: int = 0  # do the next N commands, then close the connection unanswered
    empty_search_204: bool = True  # an empty search answers 204 with no body
    token_ttl: int = 3600  # OAuth access token lifetime, seconds


class WorkspaceOneSimulator(VendorSimulator[Switches]):
    root = "/api/"

    def __init__(self, *, accounts: dict[str, str] | None = None, tenant_code: str = "",
                 clients: dict[str, str] | None = None, switches: Switches | None = None,
                 seed: int = 15) -> None:
        super().__init__(switches or Switches(), seed)
        self.accounts = dict(accounts or {})  # Basic username -> password
        self.tenant_code = tenant_code
        self.clients = dict(clients or {})  # OAuth client_id -> client_secret
        self.tokens: dict[str, float] = {}  # access token -> expiry (monotonic)
        self.token_requests = 0
        self.devices: list[SimDevice] = []
        self.sent: list[Sent] = []
        self.versions: list[str] = []  # the Accept version of each API call, "1" when absent
        self.endpoints = DeviceEndpoints(self)

    # --- fleet and records ------------------------------------------------------------------

    def seed_devices(self, fleet: Sequence[Seed]) -> None:
        """(name, serial, udid or None, platform, OS version, enrolled user's email or None)
        tuples, e.g. from the demo's inventory; ids start at 1001 in the fleet's order."""
        self.devices = make_fleet(fleet, self._rng)

    def device(self, key: str | int, by: str = "id") -> SimDevice | None:
        key = str(key).lower()
        for d in self.devices:
            if key == {"id": str(d.id), "uuid": d.uuid.lower(), "udid": d.udid.lower(),
                       "serialnumber": d.serial.lower(), "deviceid": str(d.id)}.get(by.lower()):
                return d
        return None

    def record(self, request: web.Request, device: SimDevice, kind: str,
               body: dict[str, Any] | None = None) -> None:
        self.sent.append(Sent(device.id, kind, dict(body or {}), dict(request.query),
                              self.versions[-1] if self.versions else "1", datetime.now(UTC)))

    def sent_to(self, name: str, kind: str | None = None) -> list[Sent]:
        """What was sent to the device called `name` (optionally of one kind), in order."""
        ids = {d.id for d in self.devices if d.name.lower() == name.lower()}
        return [s for s in self.sent if s.device_id in ids and kind in (None, s.kind)]

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    # --- wiring ----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(TOKEN_PATH, self.token)
        for method, path, endpoint in self.endpoints.routes():
            app.router.add_route(method, f"{API}{path}", endpoint)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(self.prefix)
        if not path.startswith(f"{API}/"):
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical.removeprefix(self.prefix) if resource else path
        self.hits[f"{request.method} {route}"] += 1
        match = VERSION.search(request.headers.get("Accept", ""))
        self.versions.append(match.group(1) if match else "1")
        fault = await self.inject_faults(f"{request.method} {path}")
        if fault is not None:
            return fault
        refused = self._check_auth(request)
        if refused is not None:
            self.refused += 1
            return refused
        return await handler(request)

    def _check_auth(self, request: web.Request) -> web.Response | None:
        if self.switches.unauthorized_next > 0:
            self.switches.unauthorized_next -= 1
            return problem(401, 1005, "The access token expired.")
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and self.tokens.get(value.strip(), 0.0) > time.monotonic():
            return None
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except ValueError:
                user, password = "", ""
            known = user in self.accounts and secrets.compare_digest(self.accounts[user], password)
            if known and request.headers.get("aw-tenant-code", "") == self.tenant_code:
                return None
            return problem(401, 1005, "An error occurred while validating remote service client "
                                      f"credentials or user not found : {user[:64]}")
        return problem(401, 1005, "Missing or invalid credentials.")

    def rate_limited(self, retry_after: int) -> web.Response:
        return problem(429, 429, "Too many requests; the API quota is exhausted.",
                       {"Retry-After": str(retry_after)})

    def failed(self, status: int, message: str) -> web.Response:
        return problem(status, 1000 if status >= 500 else status, message)

    # --- OAuth -----------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = {k: str(v) for k, v in (await request.post()).items()}
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if not secret or self.clients.get(client_id) != secret:
            return web.json_response({"error": "invalid_client"}, status=400)
        access = secrets.token_urlsafe(32)
        self.tokens[access] = time.monotonic() + self.switches.token_ttl
        return web.json_response({"access_token": access, "expires_in": self.switches.token_ttl,
                                  "token_type": "Bearer"})

    # --- control ---------------------------------------------------------------------------

    def control_state(self) -> dict[str, Any]:
        return {"switches": asdict(self.switches), "hits": dict(self.hits),
                "devices": len(self.devices), "sent": [
                    {**asdict(s), "at": s.at.isoformat()} for s in self.sent]}

    def take_control(self, body: dict[str, Any]) -> web.Response | None:
        if body.pop("expire_tokens", False):
            self.expire_tokens()
        if "devices" in body:
            self.seed_devices([(str(d["name"]), str(d["serial"]), d.get("udid"),
                                str(d["platform"]), str(d.get("os", "")), d.get("email"))
                               for d in body.pop("devices")])
        if body.pop("reset_stats", False):
            self.hits.clear()
            self.sent.clear()
        return None


def main() -> None:
    p = arguments("Workspace ONE UEM REST API simulator", 8730)
    p.add_argument("--account", action="append", default=[],
                   help="a Basic account as user:password:tenant-code")
    p.add_argument("--client", action="append", default=[], help="OAuth client as id:secret")
    args = p.parse_args()
    accounts = [a.split(":", 2) for a in args.account]
    WorkspaceOneSimulator(accounts={a[0]: a[1] for a in accounts},
                          tenant_code=accounts[0][2] if accounts else "",
                          clients=dict(c.split(":", 1) for c in args.client),
                          switches=Switches(latency=args.latency)).run(args.host, args.port)


if __name__ == "__main__":
    main()
