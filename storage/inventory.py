"""Inventory sync storage: which source reports which device, and the batched merge of a page.

Every vendor device is one `device_sources` row (tenant, source, the vendor's id) pointing at one
inventory `devices` row. A page of vendor devices is merged in a handful of statements: the rows
already mapped, then the devices matching by FQDN, then name, then serial number, then new
devices inserted with ON CONFLICT DO NOTHING on (tenant, name) and read back, so two processes
merging the same page at once end with one device each, never a duplicate or an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo
from storage.devices import Device, ManagementGroup, in_tenant_any


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


@dataclass(frozen=True)
class Seen:
    """A device as one source reports it."""

    external_id: str
    name: str
    fqdn: str | None = None
    serial: str | None = None
    os: str = ""
    owner_email: str | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Merged:
    added: int  # devices new to the inventory (or back from retirement)
    updated: int  # devices whose name-independent facts changed (FQDN, serial, OS, owner)


def _key(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


DEVICES = cast(Table, Device.__table__)
SOURCES = cast(Table, DeviceSource.__table__)
# What a merge reads of a device: the facts it fills and compares.
FACTS = (DEVICES.c.id, DEVICES.c.name, DEVICES.c.fqdn, DEVICES.c.serial, DEVICES.c.os,
         DEVICES.c.owner_email, DEVICES.c.last_seen, DEVICES.c.retired_at)
_FILLED = ("fqdn", "serial", "os", "owner_email", "last_seen", "retired_at")
# One statement for a page's fact updates, executemany (`b_` names: a SET column cannot be a bind).
_UPDATE_FACTS = update(DEVICES).where(DEVICES.c.id == bindparam("b_id")).values(
    {c: bindparam(f"b_{c}", type_=DEVICES.c[c].type) for c in _FILLED})


class InventoryRepo(Repo):
    """A page's merge is Core statements on whole batches (executemany, no ORM objects): a few
    statements per page whatever its size, their compiled forms cached."""

    def _insert(self, table: Any) -> Any:
        dialect = self.s.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    async def merge_page(self, tenant_id: int, source: str, page: Sequence[Seen],
                         run_at: datetime) -> Merged:
        records = list({r.external_id: r for r in page if r.external_id and r.name}.values())
        if not records:
            return Merged(0, 0)
        mapped = dict((await self.s.execute(
            select(SOURCES.c.external_id, SOURCES.c.device_id).where(
                SOURCES.c.tenant_id == tenant_id, SOURCES.c.source == source,
                SOURCES.c.external_id.in_([r.external_id for r in records])))).all())
        # Only devices this source has not reported before are matched by FQDN, name, serial.
        unmapped = [r for r in records if r.external_id not in mapped]
        devices = await self._candidates(tenant_id, set(mapped.values()), unmapped)
        by_id = {d["id"]: d for d in devices}
        index: dict[str, dict[str | None, dict[str, Any]]] = {"fqdn": {}, "name": {}, "serial": {}}
        for d in sorted(devices, key=lambda d: d["id"]):  # the oldest device wins a tie
            for field in index:
                index[field].setdefault(_key(d[field]), d)
        chosen: dict[str, dict[str, Any] | None] = {}
        for r in records:
            found = by_id.get(mapped.get(r.external_id, -1))
            for field, value in (("fqdn", r.fqdn), ("name", r.name), ("serial", r.serial)):
                if found is None and _key(value):
                    found = index[field].get(_key(value))
            chosen[r.external_id] = found
        added = await self._insert_new(tenant_id, [r for r in records if chosen[r.external_id] is None],
                                       chosen)
        updated = await self._update(records, chosen, run_at)
        await self._upsert_sources(tenant_id, source, records, chosen, run_at)
        return Merged(added + updated[1], updated[0] - updated[1])

    async def _candidates(self, tenant_id: int, ids: set[int],
                          records: Sequence[Seen]) -> list[dict[str, Any]]:
        """The mapped devices, and those whose FQDN, name or serial (lower-cased: the
        expression indexes of storage/devices.py) match one of `records`."""
        fqdns = sorted({k for r in records if (k := _key(r.fqdn))})
        names = sorted({k for r in records if (k := _key(r.name))})
        serials = sorted({k for r in records if (k := _key(r.serial))})
        terms = [DEVICES.c.id.in_(sorted(ids))] if ids else []
        terms += [func.lower(column).in_(keys) for column, keys in (
            (DEVICES.c.name, names), (DEVICES.c.fqdn, fqdns), (DEVICES.c.serial, serials)) if keys]
        if not terms:
            return []
        q = select(*FACTS).where(in_tenant_any(tenant_id, terms))
        return [dict(row._mapping) for row in await self.s.execute(q)]

    async def _insert_new(self, tenant_id: int, fresh: Sequence[Seen],
                          chosen: dict[str, dict[str, Any] | None]) -> int:
        """Insert devices no key matched (one executemany, RETURNING what it inserted); a name
        another process inserted meanwhile is read back and taken. How many were inserted."""
        by_name: dict[str, Seen] = {}
        for r in fresh:
            by_name.setdefault(r.name.strip().lower(), r)
        if not by_name:
            return 0
        rows: list[dict[str, Any]] = [{
            "tenant_id": tenant_id, "name": r.name.strip()[:200], "fqdn": r.fqdn,
            "serial": r.serial, "os": (r.os or "")[:100], "owner_email": r.owner_email,
            "last_seen": r.last_seen, "attributes": {}, "management_group_id": None,
            "retired_at": None} for _, r in sorted(by_name.items())]  # one order: racers queue
        stmt = self._insert(DEVICES).on_conflict_do_nothing(
            index_elements=["tenant_id", "name"]).returning(DEVICES.c.name, DEVICES.c.id)
        ids: dict[str, int] = {name: i for name, i in await self.s.execute(stmt, rows)}
        made = {row["name"].lower(): {**{k: row[k] for k in _FILLED}, "name": row["name"],
                                      "id": ids[row["name"]]}
                for row in rows if row["name"] in ids}
        inserted = len(made)
        taken = [row["name"] for row in rows if row["name"].lower() not in made]
        if taken:
            q = select(*FACTS).where(DEVICES.c.tenant_id == tenant_id, DEVICES.c.name.in_(taken))
            made.update((str(row.name).lower(), dict(row._mapping))
                        for row in await self.s.execute(q))
        for r in fresh:
            chosen[r.external_id] = made.get(r.name.strip().lower())
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
            row["os"] = row["os"] or (r.os or "")[:100]
            row["owner_email"] = row["owner_email"] or r.owner_email
            if r.last_seen and (row["last_seen"] is None or r.last_seen > row["last_seen"]):
                row["last_seen"] = r.last_seen
            row["retired_at"] = None
        touched = [row for i, row in after.items() if row != {k: before[i][k] for k in row}]
        back = {i for i in after if before[i]["retired_at"] is not None}
        changed = {row["id"] for row in touched
                   if any(row[k] != before[row["id"]][k] for k in ("fqdn", "serial", "os",
                                                                   "owner_email"))}
        if touched:
            await self.s.execute(_UPDATE_FACTS, [{f"b_{k}": v for k, v in row.items()}
                                                 for row in sorted(touched, key=lambda r: r["id"])])
        return len(changed | back), len(back)

    async def _upsert_sources(self, tenant_id: int, source: str, records: Sequence[Seen],
                              chosen: dict[str, dict[str, Any] | None], run_at: datetime) -> None:
        rows = [{"tenant_id": tenant_id, "source": source, "external_id": r.external_id[:200],
                 "device_id": d["id"], "name": r.name[:200], "last_seen": r.last_seen,
                 "seen_at": run_at}
                for r in sorted(records, key=lambda r: r.external_id)
                if (d := chosen[r.external_id]) is not None]
        if not rows:
            return
        stmt = self._insert(SOURCES)
        await self.s.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "source", "external_id"],
            set_={"device_id": stmt.excluded.device_id, "name": stmt.excluded.name,
                  "last_seen": stmt.excluded.last_seen, "seen_at": stmt.excluded.seen_at}), rows)

    # --- management groups --------------------------------------------------------------

    async def set_group(self, tenant_id: int, source: str, group: str, ref: str | None,
                        external_ids: Sequence[str], run_at: datetime) -> None:
        """Place this source's devices in `group`; a device already placed in this run keeps its
        first group (1E devices may belong to several management groups)."""
        if not external_ids:
            return
        await self.s.execute(update(DeviceSource).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.external_id.in_(list(external_ids)),
            or_(DeviceSource.group_at.is_(None), DeviceSource.group_at < run_at),
        ).values(group_name=group[:200], group_ref=ref, group_at=run_at))

    async def clear_groups(self, tenant_id: int, source: str, run_at: datetime) -> None:
        """Devices that no group of this source listed in this run belong to none."""
        await self.s.execute(update(DeviceSource).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            or_(DeviceSource.group_at.is_(None), DeviceSource.group_at < run_at),
        ).values(group_name=None, group_ref=None, group_at=run_at))

    async def apply_groups(self, tenant_id: int, source: str, run_at: datetime,
                           mapping: dict[str, str]) -> int:
        """Set each device's management group from what `source` reported in this run; how many
        moved. A group is found by the vendor's id first (kept in `tachyon_id`), so a group
        renamed at the source keeps its deskhand name and every role scope naming it."""
        groups = (await self.s.execute(select(DeviceSource.group_name, DeviceSource.group_ref).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at == run_at).distinct())).all()
        moved = 0
        for name, ref in sorted(groups, key=lambda g: (g[0] or "", g[1] or "")):
            # An administrator's mapping wins over the vendor id a group was followed by, so a
            # mapping added or changed later takes effect at the next sync.
            mapped = mapping.get((name or "").lower())
            target = await self._group_id(tenant_id, mapped or name, None if mapped else ref)
            members = select(DeviceSource.device_id).where(
                DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
                DeviceSource.seen_at == run_at, DeviceSource.group_name.is_(None) if name is None
                else DeviceSource.group_name == name)
            result = await self.s.execute(update(Device).where(
                Device.tenant_id == tenant_id, Device.id.in_(members),
                Device.management_group_id.is_distinct_from(target),
            ).values(management_group_id=target).execution_options(synchronize_session=False))
            moved += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return moved

    async def _group_id(self, tenant_id: int, name: str | None, ref: str | None) -> int | None:
        if not name:
            return None
        if ref:
            found = (await self.s.execute(select(ManagementGroup.id).where(
                ManagementGroup.tenant_id == tenant_id, ManagementGroup.tachyon_id == ref))).scalar()
            if found is not None:
                return int(found)
        await self.s.execute(self._insert(ManagementGroup).values(
            tenant_id=tenant_id, name=name[:200], description="", tachyon_id=ref
        ).on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
        found_id = int((await self.s.execute(select(ManagementGroup.id).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.name == name[:200]))).scalar_one())
        if ref:  # a group made by hand or by the demo: from now on followed by its vendor id
            await self.s.execute(update(ManagementGroup).where(
                ManagementGroup.id == found_id, ManagementGroup.tachyon_id.is_(None)
            ).values(tachyon_id=ref))
        return found_id

    async def analyze(self) -> None:
        """Refresh the planner's statistics of the inventory tables. After thousands of rows
        arrive at once (a first sync), PostgreSQL has none until autovacuum comes round, and
        plans the set-wide statements (group moves, retirement) as if the tables were empty:
        a nested loop over 100,000 devices, for hours. A few hundred milliseconds at 100,000."""
        for table in ("devices", "device_sources"):
            await self.s.execute(text(f"ANALYZE {table}"))

    # --- retirement and reading ---------------------------------------------------------

    async def unseen(self, tenant_id: int, source: str, run_at: datetime) -> int:
        """This source's devices it did not report in this run."""
        return int((await self.s.execute(select(func.count()).select_from(DeviceSource).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at < run_at))).scalar_one())

    async def retire(self, tenant_id: int, before: datetime, now: datetime) -> int:
        """Retire devices no source has reported since `before`; devices no source ever reported
        (imported or seeded by hand) are left alone."""
        stale = (select(DeviceSource.device_id).where(DeviceSource.tenant_id == tenant_id)
                 .group_by(DeviceSource.device_id).having(func.max(DeviceSource.seen_at) < before))
        result = await self.s.execute(update(Device).where(
            Device.tenant_id == tenant_id, Device.retired_at.is_(None), Device.id.in_(stale),
        ).values(retired_at=now).execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

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
