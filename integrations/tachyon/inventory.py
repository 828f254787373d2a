"""1E's device list and management groups, as the inventory sync reads them.

Sources (docs/inventory.md has the same, for administrators):
- The Consumer SDK's `Api/Devices.cs`: `POST Devices` with a `Search` body (Filter, Sort, Start,
  PageSize) answers a `SearchResult<Device>`; also `GET Devices` (every device at once, which
  deskhand never calls: 100,000 devices in one answer), `Devices/fqdn/{b64}`, `Devices/scope`.
- help.1e.com TCNSDK "ManagementGroups": `GET ManagementGroups` answers
  `[{"Id", "Name", "Description", "Expression", "Count", "UsableId", "HashOfMembers"}]`
  (system groups only with `?includeSystemGroups=true`); as of API 8.0 only the groups the
  caller is assigned to.
UNCERTAIN, so read tolerantly here and configurable in deskhand: the `SearchResult` keys (read
as `Items`/`TotalCount`, the shape `Instructions/Search` answers, else a bare list), the
device's field names (the first of several spellings present wins), whether `Start` counts
from 1 (as `Instructions/Search`), and which filter attribute and value select a management
group's members (default `managementgroup` == the group's `Id`, as instruction scopes use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations.tachyon.json_fields import parse_time


def _lowered(data: dict[str, Any]) -> dict[str, Any]:
    """Keys lower-cased once per record: 1E's casing of a field is not pinned down."""
    return {k.lower(): v for k, v in data.items()}


def _first(lowered: dict[str, Any], *names: str) -> Any:
    """The first of `names` (lower-case) present and not empty in a `_lowered` record."""
    for name in names:
        value = lowered.get(name)
        if value not in (None, ""):
            return value
    return None


@dataclass(frozen=True)
class TachyonDevice:
    id: str
    fqdn: str
    name: str
    serial: str
    os: str
    last_seen: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> TachyonDevice:
        d = _lowered(data)
        fqdn = str(_first(d, "fqdn") or "")
        name = str(_first(d, "hostname", "name", "devicename") or fqdn.split(".")[0])
        return cls(id=_id(d), fqdn=fqdn, name=name, serial=str(_first(d, "serialnumber", "serial") or ""),
                   os=str(_first(d, "osvertxt", "operatingsystem", "ostype") or ""),
                   last_seen=parse_time(_first(d, "lastconnutc", "lastupdate", "lastseen",
                                               "lastconnectedutc")), raw=data)


def _id(lowered: dict[str, Any]) -> str:
    """A device's id in a `_lowered` record: its TachyonGuid, else its Id, else its FQDN."""
    return str(_first(lowered, "tachyonguid", "id", "deviceid") or _first(lowered, "fqdn") or "")


@dataclass(frozen=True)
class DevicePage:
    devices: tuple[TachyonDevice, ...]
    total: int | None


@dataclass(frozen=True)
class IdPage:
    """A page of devices read for their ids only (a management group's members)."""

    ids: tuple[str, ...]
    total: int | None


def _rows(data: Any) -> tuple[list[dict[str, Any]], int | None]:
    if isinstance(data, list):
        rows, total = data, None
    elif isinstance(data, dict):
        d = _lowered(data)
        rows = _first(d, "items", "devices", "results") or []
        found = _first(d, "totalcount", "total", "count")
        total = int(found) if isinstance(found, int | str) and str(found).isdigit() else None
    else:
        rows, total = [], None
    return [r for r in rows if isinstance(r, dict)], total


def device_page(data: Any) -> DevicePage:
    rows, total = _rows(data)
    return DevicePage(tuple(TachyonDevice.from_api(r) for r in rows), total)


def id_page(data: Any) -> IdPage:
    rows, total = _rows(data)
    return IdPage(tuple(_id(_lowered(r)) for r in rows), total)


@dataclass(frozen=True)
class ManagementGroupInfo:
    id: str
    name: str
    usable_id: str
    count: int | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ManagementGroupInfo:
        d = _lowered(data)
        count = _first(d, "count")
        return cls(id=str(_first(d, "id") or ""), name=str(_first(d, "name") or ""),
                   usable_id=str(_first(d, "usableid") or ""),
                   count=int(count) if str(count or "").isdigit() else None)
