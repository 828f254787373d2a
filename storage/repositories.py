"""Repositories: the only place that writes SQL. Each takes the unit of work's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    ChatIdentity,
    Device,
    DirectoryGroup,
    GroupMembership,
    JobClaim,
    ManagementGroup,
    PrincipalRow,
    RoleAssignment,
    RoleRow,
    Tenant,
    TenantSettingsRow,
    utcnow,
)


def _fold(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session


class TenantRepo(_Repo):
    async def by_slug(self, slug: str) -> Tenant | None:
        return (await self.s.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()

    async def ensure(self, slug: str, name: str) -> Tenant:
        tenant = await self.by_slug(slug)
        if tenant is None:
            tenant = Tenant(slug=slug, name=name)
            self.s.add(tenant)
            await self.s.flush()
        return tenant


class DirectoryRepo(_Repo):
    async def principal(self, principal_id: int) -> PrincipalRow | None:
        return await self.s.get(PrincipalRow, principal_id)

    async def principal_by_email(self, tenant_id: int, email: str) -> PrincipalRow | None:
        q = select(PrincipalRow).where(
            PrincipalRow.tenant_id == tenant_id, PrincipalRow.email == email.strip().lower())
        return (await self.s.execute(q)).scalar_one_or_none()

    async def principals(self, tenant_id: int) -> Sequence[PrincipalRow]:
        q = select(PrincipalRow).where(PrincipalRow.tenant_id == tenant_id).order_by(
            PrincipalRow.display_name)
        return (await self.s.execute(q)).scalars().all()

    async def upsert_principal(
        self, tenant_id: int, email: str, display_name: str, active: bool = True
    ) -> PrincipalRow:
        row = await self.principal_by_email(tenant_id, email)
        if row is None:
            row = PrincipalRow(tenant_id=tenant_id, email=email.strip().lower(),
                               display_name=display_name, active=active)
            self.s.add(row)
        else:
            row.display_name, row.active = display_name, active
        await self.s.flush()
        return row

    async def identity(self, platform: str, platform_tenant: str, user_id: str) -> ChatIdentity | None:
        q = select(ChatIdentity).where(
            ChatIdentity.platform == platform, ChatIdentity.platform_tenant == platform_tenant,
            ChatIdentity.platform_user_id == user_id)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def link_identity(
        self, tenant_id: int, principal_id: int, platform: str, platform_tenant: str,
        user_id: str, display: str = "",
    ) -> ChatIdentity:
        row = await self.identity(platform, platform_tenant, user_id)
        if row is None:
            row = ChatIdentity(tenant_id=tenant_id, principal_id=principal_id, platform=platform,
                               platform_tenant=platform_tenant, platform_user_id=user_id,
                               display=display)
            self.s.add(row)
        else:
            row.principal_id, row.display = principal_id, display or row.display
        await self.s.flush()
        return row

    async def identities_of(self, principal_id: int) -> Sequence[ChatIdentity]:
        q = select(ChatIdentity).where(ChatIdentity.principal_id == principal_id)
        return (await self.s.execute(q)).scalars().all()

    async def group_by_name(self, tenant_id: int, name: str) -> DirectoryGroup | None:
        q = select(DirectoryGroup).where(
            DirectoryGroup.tenant_id == tenant_id,
            func.lower(DirectoryGroup.display_name) == name.strip().lower())
        return (await self.s.execute(q)).scalar_one_or_none()

    async def ensure_group(self, tenant_id: int, name: str) -> DirectoryGroup:
        group = await self.group_by_name(tenant_id, name)
        if group is None:
            group = DirectoryGroup(tenant_id=tenant_id, display_name=name)
            self.s.add(group)
            await self.s.flush()
        return group

    async def groups(self, tenant_id: int) -> Sequence[DirectoryGroup]:
        q = select(DirectoryGroup).where(DirectoryGroup.tenant_id == tenant_id).order_by(
            DirectoryGroup.display_name)
        return (await self.s.execute(q)).scalars().all()

    async def add_member(self, group_id: int, principal_id: int) -> None:
        if await self.s.get(GroupMembership, (group_id, principal_id)) is None:
            self.s.add(GroupMembership(group_id=group_id, principal_id=principal_id))
            await self.s.flush()

    async def groups_of(self, principal_id: int) -> Sequence[DirectoryGroup]:
        q = (select(DirectoryGroup).join(GroupMembership,
                                         GroupMembership.group_id == DirectoryGroup.id)
             .where(GroupMembership.principal_id == principal_id)
             .order_by(DirectoryGroup.display_name))
        return (await self.s.execute(q)).scalars().all()


class RbacRepo(_Repo):
    async def roles(self, tenant_id: int) -> Sequence[RoleRow]:
        q = select(RoleRow).where(RoleRow.tenant_id == tenant_id).order_by(
            RoleRow.system.desc(), RoleRow.name)
        return (await self.s.execute(q)).scalars().all()

    async def role_by_name(self, tenant_id: int, name: str) -> RoleRow | None:
        """Forgiving match: "endpoint-standard" and "Endpoint Standard" are the same role."""
        wanted = _fold(name)
        return next((r for r in await self.roles(tenant_id) if _fold(r.name) == wanted), None)

    async def add_role(self, tenant_id: int, name: str, permissions: list[str],
                       description: str = "", system: bool = False) -> RoleRow:
        row = RoleRow(tenant_id=tenant_id, name=name, permissions=sorted(permissions),
                      description=description, system=system)
        self.s.add(row)
        await self.s.flush()
        return row

    async def assignments_for(
        self, tenant_id: int, principal_id: int, group_ids: Sequence[int]
    ) -> Sequence[tuple[RoleAssignment, RoleRow]]:
        who = RoleAssignment.principal_id == principal_id
        if group_ids:
            who = or_(who, RoleAssignment.group_id.in_(list(group_ids)))
        q = (select(RoleAssignment, RoleRow).join(RoleRow, RoleRow.id == RoleAssignment.role_id)
             .where(RoleAssignment.tenant_id == tenant_id, who).order_by(RoleAssignment.id))
        return [(a, r) for a, r in (await self.s.execute(q)).all()]

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

    async def delete_assignment(self, tenant_id: int, assignment_id: int) -> bool:
        result = await self.s.execute(delete(RoleAssignment).where(
            RoleAssignment.id == assignment_id, RoleAssignment.tenant_id == tenant_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


class DeviceRepo(_Repo):
    async def find(self, tenant_id: int, ref: str) -> Device | None:
        """Exact match on name, FQDN or serial, case-insensitive."""
        needle = ref.strip().lower()
        q = select(Device).where(Device.tenant_id == tenant_id, or_(
            func.lower(Device.name) == needle, func.lower(Device.fqdn) == needle,
            func.lower(Device.serial) == needle)).limit(2)
        rows = (await self.s.execute(q)).scalars().all()
        return rows[0] if len(rows) == 1 else None

    async def suggest(self, tenant_id: int, ref: str, limit: int = 5) -> list[str]:
        needle = ref.strip().lower()
        q = (select(Device.name).where(Device.tenant_id == tenant_id,
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
             .where(Device.tenant_id == tenant_id))
        if query:
            q = q.where(func.lower(Device.name).contains(query.lower()))
        if group_ids is not None:
            q = q.where(Device.management_group_id.in_(list(group_ids)))
        if after:
            q = q.where(Device.name > after)
        q = q.order_by(Device.name).limit(limit)
        return [(d, g) for d, g in (await self.s.execute(q)).all()]

    async def count(self, tenant_id: int) -> int:
        q = select(func.count()).select_from(Device).where(Device.tenant_id == tenant_id)
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


class SettingsRepo(_Repo):
    async def get(self, tenant_id: int) -> dict[str, Any]:
        row = await self.s.get(TenantSettingsRow, tenant_id)
        return dict(row.values) if row else {}

    async def put(self, tenant_id: int, values: dict[str, Any], by: str) -> None:
        row = await self.s.get(TenantSettingsRow, tenant_id)
        if row is None:
            self.s.add(TenantSettingsRow(tenant_id=tenant_id, values=values, updated_by=by))
        else:
            row.values, row.updated_by, row.updated_at = values, by, utcnow()
        await self.s.flush()


class AuditRepo(_Repo):
    async def append(self, event: AuditEvent) -> None:
        self.s.add(event)
        await self.s.flush()

    async def query(
        self, tenant_id: int, *, actor_email: str | None = None, target: str | None = None,
        since: datetime | None = None, before_id: int | None = None, limit: int = 50,
    ) -> Sequence[AuditEvent]:
        """Newest first, keyset on id."""
        q = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        if actor_email:
            q = q.where(AuditEvent.actor_email == actor_email.lower())
        if target:
            q = q.where(func.lower(AuditEvent.target) == target.lower())
        if since:
            q = q.where(AuditEvent.at >= since)
        if before_id:
            q = q.where(AuditEvent.id < before_id)
        return (await self.s.execute(q.order_by(AuditEvent.id.desc()).limit(limit))).scalars().all()


class ClaimRepo(_Repo):
    def _insert(self) -> Any:
        return (postgresql.insert if self.s.bind.dialect.name == "postgresql" else sqlite.insert)(
            JobClaim)

    async def claim_once(self, job: str, key: str, holder: str) -> bool:
        """True for exactly one caller per (job, key), across processes and replicas."""
        stmt = self._insert().values(job=job, key=key, holder=holder, claimed_at=utcnow())
        result = await self.s.execute(stmt.on_conflict_do_nothing(index_elements=["job", "key"]))
        return bool(result.rowcount)

    async def claim_lease(self, job: str, key: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew a lease; True while this holder owns it."""
        now = utcnow()
        until = now + ttl
        result = await self.s.execute(
            update(JobClaim)
            .where(JobClaim.job == job, JobClaim.key == key,
                   or_(JobClaim.holder == holder, JobClaim.lease_until < now))
            .values(holder=holder, claimed_at=now, lease_until=until))
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        stmt = self._insert().values(job=job, key=key, holder=holder, claimed_at=now,
                                     lease_until=until)
        result = await self.s.execute(stmt.on_conflict_do_nothing(index_elements=["job", "key"]))
        return bool(result.rowcount)

    async def release(self, job: str, key: str, holder: str) -> None:
        await self.s.execute(delete(JobClaim).where(
            JobClaim.job == job, JobClaim.key == key, JobClaim.holder == holder))
