"""The Workspace ONE simulator's device endpoints (integrations.md 3.3-3.7), kept apart from its
auth and switches. Each command, message and note is recorded before a lost-answer switch
applies: the point of those switches is an action that happened but whose answer never came."""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from aiohttp import web

from integrations.workspace_one.sim_state import COMMANDS, Sent, SimDevice, problem

Route = tuple[str, str, Any]


class Simulated(Protocol):
    devices: list[SimDevice]
    sent: list[Sent]
    switches: Any

    def device(self, key: str | int, by: str = "id") -> SimDevice | None: ...

    def record(self, request: web.Request, device: SimDevice, kind: str,
               body: dict[str, Any] | None = None) -> None: ...


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


class DeviceEndpoints:
    def __init__(self, sim: Simulated) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        d = "/mdm/devices"
        return [  # fixed paths first: aiohttp tries routes in this order
            ("GET", f"{d}/search", self.search),
            ("GET", d, self.by_alternate_id),
            ("GET", f"{d}/udid/{{udid}}", self.by_udid),
            ("POST", f"{d}/commands", self.command),
            ("POST", f"{d}/commands/requestdevicelog", self.device_log),
            ("POST", f"{d}/messages/push", self.message),
            ("GET", f"{d}/{{uuid}}/bitlocker/drives", self.drives),
            ("GET", f"{d}/{{uuid}}/bitlocker/drives/{{volume}}/protectors", self.protectors),
            ("GET", f"{d}/{{uuid}}/bitlocker/recoveryKey/{{key}}", self.bitlocker_key),
            ("GET", f"{d}/{{uuid}}/security/recovery-key", self.filevault_key),
            ("GET", f"{d}/{{id}}", self.by_id),
            ("POST", f"{d}/{{id:\\d+}}/commands", self.command),
            ("POST", f"{d}/{{id:\\d+}}/commands/changepasscode", self.change_passcode),
            ("POST", f"{d}/{{id:\\d+}}/clearpasscode", self.clear_passcode),
            ("POST", f"{d}/{{id:\\d+}}/commands/finddevice", self.find_device),
            ("POST", f"{d}/{{id:\\d+}}/messages/push", self.message),
            ("GET", f"{d}/{{id:\\d+}}/notes", self.notes),
            ("POST", f"{d}/{{id:\\d+}}/notes", self.add_note),
        ]

    # --- lookup ----------------------------------------------------------------------------

    def _target(self, request: web.Request) -> SimDevice | web.Response:
        """The device a path `{id}` or `?searchby=&id=` names (parameter names in any casing)."""
        if "id" in request.match_info:
            device = self.sim.device(request.match_info["id"])
        else:
            query = {k.lower(): v for k, v in request.query.items()}
            device = self.sim.device(query.get("id", ""), query.get("searchby", "DeviceId"))
        return device or problem(404, 404, "Device not found.")

    async def by_alternate_id(self, request: web.Request) -> web.Response:
        query = {k.lower(): v for k, v in request.query.items()}
        if "searchby" not in query:
            return problem(400, 400, "searchBy is required.")
        found = self._target(request)
        return found if isinstance(found, web.Response) else web.json_response(found.to_api())

    async def by_udid(self, request: web.Request) -> web.Response:
        device = self.sim.device(request.match_info["udid"], "udid")
        return (web.json_response(device.to_api()) if device
                else problem(404, 404, "Device not found."))

    async def by_id(self, request: web.Request) -> web.Response:
        key = request.match_info["id"]  # an id, or with version=2 a uuid
        device = self.sim.device(key) if key.isdigit() else self.sim.device(key, "uuid")
        return (web.json_response(device.to_api()) if device
                else problem(404, 404, "Device not found."))

    async def search(self, request: web.Request) -> web.Response:
        q = {k.lower(): v for k, v in request.query.items()}
        user, platform = q.get("user", "").lower(), q.get("platform", "").lower()
        # Unfiltered (the inventory sync), a page is a slice: 100,000 devices page through linearly.
        rows = self.sim.devices if not user and not platform else [
            d for d in self.sim.devices
            if (not user or user in (d.email.split("@")[0].lower(), d.email.lower()))
            and (not platform or platform == d.platform_name.lower())]
        page, size = max(0, _int(q.get("page", "0"), 0)), max(1, _int(q.get("pagesize", "500"), 500))
        chunk = rows[page * size:(page + 1) * size]
        if not chunk and self.sim.switches.empty_search_204:
            return web.Response(status=204)
        # orjson: the simulator should not be the slow end of a 100,000-device inventory sync.
        return web.Response(body=orjson.dumps({"Devices": [d.to_api() for d in chunk], "Page": page,
                                               "PageSize": size, "Total": len(rows)}),
                            content_type="application/json")

    # --- actions ---------------------------------------------------------------------------

    async def _done(self, request: web.Request, device: SimDevice, kind: str,
                    body: dict[str, Any] | None = None, status: int = 202) -> web.StreamResponse:
        self.sim.record(request, device, kind, body)
        sw = self.sim.switches
        if sw.lose_next_command > 0:
            sw.lose_next_command -= 1
            return problem(502, 502, "Bad gateway.")
        if sw.drop_next_command > 0 and request.transport is not None:
            sw.drop_next_command -= 1
            request.transport.close()  # done, but the answer never leaves
        return web.Response(status=status)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {"value": body}

    async def command(self, request: web.Request) -> web.StreamResponse:
        query = {k.lower(): v for k, v in request.query.items()}
        name = COMMANDS.get(query.get("command", "").lower())
        if name is None:
            return problem(400, 400, f"Unknown command '{query.get('command', '')[:40]}'.")
        found = self._target(request)
        if isinstance(found, web.Response):
            return found
        return await self._done(request, found, name)

    async def change_passcode(self, request: web.Request) -> web.StreamResponse:
        found, body = self._target(request), await self._body(request)
        if isinstance(found, web.Response):
            return found
        if not str(body.get("Passcode") or "").strip():
            return problem(400, 400, "Passcode is required.")
        return await self._done(request, found, "ChangePasscode", body)

    async def clear_passcode(self, request: web.Request) -> web.StreamResponse:
        found = self._target(request)
        return found if isinstance(found, web.Response) else await self._done(
            request, found, "ClearPasscode")

    async def find_device(self, request: web.Request) -> web.StreamResponse:
        found, body = self._target(request), await self._body(request)
        return found if isinstance(found, web.Response) else await self._done(
            request, found, "FindDevice", body)

    async def device_log(self, request: web.Request) -> web.StreamResponse:
        found, body = self._target(request), await self._body(request)
        return found if isinstance(found, web.Response) else await self._done(
            request, found, "RequestDeviceLog", body)

    async def message(self, request: web.Request) -> web.StreamResponse:
        found, body = self._target(request), await self._body(request)
        if isinstance(found, web.Response):
            return found
        if not str(body.get("MessageBody") or "").strip():
            return problem(400, 400, "MessageBody is required.")
        return await self._done(request, found, "Message", body)

    async def add_note(self, request: web.Request) -> web.StreamResponse:
        found, body = self._target(request), await self._body(request)
        if isinstance(found, web.Response):
            return found
        text = next((str(v) for k, v in body.items() if k.lower() in ("note", "notes", "text")), "")
        if not text.strip():
            return problem(400, 400, "Note is required.")
        self.sim.record(request, found, "Note", body)
        return web.json_response({"Value": len(self._notes(found))})

    def _notes(self, device: SimDevice) -> list[dict[str, Any]]:
        return [{"Id": n + 1, "DeviceId": device.id, "Note": s.body.get("Note", ""),
                 "CreatedOn": s.at.replace(tzinfo=None).isoformat(timespec="seconds")}
                for n, s in enumerate(x for x in self.sim.sent
                                      if x.device_id == device.id and x.kind == "Note")]

    async def notes(self, request: web.Request) -> web.Response:
        found = self._target(request)
        if isinstance(found, web.Response):
            return found
        return web.json_response({"DeviceNotes": self._notes(found)})

    # --- recovery keys ---------------------------------------------------------------------

    def _by_uuid(self, request: web.Request) -> SimDevice | web.Response:
        device = self.sim.device(request.match_info["uuid"], "uuid")
        return device or problem(404, 404, "Device not found.")

    async def drives(self, request: web.Request) -> web.Response:
        found = self._by_uuid(request)
        if isinstance(found, web.Response):
            return found
        drives = [{"VolumeIdentifier": f"vol-{found.id}", "DriveLetter": "C:",
                   "EncryptionStatus": "Encrypted"}] if found.bitlocker_key else []
        return web.json_response({"Drives": drives})

    async def protectors(self, request: web.Request) -> web.Response:
        found = self._by_uuid(request)
        if isinstance(found, web.Response):
            return found
        if not found.bitlocker_key or request.match_info["volume"] != f"vol-{found.id}":
            return problem(404, 404, "Volume not found.")
        return web.json_response({"Protectors": [
            {"Type": "Tpm", "RecoveryKeyId": ""},
            {"Type": "RecoveryPassword", "RecoveryKeyId": f"key-{found.id}"}]})

    async def bitlocker_key(self, request: web.Request) -> web.Response:
        found = self._by_uuid(request)
        if isinstance(found, web.Response):
            return found
        if request.match_info["key"] != f"key-{found.id}":
            return problem(404, 404, "Recovery key not found.")
        return web.json_response({"RecoveryKeyId": f"key-{found.id}",
                                  "RecoveryKey": found.bitlocker_key})

    async def filevault_key(self, request: web.Request) -> web.Response:
        found = self._by_uuid(request)
        if isinstance(found, web.Response):
            return found
        if not found.filevault_key:
            return problem(404, 404, "No FileVault recovery key is escrowed for this device.")
        return web.json_response({"RecoveryKey": found.filevault_key, "KeyType": "Personal",
                                  "DeviceUuid": found.uuid})
