"""The simulator's device list and management groups (docs/inventory.md; the shapes and what
stays uncertain are in integrations/tachyon/inventory.py).

`POST Devices` takes the SDK's `Search` body: `Start` (from 1), `PageSize`, and a `Filter` on
`managementgroup` (the group's `Id`) or `fqdn`; it answers `{"Items": [...], "TotalCount": n}`.
`GET ManagementGroups` lists the groups of the fleet. Members of each group are indexed once per
fleet, so paging through 100,000 devices group by group stays linear.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from integrations.tachyon.sim_api import Endpoints, Problem, Route, compare, evaluate, get, read_body
from integrations.tachyon.sim_state import SimDevice, guid, iso

# 1E answers at most this many devices per page (a guess: deskhand asks for 500 by default).
MAX_PAGE = 10_000


class DeviceEndpoints(Endpoints):
    _index: tuple[int, int, dict[int, list[SimDevice]]] | None = None

    def routes(self) -> list[Route]:
        return [("POST", "Devices", self.devices), ("GET", "ManagementGroups", self.groups)]

    def _members(self) -> dict[int, list[SimDevice]]:
        fleet = self.sim.devices
        if self._index is None or self._index[:2] != (id(fleet), len(fleet)):
            members: dict[int, list[SimDevice]] = {}
            for d in fleet:
                members.setdefault(d.group_id, []).append(d)
            self._index = (id(fleet), len(fleet), members)
        return self._index[2]

    @staticmethod
    def to_json(d: SimDevice, now: float) -> dict[str, Any]:
        attrs = d.attributes
        host = d.fqdn.split(".")[0]
        return {"Id": d.key % 1_000_000_007, "TachyonGuid": guid(d.key << 64 | d.key), "Fqdn": d.fqdn,
                "HostName": host.upper(), "Domain": d.fqdn.partition(".")[2],
                "OsVerTxt": str(attrs.get("os") or "Windows 11 23H2"),
                "SerialNumber": str(attrs.get("serial") or ""), "Status": 1,
                "LastConnUtc": iso(now - d.key % 3600)}

    async def devices(self, request: web.Request, args: list[str]) -> web.Response:
        body = await read_body(request)
        start, size = get(body, "Start", 1), get(body, "PageSize", 100)
        if not isinstance(start, int) or start < 1 or not isinstance(size, int) or size < 1:
            raise Problem(400, "Start and PageSize must be positive whole numbers (Start from 1).")
        flt = get(body, "Filter")
        rows: list[SimDevice] = list(self.sim.devices)
        if flt:
            group = self._group_filter(flt)
            rows = (self._members().get(group, []) if group is not None
                    else [d for d in rows if self._matches(flt, d)])
        page = rows[start - 1:start - 1 + min(size, MAX_PAGE)]
        now = self.sim.now()
        return web.Response(body=orjson.dumps({"Items": [self.to_json(d, now) for d in page],
                                               "TotalCount": len(rows)}),
                            content_type="application/json")

    @staticmethod
    def _group_filter(flt: Any) -> int | None:
        """The group id of a plain `managementgroup == id` filter (the indexed case)."""
        if str(get(flt, "Attribute") or "").lower() == "managementgroup" and \
                str(get(flt, "Operator")) == "==" and str(get(flt, "Value") or "").isdigit():
            return int(get(flt, "Value"))
        return None

    def _matches(self, flt: Any, d: SimDevice) -> bool:
        return evaluate(flt, lambda op, attr, value: self._leaf(op, attr, value, d))

    @staticmethod
    def _leaf(op: str, attr: str, value: Any, d: SimDevice) -> bool:
        fields: dict[str, Any] = {"fqdn": d.fqdn, "managementgroup": str(d.group_id)}
        if attr not in fields:
            raise Problem(400, f"Cannot filter devices on '{attr}'; use fqdn or managementgroup.")
        return compare(op, [fields[attr]], str(value) if attr == "managementgroup" else value)

    async def groups(self, request: web.Request, args: list[str]) -> web.Response:
        names = {d.group_id: d.group for d in self.sim.devices}
        members = self._members()
        return web.json_response([
            {"Id": str(gid), "Name": name, "Description": "", "Expression": "",
             "Count": str(len(members.get(gid, []))), "UsableId": guid(gid << 64 | gid).upper(),
             "HashOfMembers": ""} for gid, name in sorted(names.items())])
