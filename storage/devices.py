"""The device inventory cache and its management groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from storage.base import Base, Repo


class ManagementGroup(Base):
    __tablename__ = "management_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),
                      Index("ix_management_groups_vendor_ref", "tenant_id", "vendor", "vendor_ref"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    # The same group's id in 1E: `group:` runs then go out as a managementgroup scope.
    tachyon_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The vendor group this group is (inventory sync): found again by the vendor's id, so a group
    # renamed at the vendor is renamed here (docs/inventory.md#management-groups).
    vendor: Mapped[str | None] = mapped_column(String(32), default=None)
    vendor_ref: Mapped[str | None] = mapped_column(String(64), default=None)


class Device(Base):
    """Inventory cache; the endpoint-management systems stay the source of truth."""

    __tablename__ = "devices"
    # Names, FQDNs and serials are compared lower-cased (lookups, the inventory merge): indexed
    # as lower(...) so both are index searches at 100,000 devices, on SQLite and PostgreSQL.
    __table_args__ = (UniqueConstraint("tenant_id", "name"),
                      Index("ix_devices_tenant_lower_name", "tenant_id", func.lower(text("name"))),
                      Index("ix_devices_tenant_lower_fqdn", "tenant_id", func.lower(text("fqdn"))),
                      Index("ix_devices_tenant_lower_serial", "tenant_id",
                            func.lower(text("serial"))))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    fqdn: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    serial: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    os: Mapped[str] = mapped_column(String(100), default="")
    management_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("management_groups.id", ondelete="SET NULL"), index=True, default=None)
    owner_email: Mapped[str | None] = mapped_column(String(320), default=None)
    last_seen: Mapped[datetime | None] = mapped_column(default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set when no source has reported the device for the tenant's retire_days (inventory sync):
    # hidden from lists and lookups by name, still found by id for history and old buttons.
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


def in_tenant_any(tenant_id: int, terms: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """The tenant's devices matching any of `terms` (such as `lower(name) IN (...)`). The tenant
    goes in each OR term: SQLite then searches each term's index; with the tenant outside the
    OR it scans every device of the tenant (PostgreSQL searches both ways)."""
    return or_(*(and_(Device.tenant_id == tenant_id, term) for term in terms))


class DeviceRepo(Repo):
    async def find(self, tenant_id: int, ref: str) -> Device | None:
        """Exact match on name, FQDN or serial, case-insensitive."""
        needle = ref.strip().lower()
        q = select(Device).where(Device.retired_at.is_(None), in_tenant_any(tenant_id, [
            func.lower(Device.name) == needle, func.lower(Device.fqdn) == needle,
            func.lower(Device.serial) == needle])).limit(2)
        rows = (await self.s.execute(q)).scalars().all()
        return rows[0] if len(rows) == 1 else None

    async def by_id(self, tenant_id: int, device_id: int) -> Device | None:
        """The device a button names by its id, in this tenant only."""
        device = await self.s.get(Device, device_id)
        return device if device is not None and device.tenant_id == tenant_id else None

    async def suggest(self, tenant_id: int, ref: str, limit: int = 5) -> list[str]:
        needle = ref.strip().lower()
        q = (select(Device.name).where(Device.tenant_id == tenant_id, Device.retired_at.is_(None),
                                       func.lower(Device.name).contains(needle[:6]))
             .order_by(Device.name).limit(200))
        names = list((await self.s.execute(q)).scalars().all())
        import difflib

        return difflib.get_close_matches(ref.upper(), names, n=limit, cutoff=0.5) or names[:limit]

    async def page(
        self, tenant_id: int, *, query: str | None, group_ids: Sequence[int] | None,
        after: str | None, limit: int,
    ) -> Sequence[tuple[Device, str | None]]:
        """Keyset page ordered by name; `group_ids` None means every group."""
        q = (select(Device, ManagementGroup.name)
             .outerjoin(ManagementGroup, ManagementGroup.id == Device.management_group_id)
             .where(Device.tenant_id == tenant_id, Device.retired_at.is_(None)))
        if query:
            q = q.where(func.lower(Device.name).contains(query.lower()))
        if group_ids is not None:
            q = q.where(Device.management_group_id.in_(list(group_ids)))
        if after:
            q = q.where(Device.name > after)
        q = q.order_by(Device.name).limit(limit)
        return [(d, g) for d, g in (await self.s.execute(q)).all()]

    async def group_counts(self, tenant_id: int) -> dict[int, int]:
        q = (select(Device.management_group_id, func.count())
             .where(Device.tenant_id == tenant_id, Device.retired_at.is_(None))
             .group_by(Device.management_group_id))
        return {gid: n for gid, n in (await self.s.execute(q)).all() if gid is not None}

    async def count(self, tenant_id: int) -> int:
        q = select(func.count()).select_from(Device).where(Device.tenant_id == tenant_id,
                                                           Device.retired_at.is_(None))
        return int((await self.s.execute(q)).scalar_one())

    async def upsert(self, tenant_id: int, name: str, **fields: Any) -> Device:
        q = select(Device).where(Device.tenant_id == tenant_id, Device.name == name)
        row = (await self.s.execute(q)).scalar_one_or_none()
        if row is None:
            row = Device(tenant_id=tenant_id, name=name, **fields)
            self.s.add(row)
        else:
            for key, value in fields.items():
                setattr(row, key, value)
        await self.s.flush()
        return row

    async def add_new(self, tenant_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Devices the tenant does not have yet (a name it has is a unique violation), in one
        flush: SQLAlchemy sends them as a few multi-row INSERTs rather than one each."""
        self.s.add_all(Device(tenant_id=tenant_id, **fields) for fields in rows)
        await self.s.flush()

    async def group(self, group_id: int) -> ManagementGroup | None:
        return await self.s.get(ManagementGroup, group_id)

    async def groups(self, tenant_id: int) -> Sequence[ManagementGroup]:
        q = select(ManagementGroup).where(ManagementGroup.tenant_id == tenant_id).order_by(
            ManagementGroup.name)
        return (await self.s.execute(q)).scalars().all()

    async def ensure_group(self, tenant_id: int, name: str, description: str = "") -> ManagementGroup:
        q = select(ManagementGroup).where(ManagementGroup.tenant_id == tenant_id,
                                          ManagementGroup.name == name)
        row = (await self.s.execute(q)).scalar_one_or_none()
        if row is None:
            row = ManagementGroup(tenant_id=tenant_id, name=name, description=description)
            self.s.add(row)
            await self.s.flush()
        return row
