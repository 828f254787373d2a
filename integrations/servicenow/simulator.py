"""A ServiceNow simulator (aiohttp) speaking the shapes of integrations.md section 4.

Serves the Table API (`/api/now/table/{table}` and `/api/now/v1/table/...`: list with
`sysparm_query`, `sysparm_fields`, `sysparm_display_value`, `sysparm_limit`/`sysparm_offset`,
`X-Total-Count` and `Link` paging; read, create, PATCH/PUT with journal appends), the Attachment
API (raw-body upload, list, content) and `oauth_token.do` (password, client-credentials and
refresh grants, form-encoded only). Every API call needs Basic or a Bearer token; errors are
`{"error": {"message", "detail"}, "status": "failure"}`. Switches (`Switches`, also at
`POST /_control`) set latency, errors, 429s with `X-RateLimit-*` and `Retry-After`, 401s and the
token lifetime. Run alone: `python -m integrations.servicenow.simulator --port 8740 --user a:b`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from integrations.servicenow.sim_api import USER, SimApi, fail
from integrations.servicenow.sim_tables import Instance
from integrations.simulator_kit import FaultSwitches, VendorSimulator, arguments

TOKEN_PATH = "/oauth_token.do"


@dataclass
class Switches(FaultSwitches):
    unauthorized_next: int = 0  # the next N API calls answer 401 whatever their credentials
    token_ttl: int = 1799  # OAuth access token lifetime, seconds
    client_credentials: bool = True  # whether oauth_token.do grants client_credentials


class ServiceNowSimulator(VendorSimulator[Switches]):
    def __init__(self, *, users: dict[str, str] | None = None, clients: dict[str, str] | None = None,
                 switches: Switches | None = None, seed: int | None = None) -> None:
        super().__init__(switches or Switches(), seed)
        self.accounts = dict(users or {})  # integration user name -> password
        self.clients = dict(clients or {})  # OAuth client_id -> client_secret
        self.access: dict[str, tuple[float, str]] = {}  # token -> (expiry, user name)
        self.refresh: dict[str, str] = {}  # refresh token -> user name
        self.token_requests: list[dict[str, str]] = []  # form fields seen, secrets included
        self.instance = Instance()
        self.api = SimApi(self)

    # --- fleet -----------------------------------------------------------------------------

    def seed_fleet(self, devices: Sequence[tuple[str, str, str]],
                   people: Sequence[tuple[str, str]] = (), *, incidents: int = 25) -> None:
        """Devices as (name, serial, owner email) and people as (email, name), e.g. the demo's."""
        self.instance.seed_fleet(devices, people, incidents=incidents)

    def expire_tokens(self) -> None:
        for token, (_, who) in list(self.access.items()):
            self.access[token] = (0.0, who)

    # --- wiring ----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(TOKEN_PATH, self.token)
        for base in ("/api/now", "/api/now/v1"):
            r.add_get(f"{base}/table/{{table}}", self.api.list)
            r.add_post(f"{base}/table/{{table}}", self.api.create)
            r.add_get(f"{base}/table/{{table}}/{{sys_id}}", self.api.read)
            r.add_patch(f"{base}/table/{{table}}/{{sys_id}}", self.api.update)
            r.add_put(f"{base}/table/{{table}}/{{sys_id}}", self.api.update)
            r.add_post(f"{base}/attachment/file", self.api.upload)
            r.add_get(f"{base}/attachment", self.api.attachments)
            r.add_get(f"{base}/attachment/{{sys_id}}/file", self.api.content)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(self.prefix)
        if path.startswith("/_control"):
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical.removeprefix(self.prefix) if resource else path
        self.hits[f"{request.method} {route}"] += 1
        fault = await self.inject_faults(f"{request.method} {path}")
        if fault is not None:
            return fault
        if path != TOKEN_PATH and path.startswith("/api/"):
            who = self._authenticate(request)
            if who is None:
                self.refused += 1
                return fail(401, "User Not Authenticated", "Required to provide Auth information")
            request[USER] = who
        return await handler(request)

    def rate_limited(self, retry_after: int) -> web.Response:
        reset = int(time.time()) + retry_after
        return fail(429, "Too many requests", "Rate limit exceeded for this user", headers={
            "Retry-After": str(retry_after), "X-RateLimit-Limit": "1000",
            "X-RateLimit-Reset": str(reset), "X-RateLimit-Rule": "b8e3c0a1d0a3f01081e6b3b1b9c2d3e4"})

    def failed(self, status: int, message: str) -> web.Response:
        return fail(status, message, "Simulated by the ServiceNow simulator")

    def _authenticate(self, request: web.Request) -> str | None:
        """The user behind the call's credentials; None when they are refused."""
        if self.switches.unauthorized_next > 0:
            self.switches.unauthorized_next -= 1
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            known = self.accounts.get(user)
            return user if known is not None and secrets.compare_digest(known, password) else None
        if scheme.lower() == "bearer":
            expiry, who = self.access.get(value.strip(), (0.0, ""))
            return who if expiry > time.monotonic() else None
        return None

    # --- OAuth -----------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "The body must be form-encoded.")
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not secret or self.clients.get(client_id) != secret:
            return _oauth_error(401, "access_denied", "Client authentication failed.")
        grant = form.get("grant_type")
        if grant == "password":
            user = form.get("username", "")
            known = self.accounts.get(user)
            if known is None or not secrets.compare_digest(known, form.get("password", "")):
                return _oauth_error(401, "access_denied", "Invalid username or password.")
        elif grant == "client_credentials" and self.switches.client_credentials:
            user = f"oauth:{client_id}"
        elif grant == "refresh_token":
            user = self.refresh.pop(form.get("refresh_token", ""), "")
            if not user:
                return _oauth_error(401, "access_denied", "The refresh token is invalid or used.")
        else:
            return _oauth_error(400, "unsupported_grant_type", f"{grant} is not supported.")
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = (time.monotonic() + self.switches.token_ttl, user)
        self.refresh[refresh] = user
        return web.json_response({"access_token": access, "refresh_token": refresh,
                                  "scope": "useraccount", "token_type": "Bearer",
                                  "expires_in": self.switches.token_ttl})

    # --- control ---------------------------------------------------------------------------

    def control_state(self) -> dict[str, Any]:
        tables = self.instance.tables
        return {"switches": asdict(self.switches), "hits": dict(self.hits), "refused": self.refused,
                "records": {t: len(rows) for t, rows in tables.items()},
                "journal": len(self.instance.journal), "attachments": len(self.instance.files)}

    def take_control(self, body: dict[str, Any]) -> web.Response | None:
        if body.pop("expire_tokens", False):
            self.expire_tokens()
        if "fleet" in body:
            fleet = body.pop("fleet")
            self.seed_fleet([(str(d["name"]), str(d.get("serial", "")), str(d.get("owner", "")))
                             for d in fleet.get("devices", [])],
                            [(str(p["email"]), str(p.get("name", ""))) for p in fleet.get("people", [])],
                            incidents=int(fleet.get("incidents", 25)))
        if body.pop("reset_stats", False):
            self.hits.clear()
        return None


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def main() -> None:
    p = arguments("ServiceNow Table and Attachment API simulator", 8740)
    p.add_argument("--user", action="append", default=[], help="an integration user as name:password")
    p.add_argument("--client", action="append", default=[], help="OAuth client as id:secret")
    p.add_argument("--devices", type=int, default=20, help="synthetic computers PC-0001...")
    args = p.parse_args()
    sim = ServiceNowSimulator(users=dict(u.split(":", 1) for u in args.user),
                              clients=dict(c.split(":", 1) for c in args.client),
                              switches=Switches(latency=args.latency))
    sim.seed_fleet([(f"PC-{n:04d}", f"SN{n:09d}", f"user{n:03d}@example.com")
                    for n in range(1, args.devices + 1)])
    sim.run(args.host, args.port)


if __name__ == "__main__":
    main()

