"""TeamViewer Web API client: sessions, managed devices, devices, ping (integrations.md 1.1-1.6)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from integrations.http import Cause, RetryPolicy, VendorError, attempts_of, new_client, scrub, send

if TYPE_CHECKING:
    import httpx

VENDOR = "TeamViewer"
# 500 is retried too: TeamViewer's own hiccups come back as 500 more often than 502.
POLICY = RetryPolicy(statuses=frozenset({429, 500, 502, 503, 504}))
DEVICE_CACHE_SECONDS = 300.0
MAX_PAGES = 50


class Auth(Protocol):
    """Where the bearer token comes from: a script token, or OAuth tokens that refresh."""

    mode: str

    async def token(self, correlation_id: str) -> str: ...

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        """A fresh token after a 401 on `rejected`; None when this auth cannot refresh."""
        ...

    def known_secrets(self) -> list[str]: ...


class ScriptToken:
    mode = "script"

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, correlation_id: str) -> str:
        return self._token

    async def refresh(self, rejected: str, correlation_id: str) -> str | None:
        return None

    def known_secrets(self) -> list[str]:
        return [self._token]


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Session:
    code: str
    state: str  # "Open" | "Closed", as TeamViewer capitalises it
    supporter_link: str
    end_customer_link: str
    webclient_supporter_link: str
    description: str
    custom_api: str
    valid_until: datetime | None
    created_at: datetime | None
    closed_at: datetime | None

    @property
    def open(self) -> bool:
        return self.state.lower() == "open"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Session:
        return cls(
            code=str(data.get("code") or ""), state=str(data.get("state") or "Open"),
            supporter_link=str(data.get("supporter_link") or ""),
            end_customer_link=str(data.get("end_customer_link") or ""),
            webclient_supporter_link=str(data.get("webclient_supporter_link") or ""),
            description=str(data.get("description") or ""),
            custom_api=str(data.get("custom_api") or ""),
            valid_until=_date(data.get("valid_until")), created_at=_date(data.get("created_at")),
            closed_at=_date(data.get("closed_at")))


@dataclass(frozen=True)
class ManagedDevice:
    id: str
    teamviewer_id: int | None
    name: str
    online: bool
    last_seen: datetime | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ManagedDevice:
        # Mixed casing is TeamViewer's own (TeamViewerId, isOnline, last_seen).
        tv_id = data.get("TeamViewerId")
        return cls(id=str(data.get("id") or ""), teamviewer_id=int(tv_id) if tv_id else None,
                   name=str(data.get("name") or ""), online=bool(data.get("isOnline")),
                   last_seen=_date(data.get("last_seen")))


def is_session_limit(response: httpx.Response) -> bool:
    """The licence's concurrent-session cap: waiting a few seconds will not lift it."""
    if response.status_code not in (403, 429):
        return False
    try:
        text = str(response.json().get("error_description", ""))
    except ValueError:
        return False
    return "concurrent session" in text.lower()


