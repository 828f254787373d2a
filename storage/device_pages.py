"""The `devices` page's read: one keyset page of the devices a person may see, decided in the
query from their scope (management group names and device names), with each device's inventory
sources. One statement, plain rows, no ORM objects: it is read at every `devices` command."""

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
    sources: list[str]  # the inventory sources that report it, sorted


# Each device's sources in the same statement: string_agg on PostgreSQL, group_concat on SQLite.
_SOURCES = (select(func.aggregate_strings(DeviceSource.source, ","))
            .where(DeviceSource.device_id == Device.id).scalar_subquery())
_COLUMNS = select(Device.id, Device.name, ManagementGroup.name, Device.os, Device.owner_email,
                  Device.last_seen, _SOURCES).outerjoin(
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
        return [Listed(id_, name, group, os, owner, seen, sorted(sources.split(",")) if sources else [])
                for id_, name, group, os, owner, seen, sources in rows]

    async def group_names(self, tenant_id: int) -> list[str]:
        """Every management group's name, for the answer to a group that does not exist."""
        q = (select(ManagementGroup.name).where(ManagementGroup.tenant_id == tenant_id)
             .order_by(ManagementGroup.name))
        return list((await self.s.execute(q)).scalars())
