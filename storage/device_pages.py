"""The `devices` page's reads: one keyset page of the devices a person may see, decided in the
query from their scope (management group names and device names), then the sources of the rows
shown. Plain rows, no ORM objects: the page is read at every `devices` command."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select

from storage.base import Repo
from storage.devices import Device, ManagementGroup
from storage.inventory import DeviceSource


class Listed(NamedTuple):
    id: int
    name: str
    group: str | None
    os: str
    owner_email: str | None
    last_seen: datetime | None


_COLUMNS = select(Device.id, Device.name, ManagementGroup.name, Device.os, Device.owner_email,
                  Device.last_seen).outerjoin(
    ManagementGroup, ManagementGroup.id == Device.management_group_id)


class DevicePageRepo(Repo):
    async def listing(self, tenant_id: int, *, query: str | None, group: str | None,
                      groups: Sequence[str] | None, names: Sequence[str], after: str | None,
                      limit: int) -> list[Listed]:
        """Devices ordered by name after `after`: in management group `group` (any case) when
        given, among those in `groups` or named in `names` (lower-cased; `groups` None: every
        device), matching `query`."""
        q = _COLUMNS.where(Device.tenant_id == tenant_id, Device.retired_at.is_(None))
        if groups is not None:
            scope: list[ColumnElement[bool]] = []
            if groups:
                scope.append(func.lower(ManagementGroup.name).in_(list(groups)))
            if names and group is None:  # devices granted by name belong to no group asked for
                scope.append(func.lower(Device.name).in_(list(names)))
            if not scope:
                return []
            q = q.where(or_(*scope))
        if group is not None:
            q = q.where(func.lower(ManagementGroup.name) == group.lower())
        if query:
            q = q.where(func.lower(Device.name).contains(query.lower()))
        if after:
            q = q.where(Device.name > after)
        rows = await self.s.execute(q.order_by(Device.name).limit(limit))
        return [Listed(*row) for row in rows]

    async def sources(self, tenant_id: int, device_ids: Sequence[int]) -> dict[int, list[str]]:
        """The inventory sources of each device, by name."""
        found: dict[int, list[str]] = {}
        if not device_ids:
            return found
        q = (select(DeviceSource.device_id, DeviceSource.source)
             .where(DeviceSource.tenant_id == tenant_id,
                    DeviceSource.device_id.in_(list(device_ids)))
             .order_by(DeviceSource.source))
        for device_id, source in await self.s.execute(q):
            found.setdefault(device_id, []).append(source)
        return found

    async def group_names(self, tenant_id: int) -> list[str]:
        """Every management group's name, for the answer to a group that does not exist."""
        q = (select(ManagementGroup.name).where(ManagementGroup.tenant_id == tenant_id)
             .order_by(ManagementGroup.name))
        return list((await self.s.execute(q)).scalars())
