"""The `devices` page's read: one keyset page of the devices a person may see, decided in the
query from their scope (management group names and device names), with each device's inventory
sources. One statement, plain rows, no ORM objects: it is read at every `devices` command."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, literal_column, or_, select

from storage.base import Repo, ValueList, in_list
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


D, G = cast(Table, Device.__table__).c, cast(Table, ManagementGroup.__table__).c
S = cast(Table, DeviceSource.__table__).c


def _columns(postgres: bool) -> Select[Any]:
    # Each device's sources in the same statement. The separator is written into the SQL: as a
    # parameter (aggregate_strings) the statement would be rendered anew at every execution.
    joined = (func.string_agg if postgres else func.group_concat)(S.source, literal_column("','"))
    sources = select(joined).where(S.device_id == D.id).scalar_subquery()
    return select(D.id, D.name, G.name, D.os, D.owner_email, D.last_seen, sources).outerjoin(
        ManagementGroup.__table__, G.id == D.management_group_id)


# (postgres, by groups, by names, in group, searched, after) -> its statement: built once per
# shape (a statement made per call cost more CPU than running it).
_Shape = tuple[bool, bool, bool, bool, bool, bool]
_BUILT: dict[_Shape, Select[Any]] = {}


def _statement(shape: _Shape) -> Select[Any]:
    if shape not in _BUILT:
        postgres, by_groups, by_names, in_group, searched, after = shape
        q = _columns(postgres).where(D.tenant_id == bindparam("tenant"), D.retired_at.is_(None))
        if by_groups or by_names:  # a scoped person (else every device)
            scope: list[ColumnElement[bool]] = []
            if by_groups:
                scope.append(in_list(func.lower(G.name), bindparam("groups", type_=ValueList()),
                                     postgres=postgres))
            if by_names:
                scope.append(in_list(func.lower(D.name), bindparam("names", type_=ValueList()),
                                     postgres=postgres))
            q = q.where(or_(*scope))
        if in_group:
            q = q.where(func.lower(G.name) == bindparam("group"))
        if searched:
            q = q.where(func.lower(D.name).contains(bindparam("query")))
        if after:
            q = q.where(D.name > bindparam("after"))
        _BUILT[shape] = q.order_by(D.name).limit(bindparam("limit"))
    return _BUILT[shape]


class DevicePageRepo(Repo):
    async def listing(self, tenant_id: int, *, query: str | None, group: str | None,
                      groups: Sequence[str] | None, names: Sequence[str], after: str | None,
                      limit: int) -> list[Listed]:
        """Devices ordered by name after `after`: in management group `group` (any case) when
        given, among those in `groups` or named in `names` (lower-cased; `groups` None: every
        device), matching `query`."""
        by_names = bool(names) and group is None  # devices granted by name are in no group asked
        if groups is not None and not groups and not by_names:
            return []
        shape = (self.postgres, bool(groups), groups is not None and by_names, group is not None,
                 bool(query), bool(after))
        params = {"tenant": tenant_id, "limit": limit, "groups": list(groups or ()),
                  "names": list(names), "group": (group or "").lower(),
                  "query": (query or "").lower(), "after": after}
        rows = await self.s.execute(_statement(shape), params)
        return [Listed(id_, name, group, os, owner, seen, sorted(sources.split(",")) if sources else [])
                for id_, name, group, os, owner, seen, sources in rows]

    async def group_names(self, tenant_id: int) -> list[str]:
        """Every management group's name, for the answer to a group that does not exist."""
        q = (select(ManagementGroup.name).where(ManagementGroup.tenant_id == tenant_id)
             .order_by(ManagementGroup.name))
        return list((await self.s.execute(q)).scalars())