class TeamViewerClient:
    def __init__(self, base_url: str, auth: Auth, *, policy: RetryPolicy = POLICY,
                 http: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.auth = auth
        self.policy = policy
        self.http = http or new_client(base_url)
        self._clock = clock
        self._devices: dict[str, ManagedDevice] = {}
        # None until the first fetch: a 0.0 start would count as fresh on a machine whose
        # monotonic clock (time since boot) is still under DEVICE_CACHE_SECONDS.
        self._devices_at: float | None = None
        self._devices_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- transport -----------------------------------------------------------------------

    async def _call(self, method: str, path: str, cid: str, *,
                    expect: tuple[int, ...] | None = (200,), **kwargs: Any) -> httpx.Response:
        """One logical call: retries by policy, one refresh after a 401; `expect` None returns any."""
        token = await self.auth.token(cid)
        response = await self._send(method, path, cid, token, **kwargs)
        if response.status_code == 401:
            fresh = await self.auth.refresh(token, cid)  # once: a second 401 is an answer
            if fresh is not None:
                response = await self._send(method, path, cid, fresh, **kwargs)
        if expect is not None and response.status_code not in expect:
            raise self.error(response, cid)
        return response

    async def _send(self, method: str, path: str, cid: str, token: str,
                    **kwargs: Any) -> httpx.Response:
        return await send(self.http, method, path, vendor=VENDOR, correlation_id=cid,
                          policy=self.policy, give_up=is_session_limit,
                          headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def error(self, response: httpx.Response, cid: str, tries: int | None = None) -> VendorError:
        """Map TeamViewer's error JSON ({error, error_description, error_code}) to a plain message."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code = str(body.get("error") or f"http_{status}")[:64]
        said = scrub(str(body.get("error_description") or ""), self.auth.known_secrets())[:300]
        tries = tries or attempts_of(response)
        if is_session_limit(response):
            code, text = "session_limit", (
                "TeamViewer refused: the licence's limit of concurrent sessions is reached. "
                "Close sessions nobody needs (`remote list`, `remote close <code>`) and try again.")
        elif status == 401:
            text = ("TeamViewer refused the script token (401). An administrator should check "
                    "DESKHAND_TEAMVIEWER_API_TOKEN in the Management Console (Apps & tokens)."
                    if self.auth.mode == "script" else
                    "TeamViewer refused deskhand's sign-in even after a refresh (401). An "
                    "administrator should run `teamviewer connect` again.")
        elif status == 403:
            text = ("TeamViewer says deskhand's token may not do this (403). Give the token the "
                    "Session management permission in the TeamViewer Management Console.")
        elif status == 404:
            text = f"TeamViewer does not know that object (404{': ' + said if said else ''})."
        elif status == 429:
            text = "TeamViewer is rate limiting deskhand right now; try again in a minute."
        elif status >= 500:
            text = (f"TeamViewer had a problem (HTTP {status}, {code}) and it persisted after "
                    f"{tries} {'try' if tries == 1 else 'tries'}. Try again in a few minutes.")
        else:
            text = f"TeamViewer rejected the request (HTTP {status}, {code}): {said or 'no detail'}."
        cause = Cause.REJECTED if code == "session_limit" else None
        return VendorError(VENDOR, status, code, text, cid, attempts=tries, cause=cause)

    # --- endpoints -----------------------------------------------------------------------

    async def ping(self, cid: str) -> bool:
        """True when TeamViewer accepts the current token (ping reports, it does not refuse)."""
        token = await self.auth.token(cid)
        response = await self._send("GET", "ping", cid, token)
        if response.status_code != 200:
            raise self.error(response, cid)
        return bool(response.json().get("token_valid"))

    async def create_session(self, cid: str, *, groupname: str, description: str,
                             marker: str, end_customer: dict[str, str] | None = None,
                             waiting_message: str = "") -> Session:
        """Create a session; after an answer that may hide a success, look before resending.

        `marker` goes into `custom_api` and identifies this request among the open sessions.
        """
        body: dict[str, Any] = {"groupname": groupname, "description": description[:1000],
                                "custom_api": marker}
        if end_customer:
            body["end_customer"] = end_customer
        if waiting_message:
            body["waiting_message"] = waiting_message
        last: httpx.Response | None = None
        problem: VendorError | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                await asyncio.sleep(self.policy.delay(attempt - 1))
                found = await self.find_by_marker(cid, marker)
                if found is not None:
                    return found
            try:
                response = await self._call("POST", "sessions", cid, expect=None, json=body)
            except VendorError as exc:
                if not exc.maybe_applied:
                    raise
                problem = exc
                continue
            if response.status_code == 200:
                return Session.from_api(response.json())
            if response.status_code not in (500, 502, 504):
                raise self.error(response, cid)
            last = response
        if last is not None:
            raise self.error(last, cid, tries=self.policy.attempts)
        assert problem is not None
        raise problem

    async def find_by_marker(self, cid: str, marker: str) -> Session | None:
        for session in await self.list_sessions(cid, state="open", full=True):
            if session.custom_api == marker:
                return session
        return None

    async def get_session(self, cid: str, code: str) -> Session:
        response = await self._call("GET", f"sessions/{code}", cid)
        return Session.from_api(response.json())

    async def list_sessions(self, cid: str, *, state: str = "open", full: bool = True,
                            groupid: str | None = None) -> list[Session]:
        params: dict[str, str] = {"state": state, "full_list": "true" if full else "false"}
        if groupid:
            params["groupid"] = groupid
        out: list[Session] = []
        for _ in range(MAX_PAGES):
            data = (await self._call("GET", "sessions", cid, params=params)).json()
            out.extend(Session.from_api(s) for s in data.get("sessions") or [])
            if not data.get("next_offset") or not data.get("sessions_remaining"):
                break
            params["offset"] = str(data["next_offset"])
        return out

    async def close_session(self, cid: str, code: str, description: str | None = None) -> None:
        """Close via `PUT {"state": "closed"}` (there is no DELETE); 204 on success."""
        body: dict[str, Any] = {"state": "closed"}
        if description is not None:
            body["description"] = description[:1000]
        await self._call("PUT", f"sessions/{code}", cid, json=body, expect=(200, 204))

    async def managed_devices(self, cid: str) -> list[ManagedDevice]:
        out: list[ManagedDevice] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page, token = await self.managed_page(cid, "managed/devices", token)
            out.extend(page)
            if not token:
                break
        return out

    async def managed_page(self, cid: str, path: str, token: str | None
                           ) -> tuple[list[ManagedDevice], str | None]:
        """One page of managed devices (`managed/devices` or `managed/groups/{id}/devices`)
        and the token of the next, None after the last."""
        params = {"paginationToken": token} if token else None
        data = orjson.loads((await self._call("GET", path, cid, params=params)).content)
        rows = [ManagedDevice.from_api(d) for d in data.get("resources") or [] if isinstance(d, dict)]
        following = data.get("nextPaginationToken")
        return rows, str(following) if following else None

    async def managed_groups(self, cid: str) -> list[tuple[str, str]]:
        """The managed groups as (id, name), every page."""
        out: list[tuple[str, str]] = []
        params: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            data = (await self._call("GET", "managed/groups", cid, params=params)).json()
            out.extend((str(g.get("id") or ""), str(g.get("name") or ""))
                       for g in data.get("resources") or [] if isinstance(g, dict))
            token = data.get("nextPaginationToken")
            if not token:
                break
            params["paginationToken"] = str(token)
        return out

    async def managed_device(self, cid: str, name: str) -> ManagedDevice | None:
        """The managed device called `name`, from a list cached for a few minutes.

        Being managed means the full client is installed; absent means QuickSupport.
        """
        async with self._devices_lock:
            now = self._clock()
            if self._devices_at is None or now - self._devices_at > DEVICE_CACHE_SECONDS:
                devices = await self.managed_devices(cid)
                self._devices = {d.name.lower(): d for d in devices}
                self._devices_at = now
        return self._devices.get(name.lower())

    async def devices(self, cid: str, *, remotecontrol_id: str | None = None) -> list[dict[str, Any]]:
        """The legacy Computers & Contacts list, raw (`device_id`, `remotecontrol_id`, `alias`...)."""
        params = {"remotecontrol_id": remotecontrol_id} if remotecontrol_id else None
        data = (await self._call("GET", "devices", cid, params=params)).json()
        return list(data.get("devices") or [])
