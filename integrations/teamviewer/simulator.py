"""A TeamViewer Web API simulator (aiohttp) speaking the shapes of integrations.md section 1.

Serves `/api/v1/...` (ping, sessions, managed devices, devices, oauth2/token) and the browser
`/oauth2/authorize` page, with switches (`Switches`, also at `POST /_control`) for latency,
a random error rate, forced failures, 429s, token expiry and the licence's session limit.
Run alone: `python -m integrations.teamviewer.simulator --port 8710 --token demo-token`.
"""

from __future__ import annotations

import functools
import html
import itertools
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from integrations.simulator_kit import FaultSwitches, VendorSimulator, arguments
from integrations.teamviewer.simulator_oauth import SimulatedOAuth, error

API = "/api/v1"
PAGE = 100  # managed devices per page
LIMIT_TEXT = "The maximum number of concurrent sessions permitted by your TeamViewer license is reached."


@dataclass
class Switches(FaultSwitches):
    unauthorized_next: int = 0  # the next N authenticated calls answer 401 invalid_token
    lose_next_create: int = 0  # create the session, then answer 502 (a lost response)
    max_open_sessions: int | None = None  # the licence's concurrent-session limit
    token_ttl: int = 86400  # OAuth access token lifetime, seconds


@dataclass
class SimDevice:
    name: str
    full_client: bool = True
    online: bool = True
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    teamviewer_id: int = field(default_factory=lambda: random.randrange(100_000_000, 2_000_000_000))
    group: str = ""  # its managed group's name; "" for none


