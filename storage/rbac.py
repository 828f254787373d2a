"""Roles and role assignments (to a principal or a directory group, over a scope)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow
from storage.directory import DirectoryGroup, GroupMembership


class RoleRow(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON)
    system: Mapped[bool] = mapped_column(Boolean, default=False)


ROLES = cast(Table, RoleRow.__table__)


class RoleAssignment(Base):
    """A role bound to a principal or a directory group, over a device and instruction scope.

    `device_groups`/`devices` None means every device; `instruction_sets` None means every set.
    """

    __tablename__ = "role_assignments"
    # AUTOINCREMENT on SQLite: people see these ids (#7) and audit rows name them, so a revoked
    # assignment's id is never handed out again (PostgreSQL's sequences never do).
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True, default=None)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("directory_groups.id", ondelete="CASCADE"), index=True, default=None)
    device_groups: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    devices: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    instruction_sets: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    granted_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _fold(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


class RbacRepo(Repo):
    async def roles(self, tenant_id: int) -> Sequence[RoleRow]:
        q = select(RoleRow).where(RoleRow.tenant_id == tenant_id).order_by(
            RoleRow.system.desc(), RoleRow.name)
        return (await self.s.execute(q)).scalars().all()

    async def role_by_name(self, tenant_id: int, name: str) -> RoleRow | None:
        """Forgiving match: "endpoint-standard" and "Endpoint Standard" are the same role."""
        wanted = _fold(name)
        return next((r for r in await self.roles(tenant_id) if _fold(r.name) == wanted), None)

    async def keep_system_roles(self, tenant_id: int,
                                wanted: Mapping[str, tuple[str, Sequence[str]]]) -> None:
        """Make the tenant's system roles (name -> description, permissions) and keep their
        permissions in step. Core statements only, like TenantRepo.ensure_id: every process
        runs this at start, and a listener needs no ORM mapper otherwise."""
        r = ROLES.c
        found = {row.name: row for row in await self.s.execute(
            select(r.id, r.name, r.permissions, r.system).where(r.tenant_id == tenant_id))}
        for name, (description, perms) in wanted.items():
            row, permissions = found.get(name), sorted(perms)
            if row is None:
                await self.s.execute(
                    self.insert(ROLES).values(tenant_id=tenant_id, name=name, description=description,
                                              permissions=permissions, system=True)
                    .on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
            elif sorted(row.permissions) != permissions or not row.system:
                await self.s.execute(update(ROLES).where(r.id == row.id).values(
                    permissions=permissions, description=description, system=True))

    async def add_role(self, tenant_id: int, name: str, permissions: list[str],
                       description: str = "", system: bool = False) -> RoleRow:
        row = RoleRow(tenant_id=tenant_id, name=name, permissions=sorted(permissions),
                      description=description, system=system)
        self.s.add(row)
        await self.s.flush()
        return row

    async def assignments_for(
        self, tenant_id: int, principal_id: int,
    ) -> Sequence[tuple[RoleAssignment, RoleRow, str | None]]:
        """The principal's own assignments and its directory groups', with the group's name
        (None when direct); one statement, since every command asks."""
        member_of = select(GroupMembership.group_id).where(GroupMembership.principal_id == principal_id)
        q = (select(RoleAssignment, RoleRow, DirectoryGroup.display_name)
             .join(RoleRow, RoleRow.id == RoleAssignment.role_id)
             .outerjoin(DirectoryGroup, DirectoryGroup.id == RoleAssignment.group_id)
             .where(RoleAssignment.tenant_id == tenant_id,
                    or_(RoleAssignment.principal_id == principal_id,
                        RoleAssignment.group_id.in_(member_of)))
             .order_by(RoleAssignment.id))
        return [(a, r, g) for a, r, g in (await self.s.execute(q)).all()]

    async def assignments(self, tenant_id: int) -> Sequence[tuple[RoleAssignment, RoleRow]]:
        q = (select(RoleAssignment, RoleRow).join(RoleRow, RoleRow.id == RoleAssignment.role_id)
             .where(RoleAssignment.tenant_id == tenant_id).order_by(RoleAssignment.id))
        return [(a, r) for a, r in (await self.s.execute(q)).all()]

    async def assignment(self, tenant_id: int, assignment_id: int) -> RoleAssignment | None:
        row = await self.s.get(RoleAssignment, assignment_id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def add_assignment(self, row: RoleAssignment) -> RoleAssignment:
        self.s.add(row)
        await self.s.flush()
        return row

    async def rename_device_group(self, tenant_id: int, old: str, new: str) -> int:
        """Scopes naming management group `old` (any case) name `new` instead; how many."""
        q = select(RoleAssignment).where(RoleAssignment.tenant_id == tenant_id)
        changed = 0
        for row in (await self.s.execute(q)).scalars():
            groups = list(row.device_groups or ())
            if any(g.lower() == old.lower() for g in groups):
                row.device_groups = [new if g.lower() == old.lower() else g for g in groups]
                changed += 1
        await self.s.flush()
        return changed

    async def delete_assignment(self, tenant_id: int, assignment_id: int) -> bool:
        result = await self.s.execute(delete(RoleAssignment).where(
            RoleAssignment.id == assignment_id, RoleAssignment.tenant_id == tenant_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
