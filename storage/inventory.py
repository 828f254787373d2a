"""Inventory sync storage: which source reports which device, and the batched merge of a page.

Every vendor device is one `device_sources` row (tenant, source, the vendor's id) pointing at one
`devices` row. A batch is merged in a few Core statements (no ORM objects; each write's rows bound
as one parameter, storage/batch_rows): rows already mapped, devices matching by FQDN, name, serial,
then new devices inserted ON CONFLICT DO NOTHING on (tenant, name) RETURNING their ids, so two
processes merging one batch end with one device each, never a duplicate or an error."""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Integer,
    Select,
    String,
    Table,
    UniqueConstraint,
    case,
    cast,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo
from storage.batch_rows import bind, bind_rows, insert_rows, rows_source
from storage.devices import Device, in_tenant_any
from storage.inventory_records import NO_GROUP, Group, Seen, fit
from storage.vendor_groups import Renamed, VendorGroupRepo


class DeviceSource(Base):
    """One vendor's record of one inventory device, with when that vendor last reported it."""

    __tablename__ = "device_sources"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))  # as the vendor names the device
    group_name: Mapped[str | None] = mapped_column(String(200), default=None)
    group_ref: Mapped[str | None] = mapped_column(String(64), default=None)  # the vendor's group id
    group_at: Mapped[datetime | None] = mapped_column(default=None)  # the sync that set the group
    last_seen: Mapped[datetime | None] = mapped_column(default=None)  # the vendor's own last seen
    seen_at: Mapped[datetime] = mapped_column()  # the last sync that found it at the vendor


@dataclass
class GroupsApplied:
    moved: int = 0  # devices whose management group changed
    renamed: list[Renamed] = field(default_factory=list)


@dataclass(frozen=True)
class Merged:
    added: int  # devices new to the inventory (or back from retirement)
    updated: int  # devices whose name-independent facts changed (FQDN, serial, OS, owner)
    # Devices not kept, and devices kept with a name cut or a fact left out: "id: why" each.
    skipped: tuple[str, ...] = ()
    shortened: tuple[str, ...] = ()


IMPORT = "import"  # `deskhand devices import`: an administrator's file, as a source