@functools.lru_cache(maxsize=4096)  # asked once per device per page of a group's listing
def group_id(name: str) -> str:
    """A managed group's id: stable for its name, as TeamViewer's own ids are for a group."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"teamviewer-group:{name}"))


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class TeamViewerSimulator(VendorSimulator[Switches], SimulatedOAuth):
    def __init__(self, *, script_tokens: tuple[str, ...] = (), switches: Switches | None = None,
                 clients: dict[str, str] | None = None, devices: list[SimDevice] | None = None,
                 seed: int | None = None) -> None:
        super().__init__(switches or Switches(), seed)
        self.script_tokens = set(script_tokens)
        self.init_oauth(clients or {})
        self.devices: list[SimDevice] = list(devices or [])
        self.sessions: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, str] = {}  # name -> gNNNNNNNN
        self.renamed_groups: dict[str, str] = {}  # new name -> the name its id was made from
        self.create_seconds: list[float] = []

    # --- wiring ----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{API}/ping", self.ping)
        r.add_post(f"{API}/sessions", self.create_session)
        r.add_get(f"{API}/sessions", self.list_sessions)
        r.add_get(f"{API}/sessions/{{code}}", self.get_session)
        r.add_put(f"{API}/sessions/{{code}}", self.update_session)
        r.add_get(f"{API}/managed/devices", self.managed_devices)
        r.add_get(f"{API}/managed/devices/{{id}}", self.managed_device)
        r.add_get(f"{API}/managed/groups", self.managed_groups)
        r.add_get(f"{API}/managed/groups/{{id}}/devices", self.managed_group_devices)
        r.add_get(f"{API}/devices", self.legacy_devices)
        r.add_get("/s/{code}", self.session_page)
        self.oauth_routes(app, API)

    @property
    def token_ttl(self) -> int:  # type: ignore[override]
        return self.switches.token_ttl

    def seed_devices(self, fleet: list[tuple[str, bool]]) -> None:
        """(name, full client installed) pairs; devices without the full client stay unmanaged."""
        rng = random.Random(len(fleet))
        self.devices = [SimDevice(name, full, online=rng.random() < 0.7,
                                  teamviewer_id=rng.randrange(100_000_000, 2_000_000_000))
                        for name, full in fleet]

    def open_sessions(self) -> list[dict[str, Any]]:
        return [s for s in self.sessions.values() if self._state(s) == "Open"]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(self.prefix)
        if not path.startswith(API):
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical.removeprefix(self.prefix) if resource else path
        self.hits[f"{request.method} {route}"] += 1
        started = time.perf_counter()
        try:
            fault = await self.inject_faults(f"{request.method} {path}")
            if fault is not None:
                return fault
            if path not in (f"{API}/ping", f"{API}/oauth2/token"):
                refused = self._check_bearer(request)
                if refused is not None:
                    return refused
            return await handler(request)
        finally:
            if request.method == "POST" and path == f"{API}/sessions":
                self.create_seconds.append(time.perf_counter() - started)

    def rate_limited(self, retry_after: int) -> web.Response:
        return error(429, "too_many_requests", "Rate limit exceeded, retry later.", 429,
                     {"Retry-After": str(retry_after)})

    def failed(self, status: int, message: str) -> web.Response:
        return error(status, "internal_error", message, 500)

    def _bearer(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else ""

    def _valid(self, token: str) -> bool:
        return token in self.script_tokens or self.access_valid(token)

    def _check_bearer(self, request: web.Request) -> web.Response | None:
        token = self._bearer(request)
        problem = None
        if self.switches.unauthorized_next > 0:
            self.switches.unauthorized_next -= 1
            problem = error(401, "invalid_token", "The access token expired.", 401)
        elif not token:
            problem = error(401, "invalid_request", "Missing Authorization header.", 401)
        elif not self._valid(token):
            problem = error(401, "invalid_token", "The access token is invalid or expired.", 401)
        self.refused += problem is not None
        return problem

    # --- API -------------------------------------------------------------------------------

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({"token_valid": self._valid(self._bearer(request))})

    def _state(self, session: dict[str, Any]) -> str:
        if session["state"] == "Open" and datetime.fromisoformat(
                session["valid_until"].replace("Z", "+00:00")) < _now():
            session["state"], session["closed_at"] = "Closed", session["valid_until"]
        return str(session["state"])

    def _public(self, session: dict[str, Any]) -> dict[str, Any]:
        self._state(session)
        return dict(session)

    async def _json(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "invalid_request", "The body is not valid JSON.", 1)
        if not isinstance(body, dict):
            return error(400, "invalid_request", "The body must be a JSON object.", 1)
        return body

    async def create_session(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        groupid, groupname = body.get("groupid"), body.get("groupname")
        if not groupid and not groupname:
            return error(400, "invalid_request", "groupid or groupname is required.", 1)
        if groupname:
            groupid = self.groups.setdefault(str(groupname), f"g{self._rng.randrange(10**8):08d}")
        limit = self.switches.max_open_sessions
        if limit is not None and len(self.open_sessions()) >= limit:
            return error(429, "too_many_sessions", LIMIT_TEXT, 9, {"Retry-After": "600"})
        customer = body.get("end_customer") or None
        if customer is not None and (not isinstance(customer, dict)
                                     or len(str(customer.get("name", ""))) > 100
                                     or len(str(customer.get("email", ""))) > 254):
            return error(400, "invalid_request", "end_customer: name <= 100, email <= 254.", 1)
        digits = f"{self._rng.randrange(10**8):08d}"
        code = f"s{digits[:2]}-{digits[2:5]}-{digits[5:]}"
        now = _now()
        base = f"{request.scheme}://{request.host}{self.prefix}/s/"
        session = {
            "code": code, "state": "Open", "groupid": groupid,
            "description": str(body.get("description", "")), "end_customer": customer,
            "waiting_message": str(body.get("waiting_message", "")),
            "assigned_userid": body.get("assigned_userid"), "assigned_at": None,
            "end_customer_link": f"{base}{code}?as=customer",
            "supporter_link": f"{base}{code}?as=supporter",
            "webclient_supporter_link": f"{base}{code}?as=webclient",
            "custom_api": str(body.get("custom_api", ""))[:4000], "created_at": _iso(now),
            "valid_until": body.get("valid_until") or _iso(now + timedelta(hours=12)),
            "closed_at": None, "online": False,
            "support_session_type": body.get("support_session_type", "Default"),
            "custom_module_id": None, "tv_version": None,
        }
        self.sessions[code] = session
        if self.switches.lose_next_create > 0:
            self.switches.lose_next_create -= 1
            return error(502, "bad_gateway", "Upstream connection lost.", 502)
        return web.json_response(self._public(session))

    async def list_sessions(self, request: web.Request) -> web.Response:
        q = request.query
        states = {s.strip().lower() for s in q.get("state", "open").split(",") if s.strip()}
        rows = [s for s in self.sessions.values() if self._state(s).lower() in states
                and (not q.get("groupid") or s["groupid"] == q["groupid"])
                and (not q.get("assigned_userid") or s["assigned_userid"] == q["assigned_userid"])]
        offset = q.get("offset")
        if offset:
            codes = [s["code"] for s in rows]
            rows = rows[codes.index(offset):] if offset in codes else []
        page, rest = rows[:50], rows[50:]
        full = q.get("full_list", "false").lower() == "true"
        out = [self._public(s) if full else {"code": s["code"], "state": s["state"],
                                             "groupid": s["groupid"]} for s in page]
        return web.json_response({"sessions": out,
                                  "next_offset": rest[0]["code"] if rest else None,
                                  "sessions_remaining": len(rest)})

    async def get_session(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["code"])
        if session is None:
            return error(404, "not_found", "No session with this code.", 404)
        return web.json_response(self._public(session))

    async def update_session(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["code"])
        if session is None:
            return error(404, "not_found", "No session with this code.", 404)
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        state = str(body.get("state", "")).lower()
        if state and state not in ("open", "closed"):
            return error(400, "invalid_request", "state must be open or closed.", 1)
        for key in ("description", "waiting_message", "custom_api", "end_customer"):
            if key in body:
                session[key] = body[key]
        if state == "closed" and session["state"] != "Closed":
            session["state"], session["closed_at"] = "Closed", _iso(_now())
        elif state == "open":
            session["state"], session["closed_at"] = "Open", None
        return web.Response(status=204)

    @staticmethod
    def _row(d: SimDevice, seen: str | None) -> dict[str, Any]:
        return {"id": d.id, "TeamViewerId": d.teamviewer_id, "name": d.name, "isOnline": d.online,
                "last_seen": seen, "teamviewerPolicyId": None}

    async def managed_devices(self, request: web.Request) -> web.Response:
        return self._paged(request, lambda d: d.full_client)

    def rename_group(self, old: str, new: str) -> None:
        """Rename a managed group as the console does: its id stays."""
        self.renamed_groups[new] = self.renamed_groups.pop(old, old)
        for d in self.devices:
            if d.group == old:
                d.group = new

    def _group_id(self, name: str) -> str:
        return group_id(self.renamed_groups.get(name, name))

    async def managed_groups(self, request: web.Request) -> web.Response:
        names = sorted({d.group for d in self.devices if d.full_client and d.group})
        return web.json_response({"resources": [{"id": self._group_id(n), "name": n}
                                                for n in names], "nextPaginationToken": None})

    async def managed_group_devices(self, request: web.Request) -> web.Response:
        wanted = request.match_info["id"]
        return self._paged(request, lambda d: d.full_client and bool(d.group)
                           and self._group_id(d.group) == wanted)

    def _paged(self, request: web.Request, keep: Callable[[SimDevice], bool]) -> web.Response:
        """A page of PAGE devices `keep` picks. The token is the fleet position to go on from, so
        a page costs only the devices it walks past: 100,000 devices page through linearly."""
        try:
            start = max(0, int(request.query.get("paginationToken") or 0))
        except ValueError:
            return error(400, "invalid_request", "paginationToken is not one this API gave.", 1)
        seen, at = _iso(_now() - timedelta(minutes=5)), start
        page: list[dict[str, Any]] = []
        fleet = self.devices
        while at < len(fleet) and len(page) < PAGE:
            if keep(fleet[at]):
                page.append(self._row(fleet[at], seen))
            at += 1
        more = any(keep(d) for d in itertools.islice(fleet, at, None))
        return web.json_response({"resources": page,
                                  "nextPaginationToken": str(at) if more else None})

    async def managed_device(self, request: web.Request) -> web.Response:
        for d in self.devices:
            if d.full_client and d.id == request.match_info["id"]:
                return web.json_response(self._row(d, _iso(_now() - timedelta(minutes=5))))
        return error(404, "not_found", "No managed device with this id.", 404)

    async def legacy_devices(self, request: web.Request) -> web.Response:
        rows = [{"device_id": f"d{d.teamviewer_id}", "remotecontrol_id": f"r{d.teamviewer_id}",
                 "alias": d.name, "description": "", "online_state": "Online" if d.online
                 else "Offline", "groupid": "g00000001", "assigned_to": True,
                 "supported_features": "remote_control, chat"}
                for d in self.devices if d.full_client]
        rc = request.query.get("remotecontrol_id")
        if rc:
            rows = [r for r in rows if r["remotecontrol_id"] == rc]
        return web.json_response({"devices": rows})

    # --- pages and control ------------------------------------------------------------------

    async def session_page(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["code"])
        if session is None:
            return web.Response(status=404, text="No such session.")
        who = request.query.get("as", "customer")
        return web.Response(content_type="text/html", text=(
            f"<!doctype html><title>TeamViewer session {session['code']} (simulator)</title>"
            f"<h1>Session {session['code']}</h1><p>{html.escape(self._state(session))}; you "
            f"joined as {html.escape(who)}. This is the simulator: nothing connects.</p>"))

    def control_state(self) -> dict[str, Any]:
        return {"switches": asdict(self.switches), "hits": dict(self.hits),
                "open_sessions": len(self.open_sessions()), "sessions": len(self.sessions),
                "create_seconds": list(self.create_seconds), "devices": len(self.devices)}

    def take_control(self, body: dict[str, Any]) -> web.Response | None:
        if body.pop("expire_tokens", False):
            self.expire_tokens()
        if "devices" in body:
            self.seed_devices([(str(d["name"]), bool(d.get("full_client", True)))
                               for d in body.pop("devices")])
        if body.pop("reset_stats", False):
            self.hits.clear()
            self.create_seconds.clear()
        return None


def main() -> None:
    p = arguments("TeamViewer Web API simulator", 8710)
    p.add_argument("--token", action="append", default=[], help="an accepted script token")
    p.add_argument("--client", action="append", default=[], help="OAuth client as id:secret")
    args = p.parse_args()
    clients = dict(c.split(":", 1) for c in args.client)
    TeamViewerSimulator(script_tokens=tuple(args.token), clients=clients,
                        switches=Switches(latency=args.latency)).run(args.host, args.port)


if __name__ == "__main__":
    main()
