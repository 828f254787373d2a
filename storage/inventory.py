"""Inventory sync storage: which source reports which device, and the batched merge of a page.

Every vendor device is one `device_sources` row (tenant, source, the vendor's id) pointing at one
inventory `devices` row. A page of vendor devices is merged in a handful of statements: the rows
already mapped, then the devices matching by FQDN, then name, then serial number, then new
devices inserted with ON CONFLICT DO NOTHING on (tenant, name) and read back, so two processes
merging the same page at once end with one device each, never a duplicate or an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo
from storage.devices import Device, ManagementGroup
from storage.rbac import RbacRepo


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
class Renamed:
    """A management group its vendor renamed."""

    old: str
    new: str
    taken: bool  # another deskhand group has the new name: this one kept the old
    scopes: int  # role assignments whose scope now names the new name


@dataclass
class GroupsApplied:
    moved: int = 0  # devices whose management group changed
    renamed: list[Renamed] = field(default_factory=list)


@dataclass(frozen=True)
class Merged:
    added: int  # devices new to the inventory (or back from retirement)
    updated: int  # devices whose name-independent facts changed (FQDN, serial, OS, owner)


def _key(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


class InventoryRepo(Repo):
    def _insert(self, table: type[Base]) -> Any:
        dialect = self.s.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    async def merge_page(self, tenant_id: int, source: str, page: Sequence[Seen],
                         run_at: datetime) -> Merged:
        records = list({r.external_id: r for r in page if r.external_id and r.name}.values())
        if not records:
            return Merged(0, 0)
        mapped = dict((await self.s.execute(
            select(DeviceSource.external_id, DeviceSource.device_id).where(
                DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
                DeviceSource.external_id.in_([r.external_id for r in records])))).all())
        devices = await self._candidates(tenant_id, mapped.values(), records)
        by_id = {d["id"]: d for d in devices}
        index: dict[str, dict[str | None, dict[str, Any]]] = {"fqdn": {}, "name": {}, "serial": {}}
        for d in sorted(devices, key=lambda d: d["id"]):  # the oldest device wins a tie
            for column in index:
                index[column].setdefault(_key(d[column]), d)
        chosen: dict[str, dict[str, Any] | None] = {}
        for r in records:
            found = by_id.get(mapped.get(r.external_id, -1))
            for column, value in (("fqdn", r.fqdn), ("name", r.name), ("serial", r.serial)):
                if found is None and _key(value):
                    found = index[column].get(_key(value))
            chosen[r.external_id] = found
        added = await self._insert_new(tenant_id, [r for r in records if chosen[r.external_id] is None],
                                       chosen)
        updated = await self._update(records, chosen, run_at)
        await self._upsert_sources(tenant_id, source, records, chosen, run_at)
        return Merged(added[0] + updated[1], updated[0] - updated[1])

    async def _candidates(self, tenant_id: int, ids: Iterable[int],
                          records: Sequence[Seen]) -> list[dict[str, Any]]:
        fqdns = sorted({k for r in records if (k := _key(r.fqdn))})
        names = sorted({k for r in records if (k := _key(r.name))})
        serials = sorted({k for r in records if (k := _key(r.serial))})
        ors = [Device.id.in_(list(ids)), func.lower(Device.name).in_(names)]
        if fqdns:
            ors.append(func.lower(Device.fqdn).in_(fqdns))
        if serials:
            ors.append(func.lower(Device.serial).in_(serials))
        q = select(Device.id, Device.name, Device.fqdn, Device.serial, Device.os,
                   Device.owner_email, Device.last_seen, Device.retired_at).where(
            Device.tenant_id == tenant_id, or_(*ors))
        return [dict(row._mapping) for row in await self.s.execute(q)]

    async def _insert_new(self, tenant_id: int, fresh: Sequence[Seen],
                          chosen: dict[str, dict[str, Any] | None]) -> tuple[int]:
        """Insert devices no key matched; a name another process inserted meanwhile is taken."""
        by_name: dict[str, Seen] = {}
        for r in fresh:
            by_name.setdefault(r.name.strip().lower(), r)
        if not by_name:
            return (0,)
        rows: list[dict[str, Any]] = [{"tenant_id": tenant_id, "name": r.name.strip()[:200], "fqdn": r.fqdn,
                 "serial": r.serial, "os": (r.os or "")[:100], "owner_email": r.owner_email,
                 "last_seen": r.last_seen, "attributes": {}, "management_group_id": None,
                 "retired_at": None}
                for _, r in sorted(by_name.items())]  # one order: racing inserts queue, not deadlock
        result = await self.s.execute(self._insert(Device).values(rows).on_conflict_do_nothing(
            index_elements=["tenant_id", "name"]))
        q = select(Device.id, Device.name, Device.fqdn, Device.serial, Device.os,
                   Device.owner_email, Device.last_seen, Device.retired_at).where(
            Device.tenant_id == tenant_id, Device.name.in_([row["name"] for row in rows]))
        made = {str(row.name).lower(): dict(row._mapping) for row in await self.s.execute(q)}
        for r in fresh:
            chosen[r.external_id] = made.get(r.name.strip().lower())
        return (int(result.rowcount or 0),)  # type: ignore[attr-defined]

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
            row = after.setdefault(d["id"], {k: d[k] for k in (
                "id", "fqdn", "serial", "os", "owner_email", "last_seen", "retired_at")})
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
            await self.s.execute(update(Device), sorted(touched, key=lambda row: row["id"]))
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
        stmt = self._insert(DeviceSource).values(rows)
        await self.s.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "source", "external_id"],
            set_={"device_id": stmt.excluded.device_id, "name": stmt.excluded.name,
                  "last_seen": stmt.excluded.last_seen, "seen_at": stmt.excluded.seen_at}))

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
                           mapping: dict[str, str], *, tachyon: bool = False) -> GroupsApplied:
        """Set each device's management group from what `source` reported in this run. A group
        is found by the vendor's id first (`vendor`, `vendor_ref`), so a group renamed at the
        source renames deskhand's group and the role scopes naming it. `tachyon`: the source is
        1E, whose group ids are also what `group:` runs send (`tachyon_id`)."""
        groups = (await self.s.execute(select(DeviceSource.group_name, DeviceSource.group_ref).where(
            DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
            DeviceSource.seen_at == run_at).distinct())).all()
        out = GroupsApplied()
        for name, ref in sorted(groups, key=lambda g: (g[0] or "", g[1] or "")):
            # An administrator's mapping wins over the vendor id a group was followed by, so a
            # mapping added or changed later takes effect at the next sync.
            mapped = mapping.get((name or "").lower())
            target = await self._group_id(tenant_id, source, mapped or name,
                                          None if mapped else ref, tachyon, out.renamed)
            members = select(DeviceSource.device_id).where(
                DeviceSource.tenant_id == tenant_id, DeviceSource.source == source,
                DeviceSource.seen_at == run_at, DeviceSource.group_name.is_(None) if name is None
                else DeviceSource.group_name == name)
            result = await self.s.execute(update(Device).where(
                Device.tenant_id == tenant_id, Device.id.in_(members),
                Device.management_group_id.is_distinct_from(target),
            ).values(management_group_id=target).execution_options(synchronize_session=False))
            out.moved += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return out

    async def _group_id(self, tenant_id: int, source: str, name: str | None, ref: str | None,
                        tachyon: bool, renamed: list[Renamed]) -> int | None:
        if not name:
            return None
        name = name[:200]
        if ref:
            found = await self._followed(tenant_id, source, ref, tachyon)
            if found is not None:
                if found[1] != name:
                    await self._rename(tenant_id, found[0], found[1], name, renamed)
                return found[0]
        await self.s.execute(self._insert(ManagementGroup).values(
            tenant_id=tenant_id, name=name, description="", vendor=source if ref else None,
            vendor_ref=ref, tachyon_id=ref if tachyon else None,
        ).on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
        group_id, vendor, tachyon_id = (await self.s.execute(select(
            ManagementGroup.id, ManagementGroup.vendor, ManagementGroup.tachyon_id).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.name == name))).one()
        if ref and vendor != source:
            # A group made by hand, by the demo or for another source: from now on it is this
            # vendor group, found by its id.
            await self.s.execute(update(ManagementGroup).where(ManagementGroup.id == group_id).values(
                vendor=source, vendor_ref=ref,
                tachyon_id=tachyon_id or (ref if tachyon else None)))
        return int(group_id)

    async def _followed(self, tenant_id: int, source: str, ref: str,
                        tachyon: bool) -> tuple[int, str] | None:
        """The group that is this vendor group: followed by its id, or (1E) linked to it by
        hand with `groups link`."""
        found = (await self.s.execute(select(ManagementGroup.id, ManagementGroup.name).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.vendor == source,
            ManagementGroup.vendor_ref == ref).order_by(ManagementGroup.id).limit(1))).first()
        if found is None and tachyon:
            found = (await self.s.execute(select(ManagementGroup.id, ManagementGroup.name).where(
                ManagementGroup.tenant_id == tenant_id, ManagementGroup.tachyon_id == ref,
            ).order_by(ManagementGroup.id).limit(1))).first()
            if found is not None:
                await self.s.execute(update(ManagementGroup).where(
                    ManagementGroup.id == found[0]).values(vendor=source, vendor_ref=ref))
        return (int(found[0]), str(found[1])) if found is not None else None

    async def _rename(self, tenant_id: int, group_id: int, old: str, new: str,
                      renamed: list[Renamed]) -> None:
        """The vendor renamed the group: so does deskhand, with the role scopes naming it. A
        name another deskhand group has is not taken (the group keeps its own)."""
        taken = (await self.s.execute(select(ManagementGroup.id).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.id != group_id,
            func.lower(ManagementGroup.name) == new.lower()).limit(1))).first() is not None
        if taken:
            renamed.append(Renamed(old, new, taken=True, scopes=0))
            return
        await self.s.execute(update(ManagementGroup).where(ManagementGroup.id == group_id)
                             .values(name=new))
        scopes = await RbacRepo(self.s).rename_device_group(tenant_id, old, new)
        renamed.append(Renamed(old, new, taken=False, scopes=scopes))

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