def _key(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


DEVICES = typing.cast(Table, Device.__table__)
SOURCES = typing.cast(Table, DeviceSource.__table__)
FACTS = (DEVICES.c.id, DEVICES.c.name, DEVICES.c.fqdn, DEVICES.c.serial, DEVICES.c.os,
         DEVICES.c.owner_email, DEVICES.c.last_seen, DEVICES.c.retired_at)
_FACT_KEYS = tuple(c.name for c in FACTS)
HELD = "its name is held by a retired device brought back by FQDN or serial: kept out till renamed"
_FILLED = ("fqdn", "serial", "os", "owner_email", "last_seen", "retired_at")
# One statement for a batch's fact updates, `UPDATE ... FROM` the rows bound (storage/batch_rows).
_FACT_COLUMNS = [DEVICES.c[c] for c in ("id", *_FILLED)]


@functools.cache
def _facts_update(postgres: bool) -> Any:
    """Built once per backend, on first use."""
    rows = rows_source(_FACT_COLUMNS, postgres=postgres)
    return update(DEVICES).where(DEVICES.c.id == rows.c.id).values({c: rows.c[c] for c in _FILLED})


class InventoryRepo(Repo):
    async def merge_page(self, tenant_id: int, source: str, page: Sequence[Seen],
                         run_at: datetime, groups: Mapping[str, Group] | None = None) -> Merged:
        """Merge one batch of `source`'s records. `groups` (for the source that decides groups):
        each vendor id's group, staged on its source row as it is written (a record missing from
        it is in no group); `apply_groups` moves the devices once the source is done."""
        kept: dict[str, Seen] = {}
        skipped, shortened = [], []
        for raw in page:
            r, note = fit(raw)
            if r is None:
                skipped.append(f"{raw.external_id[:80]!r} ({raw.name[:80]!r}): {note}")
                continue
            if note:
                shortened.append(f"{r.external_id} ({r.name[:80]!r}): {note}")
            kept[r.external_id] = r
        records = list(kept.values())
        if not records:
            return Merged(0, 0, tuple(skipped), tuple(shortened))
        mapped = dict((await self.s.execute(
            select(SOURCES.c.external_id, SOURCES.c.device_id).where(  # Core: no ORM loading
                SOURCES.c.tenant_id == tenant_id, SOURCES.c.source == source,
                self.one_of(SOURCES.c.external_id, [r.external_id for r in records])))).all())
        # Only devices this source has not reported before are matched by FQDN, name, serial.
        unmapped = [r for r in records if r.external_id not in mapped]
        devices = await self._candidates(tenant_id, set(mapped.values()), unmapped)
        by_id = {d["id"]: d for d in devices}
        index: dict[str, dict[str | None, dict[str, Any]]] = {"fqdn": {}, "name": {}, "serial": {}}
        # A tie goes to a device in the inventory over a retired one, then to the oldest.
        for d in sorted(devices, key=lambda d: (d["retired_at"] is not None, d["id"])):
            for column in index:
                index[column].setdefault(_key(d[column]), d)
        chosen: dict[str, dict[str, Any] | None] = {}
        for r in records:
            found = by_id.get(mapped.get(r.external_id, -1))
            for column, value in (("fqdn", r.fqdn), ("name", r.name), ("serial", r.serial)):
                match = index[column].get(_key(value)) if found is None and _key(value) else None
                # A retired device is the same machine by its FQDN or serial, not by its name:
                # a new machine given a retired one's name is a new device.
                if match is not None and not (column == "name" and match["retired_at"] is not None):
                    found = match
            chosen[r.external_id] = found
        added = await self._insert_new(tenant_id, [r for r in records if chosen[r.external_id] is None],
                                       chosen, devices)
        skipped += [f"{r.external_id[:80]!r} ({r.name[:80]!r}): {HELD}" for r in records
                    if chosen[r.external_id] is None]
        updated = await self._update(records, chosen, run_at)
        await self._upsert_sources(tenant_id, source, records, chosen, run_at, groups)
        return Merged(added + updated[1], updated[0] - updated[1], tuple(skipped),
                      tuple(shortened))

    async def _candidates(self, tenant_id: int, ids: set[int],
                          records: Sequence[Seen]) -> list[dict[str, Any]]:
        """The mapped devices, and those matching `records` by lower-cased FQDN, name or serial."""
        fqdns = sorted({k for r in records if (k := _key(r.fqdn))})
        names = sorted({k for r in records if (k := _key(r.name))})
        serials = sorted({k for r in records if (k := _key(r.serial))})
        terms = [self.one_of(DEVICES.c.id, sorted(ids))] if ids else []
        terms += [self.one_of(func.lower(column), keys) for column, keys in (
            (DEVICES.c.name, names), (DEVICES.c.fqdn, fqdns), (DEVICES.c.serial, serials)) if keys]
        if not terms:
            return []
        q = select(*FACTS).where(in_tenant_any(tenant_id, terms))
        return [dict(zip(_FACT_KEYS, row, strict=True)) for row in await self.s.execute(q)]

    async def _insert_new(self, tenant_id: int, fresh: Sequence[Seen],
                          chosen: dict[str, dict[str, Any] | None],
                          candidates: Sequence[dict[str, Any]]) -> int:
        """Insert devices no key matched, RETURNING their ids (a name another process inserted
        meanwhile is read back and taken): how many were inserted. `candidates` holds every
        device of the tenant whose name is one of theirs."""
        by_name: dict[str, Seen] = {}
        for r in fresh:
            by_name.setdefault(r.name.lower(), r)
        if not by_name:
            return 0
        # A retired device holding a new device's name gives it up, `NAME (retired #id)`,
        # unless this page brings it back (by its FQDN or serial).
        back = sorted({d["id"] for d in chosen.values() if d is not None})
        kept = set(back)
        holders = sorted(d["id"] for d in candidates if d["retired_at"] is not None
                         and d["name"].lower() in by_name and d["id"] not in kept)
        if holders:
            await self.s.execute(update(Device).where(
                Device.tenant_id == tenant_id, self.one_of(Device.id, holders),
            ).values(name=func.substr(Device.name, 1, 170) + " (retired #"
                     + cast(Device.id, String) + ")").execution_options(
                synchronize_session=False))
        rows: list[dict[str, Any]] = [{"name": r.name, "fqdn": r.fqdn, "serial": r.serial,
                 "os": r.os, "owner_email": r.owner_email, "last_seen": r.last_seen}
                for _, r in sorted(by_name.items())]  # one order: racing inserts queue, not deadlock
        # What every new device shares is written once into the statement (batch_rows).
        fixed: dict[str, ColumnElement[Any]] = {"tenant_id": literal(tenant_id, Integer), "retired_at":
            null(), "attributes": literal({}, DEVICES.c.attributes.type), "management_group_id": null()}
        keys = list(rows[0])
        stmt = insert_rows(self.insert(DEVICES), keys, fixed, postgres=self.postgres)
        ids: dict[str, int] = {name: i for name, i in await self.s.execute(
            stmt.on_conflict_do_nothing(index_elements=["tenant_id", "name"]).returning(
                DEVICES.c.name, DEVICES.c.id), bind_rows(DEVICES, keys, rows, self.dialect))}
        made = {row["name"].lower(): {**row, "retired_at": None, "id": ids[row["name"]]}
                for row in rows if row["name"] in ids}
        inserted = len(made)
        taken = [row["name"] for row in rows if row["name"].lower() not in made]
        if taken:
            # Never a device this page brings back: its name is another machine's from now on.
            q = select(*FACTS).where(DEVICES.c.tenant_id == tenant_id,
                                     self.one_of(DEVICES.c.name, taken),
                                     self.one_of(DEVICES.c.id, back, negate=True))
            made.update((str(row.name).lower(), dict(zip(_FACT_KEYS, row, strict=True)))
                        for row in await self.s.execute(q))
        for r in fresh:
            chosen[r.external_id] = made.get(r.name.lower())
        return inserted

    async def _update(self, records: Sequence[Seen], chosen: dict[str, dict[str, Any] | None],
                      run_at: datetime) -> tuple[int, int]:
        """Fill the facts a device lacks, keep the latest last-seen, bring retired ones back:
        (devices whose facts changed or that came back, of which came back)."""
        before: dict[int, dict[str, Any]] = {}
        after: dict[int, dict[str, Any]] = {}
        for r in records:
            d = chosen[r.external_id]
            if d is None:
                continue
            before.setdefault(d["id"], d)
            row = after.setdefault(d["id"], {k: d[k] for k in ("id", *_FILLED)})
            row["fqdn"] = row["fqdn"] or r.fqdn
            row["serial"] = row["serial"] or r.serial
            row["os"] = row["os"] or r.os
            row["owner_email"] = row["owner_email"] or r.owner_email
            if r.last_seen and (row["last_seen"] is None or r.last_seen > row["last_seen"]):
                row["last_seen"] = r.last_seen
            row["retired_at"] = None
        touched = [row for i, row in after.items() if row != {k: before[i][k] for k in row}]
        back = {i for i in after if before[i]["retired_at"] is not None}
        changed = {row["id"] for row in touched
                   if any(row[k] != before[row["id"]][k] for k in ("fqdn", "serial", "os",
                                                                   "owner_email"))}
        touched.sort(key=lambda r: r["id"])  # one order: racing updates queue, not deadlock
        if touched:
            await self.s.execute(_facts_update(self.postgres), bind(_FACT_COLUMNS, [
                [row[c.name] for c in _FACT_COLUMNS] for row in touched], self.dialect))
        return len(changed | back), len(back)

    async def _upsert_sources(self, tenant_id: int, source: str, records: Sequence[Seen],
                              chosen: dict[str, dict[str, Any] | None], run_at: datetime,
                              groups: Mapping[str, Group] | None) -> None:
        rows = [{"external_id": r.external_id, "device_id": d["id"], "name": r.name,
                 "last_seen": r.last_seen}
                for r in sorted(records, key=lambda r: r.external_id)
                if (d := chosen[r.external_id]) is not None]
        if not rows:
            return
        staged: tuple[str, ...] = ()
        if groups is not None:
            staged = ("group_name", "group_ref", "group_at")
            for row in rows:
                row["group_name"], row["group_ref"] = groups.get(row["external_id"], NO_GROUP)
        # The run's time is the same for every row: written into the statement once, not bound
        # and converted per row. One statement, not 2,000 rows' parameters (batch_rows).
        timed = {c: self.inline_time(run_at) for c in ("seen_at", *staged[2:])}  # group_at
        keys = list(rows[0])
        stmt = insert_rows(self.insert(SOURCES), keys, {
            "tenant_id": literal(tenant_id, Integer), "source": literal(source), **timed},
            postgres=self.postgres)
        await self.s.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "source", "external_id"],
            set_={c: stmt.excluded[c] for c in ("device_id", "name", "last_seen", "seen_at",
                                                *staged)}),
            bind_rows(SOURCES, keys, rows, self.dialect))

    # --- management groups --------------------------------------------------------------

    async def clear_groups(self, tenant_id: int, source: str, run_at: datetime) -> None:
        """Devices that no group of this source listed in this run belong to none."""
        await self.s.execute(update(DeviceSource).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            or_(DeviceSource.group_at.is_(None), DeviceSource.group_at < run_at),
        ).values(group_name=None, group_ref=None, group_at=run_at))

    async def apply_groups(self, tenant_id: int, source: str, run_at: datetime,
                           mapping: dict[str, str], *, tachyon: bool = False,
                           unless_reported_by: str | None = None) -> GroupsApplied:
        """Set each device's management group from what `source` reported in this run. A group
        is found by the vendor's id first (`vendor`, `vendor_ref`), so a group renamed at the
        source renames deskhand's group and the role scopes naming it. `tachyon`: the source is
        1E, whose group ids are also what `group:` runs send (`tachyon_id`). Devices that
        `unless_reported_by` reports are left to it (the import's groups yield to the vendor's)."""
        groups = (await self.s.execute(select(DeviceSource.group_name, DeviceSource.group_ref).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at == run_at).distinct())).all()
        out = GroupsApplied()
        targets: dict[str | None, int | None] = {}
        for name, ref in sorted(groups, key=lambda g: (g[0] or "", g[1] or "")):
            # An administrator's mapping wins over the vendor id a group was followed by, so a
            # mapping added or changed later takes effect at the next sync.
            mapped = mapping.get((name or "").lower())
            targets[name] = await VendorGroupRepo(self.s).group_id(
                tenant_id, source, mapped or name, None if mapped else ref, tachyon, out.renamed)
        if not targets:
            return out
        # One statement for every group: each device reported in this run goes to its source
        # row's group (the lowest target if two of its rows disagree, so every run agrees).
        named = {name: gid for name, gid in targets.items() if name is not None}
        target: ColumnElement[Any] = case(named, value=DeviceSource.group_name, else_=None) \
            if named else null()
        members = select(DeviceSource.device_id, func.min(target).label("target")).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at == run_at)
        if unless_reported_by:
            members = members.where(DeviceSource.device_id.not_in(
                self._reported_by(tenant_id, unless_reported_by)))
        picked = members.group_by(DeviceSource.device_id).subquery("picked")
        result = await self.s.execute(update(Device).where(
            Device.tenant_id == tenant_id, Device.id == picked.c.device_id,
            Device.management_group_id.is_distinct_from(picked.c.target),
        ).values(management_group_id=picked.c.target).execution_options(
            synchronize_session=False))
        out.moved = int(result.rowcount or 0)  # type: ignore[attr-defined]
        return out

    async def analyze(self) -> None:
        """PostgreSQL: refresh the planner's statistics (none until autovacuum comes round after a
        bulk arrival: lookups then scan, retirement nests loops). SQLite's plans need none."""
        if self.postgres:
            await self.s.execute(text("ANALYZE devices, device_sources"))

    async def unseen(self, tenant_id: int, source: str, run_at: datetime) -> int:
        """This source's devices it did not report in this run."""
        return int((await self.s.execute(select(func.count()).select_from(DeviceSource).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at < run_at))).scalar_one())

    async def retire(self, tenant_id: int, before: datetime, now: datetime) -> int:
        """Retire devices no source has reported since `before`; devices no source ever reported
        (seeded by hand) and devices in the last `devices import` are left alone: the file says
        they exist, whichever vendor stops reporting them (an import that drops them decides)."""
        stale = (select(DeviceSource.device_id).where(DeviceSource.tenant_id == tenant_id)
                 .group_by(DeviceSource.device_id).having(func.max(DeviceSource.seen_at) < before))
        result = await self.s.execute(update(Device).where(
            Device.tenant_id == tenant_id, Device.retired_at.is_(None), Device.id.in_(stale),
            Device.id.not_in(self._reported_by(tenant_id, IMPORT)),
        ).values(retired_at=now).execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _reported_by(self, tenant_id: int, source: str) -> Select[Any]:
        return select(DeviceSource.device_id).where(DeviceSource.tenant_id == tenant_id,
                                                    DeviceSource.source == source)

    async def reported_by_both(self, tenant_id: int, source: str, other: str,
                               run_at: datetime) -> int:
        """Devices `source` reported in this run that `other` reports too."""
        return int((await self.s.execute(select(func.count(func.distinct(
            DeviceSource.device_id))).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at == run_at,
            DeviceSource.device_id.in_(self._reported_by(tenant_id, other))))).scalar_one())

    async def forget(self, tenant_id: int, source: str, run_at: datetime, now: datetime) -> int:
        """Drop this source's rows of the devices it did not report in this run, and retire now
        those of them no other source reports; how many were retired."""
        gone = list((await self.s.execute(delete(DeviceSource).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at < run_at).returning(DeviceSource.device_id))).scalars())
        retired = 0
        for start in range(0, len(gone), 500):  # a bounded number of parameters a statement
            result = await self.s.execute(update(Device).where(
                Device.tenant_id == tenant_id, Device.retired_at.is_(None),
                Device.id.in_(gone[start:start + 500]),
                Device.id.not_in(select(DeviceSource.device_id).where(
                    DeviceSource.tenant_id == tenant_id)),
            ).values(retired_at=now).execution_options(synchronize_session=False))
            retired += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return retired

    async def sources_of(self, tenant_id: int, device_ids: Sequence[int]
                         ) -> dict[int, list[DeviceSource]]:
        out: dict[int, list[DeviceSource]] = {}
        if not device_ids:
            return out
        q = (select(DeviceSource).where(DeviceSource.tenant_id == tenant_id,
                                        DeviceSource.device_id.in_(list(device_ids)))
             .order_by(DeviceSource.source))
        for row in (await self.s.execute(q)).scalars():
            out.setdefault(row.device_id, []).append(row)
        return out
