"""Workspace ONE UEM REST API client: device lookup and search, device commands, messages,
recovery keys and notes (integrations.md 3.3-3.7).

Every call carries the `aw-tenant-code` header and the API version in `Accept`
(`application/json;version=1` unless told otherwise), and goes through `integrations.http.send`:
bounded retries of reads, 429 honouring Retry-After. A command is never resent once it may have
reached Workspace ONE (a 500/502/504, a timeout, a dropped connection): the error says it may
have been applied (`maybe_applied`), and the person checks before sending it again. A 401 gets
one fresh OAuth token and one more try: Workspace ONE refused it before doing anything.

Where the contract is uncertain (the name of the lock command, the bodies of find-device and
device-log requests, which success status a command gets) the client takes any 2xx and lets
the caller override the names and bodies.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from integrations.http import RetryPolicy, VendorError, new_client, send
from integrations.workspace_one.auth import VENDOR, Auth
from integrations.workspace_one.errors import WorkspaceOneError, error_of, not_json
from integrations.workspace_one.models import Device, Platform, RecoveryKey, SearchPage, wrapped_id
from integrations.workspace_one.recovery import bitlocker_keys, filevault_key

if TYPE_CHECKING:
    import httpx

POLICY = RetryPolicy(statuses=frozenset({429, 500, 502, 503, 504}))  # 500 only for reads
PAGE_SIZE = 500
MAX_PAGES = 40  # 20,000 devices walked for a name lookup at most
OK = (200, 201, 202, 204)
MESSAGE_TYPES = {Platform.IOS: "Apns", Platform.MACOS: "Apns", Platform.WINDOWS: "wns",
                 Platform.ANDROID: "gcm"}
LOG_REQUEST: dict[str, Any] = {"LogType": "Hub", "Duration": 30}  # field names UNCERTAIN


class Command(StrEnum):
    """The generic `commands?command=<name>` endpoint's names (the SDK's spelling)."""

    LOCK = "Lock"
    SYNC = "SyncDevice"
    SOFT_RESET = "SoftReset"
    ENTERPRISE_WIPE = "EnterpriseWipe"
    DEVICE_WIPE = "DeviceWipe"
    CLEAR_PASSCODE = "ClearPasscode"


class By(StrEnum):
    ID = "id"
    NAME = "name"
    SERIAL = "serial"
    UDID = "udid"


def api_root(url: str) -> str:
    """`https://as123.awmdm.com`, `.../api` or `.../api/` -> `https://as123.awmdm.com/api/`."""
    root = url.strip().rstrip("/")
    return root + "/" if root.endswith("/api") else root + "/api/"


class WorkspaceOneClient:
    def __init__(self, base_url: str, auth: Auth, *, tenant_code: str = "", api_version: int = 1,
                 policy: RetryPolicy = POLICY, http: httpx.AsyncClient | None = None,
                 command_names: Mapping[Command, str] | None = None,
                 message_application: str = "AirWatch Agent",
                 log_request: Mapping[str, Any] | None = None) -> None:
        if not base_url:
            raise ValueError("no Workspace ONE URL: give the API host, https://asNNN.awmdm.com/api/")
        self.auth, self.policy = auth, policy
        self.tenant_code, self.api_version = tenant_code, api_version
        self.http = http or new_client(api_root(base_url))
        self.command_names = {c: (command_names or {}).get(c, c.value) for c in Command}
        self.message_application = message_application
        self.log_request = dict(LOG_REQUEST if log_request is None else log_request)

    async def aclose(self) -> None:
        await self.http.aclose()

    def secrets(self) -> list[str]:
        return [*self.auth.known_secrets(), self.tenant_code]

    # --- transport -----------------------------------------------------------------------

    async def _call(self, method: str, path: str, cid: str, *, expect: tuple[int, ...] = OK,
                    command: bool = False, **kwargs: Any) -> httpx.Response:
        header = await self.auth.authorization(cid)
        response = await self._send(method, path, cid, header, command, **kwargs)
        if response.status_code == 401:  # refused before anything happened: one more try
            fresh = await self.auth.refresh(header, cid)
            if fresh is not None:
                response = await self._send(method, path, cid, fresh, command, **kwargs)
        if response.status_code not in expect:
            raise error_of(response, cid, auth_mode=self.auth.mode, secrets=self.secrets(),
                           command=command)
        return response

    async def _send(self, method: str, path: str, cid: str, authorization: str,
                    command: bool, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": authorization,
                   "Accept": f"application/json;version={self.api_version}"}
        if self.tenant_code:
            headers["aw-tenant-code"] = self.tenant_code
        try:
            return await send(self.http, method, path, vendor=VENDOR, correlation_id=cid,
                              policy=self.policy, headers=headers, **kwargs)
        except VendorError as exc:
            if not (command and exc.maybe_applied):
                raise
            raise WorkspaceOneError(None, exc.code, (
                f"{VENDOR} did not answer, and the command may or may not have reached the "
                f"device. Check the device in {VENDOR} before sending it again."), cid,
                maybe_applied=True, attempts=exc.attempts) from None

    async def _json(self, path: str, cid: str, **kwargs: Any) -> Any:
        response = await self._call("GET", path, cid, **kwargs)
        if response.status_code == 204 or not response.content:
            return None  # Workspace ONE answers an empty result with 204 and no body
        try:
            return orjson.loads(response.content)  # search pages of 500: several times faster
        except ValueError:
            raise not_json(response.status_code, path, cid) from None

    # --- devices ---------------------------------------------------------------------------

    async def device(self, by: By, value: str | int, *, cid: str | None = None) -> Device | None:
        """The device with this id, name, serial number or UDID; None when there is none.
        A name is matched against every device's reported and friendly names (the API has no
        name filter), so it walks the search pages: prefer a serial number where one is known."""
        cid = cid or _cid()
        if by is By.NAME:
            return await self._by_name(str(value), cid)
        key = str(value).strip()
        if not key or (by is By.ID and not key.isdigit()):
            return None
        path, params = {
            By.ID: (f"mdm/devices/{key}", None),
            By.UDID: (f"mdm/devices/udid/{quote(key, safe='')}", None),
            By.SERIAL: ("mdm/devices", {"searchBy": "Serialnumber", "id": key}),
        }[by]
        try:
            data = await self._json(path, cid, params=params)
        except VendorError as exc:
            if exc.status in (404, 410):
                return None
            raise
        return Device.from_api(data) if isinstance(data, dict) and data else None

    async def _by_name(self, name: str, cid: str) -> Device | None:
        found: list[Device] = []
        for page in range(MAX_PAGES):
            result = await self.search(page=page, cid=cid)
            found += [d for d in result.devices if d.named(name)]
            if not result.more:
                break
        if len(found) > 1:
            raise WorkspaceOneError(409, "ambiguous_name", (
                f"{len(found)} devices are called {name} in {VENDOR}; name it by serial number or "
                "UDID instead."), cid)
        return found[0] if found else None

    async def search(self, *, user: str | None = None, platform: str | None = None,
                     model: str | None = None, page: int = 0, page_size: int = PAGE_SIZE,
                     cid: str | None = None, **criteria: str) -> SearchPage:
        """One page (0-based) of `mdm/devices/search`; an empty result is an empty page."""
        params = {k: v for k, v in {"user": user, "platform": platform, "model": model,
                                    **criteria}.items() if v}
        params.update(page=str(page), pagesize=str(page_size))
        data = await self._json("mdm/devices/search", cid or _cid(), params=params)
        data = data if isinstance(data, dict) else {}
        devices = tuple(Device.from_api(d) for d in data.get("Devices") or () if isinstance(d, dict))
        return SearchPage(devices, int(data.get("Page") or page),
                          int(data.get("PageSize") or page_size), int(data.get("Total") or 0))

    # --- actions ---------------------------------------------------------------------------

    async def command(self, device: Device, command: Command, *, cid: str | None = None,
                      **params: str) -> None:
        """Send one of the generic commands (extra query parameters such as
        `keep_apps_on_device` go along)."""
        query = {"command": self.command_names[command], **params}
        await self._call("POST", f"mdm/devices/{_id(device)}/commands", cid or _cid(),
                         params=query, command=True)

    async def change_passcode(self, device: Device, passcode: str, *, cid: str | None = None) -> None:
        await self._call("POST", f"mdm/devices/{_id(device)}/commands/changepasscode",
                         cid or _cid(), json={"Passcode": passcode}, command=True)

    async def find_device(self, device: Device, *, cid: str | None = None) -> None:
        await self._call("POST", f"mdm/devices/{_id(device)}/commands/finddevice", cid or _cid(),
                         command=True)

    async def request_device_log(self, device: Device, *, cid: str | None = None) -> None:
        """Ask for the device's log; it appears in the console (by alternate id, as documented)."""
        by, value = ("Udid", device.udid) if device.udid else ("Serialnumber", device.serial)
        await self._call("POST", "mdm/devices/commands/requestdevicelog", cid or _cid(),
                         params={"searchby": by, "id": value}, json=self.log_request, command=True)

    async def send_message(self, device: Device, text: str, *, cid: str | None = None) -> None:
        body = {"MessageBody": text, "Application": self.message_application}
        if device.platform in MESSAGE_TYPES:
            body["MessageType"] = MESSAGE_TYPES[device.platform]
        await self._call("POST", f"mdm/devices/{_id(device)}/messages/push", cid or _cid(),
                         json=body, command=True)

    async def recovery_keys(self, device: Device, *, cid: str | None = None) -> list[RecoveryKey]:
        """BitLocker keys of a Windows device (one per protected volume), the FileVault key of
        a Mac; empty when Workspace ONE holds none or the platform has none. Never logged."""
        cid = cid or _cid()

        async def fetch(path: str) -> Any:
            return await self._json(path, cid)

        if not device.uuid:
            raise ValueError(f"{VENDOR} gave no uuid for {device.name or device.serial}")
        if device.platform is Platform.WINDOWS:
            return await bitlocker_keys(fetch, device.uuid)
        if device.platform is Platform.MACOS:
            key = await filevault_key(fetch, device.uuid)
            return [key] if key else []
        return []

    async def add_note(self, device: Device, text: str, *, cid: str | None = None) -> int | None:
        """Add a note to the device; its id when Workspace ONE says it (`{"Value": n}`)."""
        response = await self._call("POST", f"mdm/devices/{_id(device)}/notes", cid or _cid(),
                                    json={"DeviceId": _id(device), "Note": text}, command=True)
        try:
            return wrapped_id(response.json()) if response.content else None
        except ValueError:
            return None

    async def notes(self, device: Device, *, cid: str | None = None) -> list[str]:
        data = await self._json(f"mdm/devices/{_id(device)}/notes", cid or _cid())
        rows = data.get("DeviceNotes") if isinstance(data, dict) else data
        return [str(r.get("Note", "")) for r in rows or () if isinstance(r, dict)]


def _id(device: Device) -> int:
    if device.id is None:
        raise ValueError(f"{VENDOR} gave no id for {device.name or device.serial}")
    return device.id


def _cid() -> str:
    return uuid.uuid4().hex[:12]
