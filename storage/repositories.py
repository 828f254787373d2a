"""Repositories: the only place that writes SQL. Each takes the unit of work's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ApprovalRequest,
    AuditEvent,
    ChatIdentity,
    Device,
    DirectoryGroup,
    GroupMembership,
    InstructionDefinitionRow,
    InstructionResponse,
    InstructionRun,
    InstructionRunTargets,
    JobClaim,
    ManagementGroup,
    PrincipalRow,
    RemoteSession,
    RoleAssignment,
    RoleRow,
    TeamsConversation,
    TeamViewerCredential,
    TeamViewerOAuthState,
    Tenant,
    TenantSettingsRow,
    WorkflowCard,
    utcnow,
)
from storage.response_pages import insert_page


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

    async def linked_principal(self, platform: str, platform_tenant: str,
                               user_id: str) -> PrincipalRow | None:
        """The principal a chat account is linked to, in one statement (every command asks)."""
        q = (select(PrincipalRow).join(ChatIdentity, ChatIdentity.principal_id == PrincipalRow.id)
             .where(ChatIdentity.platform == platform, ChatIdentity.platform_tenant == platform_tenant,
                    ChatIdentity.platform_user_id == user_id))
        return (await self.s.execute(q)).scalar_one_or_none()

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

    async def group_counts(self, tenant_id: int) -> dict[int, int]:
        q = (select(Device.management_group_id, func.count()).where(Device.tenant_id == tenant_id)
             .group_by(Device.management_group_id))
        return {gid: n for gid, n in (await self.s.execute(q)).all() if gid is not None}

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
        # A Core insert: the ORM's flush bookkeeping cost more than the write (one per command).
        table = cast(Table, AuditEvent.__table__)
        await self.s.execute(insert(table).values({
            c.key: value for c in table.columns if (value := getattr(event, c.key)) is not None}))

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
        return (postgresql.insert if self.s.get_bind().dialect.name == "postgresql" else sqlite.insert)(
            JobClaim)

    async def claim_once(self, job: str, key: str, holder: str) -> bool:
        """True for exactly one caller per (job, key), across processes and replicas."""
        stmt = self._insert().values(job=job, key=key, holder=holder, claimed_at=utcnow())
        result = await self.s.execute(stmt.on_conflict_do_nothing(index_elements=["job", "key"]))
        return bool(result.rowcount)  # type: ignore[attr-defined]

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
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, job: str, key: str, holder: str) -> None:
        await self.s.execute(delete(JobClaim).where(
            JobClaim.job == job, JobClaim.key == key, JobClaim.holder == holder))


class TeamsConversationRepo(_Repo):
    """Stored Teams conversation references, one row per (tenant, conversation id)."""

    async def get(self, tenant_id: int, conversation_id: str) -> TeamsConversation | None:
        q = select(TeamsConversation).where(TeamsConversation.tenant_id == tenant_id,
                                            TeamsConversation.conversation_id == conversation_id)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def upsert(self, tenant_id: int, conversation_id: str, **fields: Any) -> TeamsConversation:
        row = await self.get(tenant_id, conversation_id)
        if row is None:
            row = TeamsConversation(tenant_id=tenant_id, conversation_id=conversation_id, **fields)
            self.s.add(row)
        else:
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        await self.s.flush()
        return row

    async def personal(self, tenant_id: int, user_aad_id: str) -> TeamsConversation | None:
        """The 1:1 chat with a person, if deskhand is installed for them."""
        q = (select(TeamsConversation)
             .where(TeamsConversation.tenant_id == tenant_id,
                    TeamsConversation.user_aad_id == user_aad_id,
                    TeamsConversation.conversation_type == "personal",
                    TeamsConversation.installed.is_(True))
             .order_by(TeamsConversation.updated_at.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def channel(self, tenant_id: int, channel_id: str) -> TeamsConversation | None:
        """The channel's own conversation (not a reply thread inside it)."""
        q = (select(TeamsConversation)
             .where(TeamsConversation.tenant_id == tenant_id,
                    TeamsConversation.conversation_id == channel_id,
                    TeamsConversation.installed.is_(True)))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def uninstalled(self, tenant_id: int, conversation_id: str) -> None:
        await self.s.execute(update(TeamsConversation).where(
            TeamsConversation.tenant_id == tenant_id,
            TeamsConversation.conversation_id == conversation_id).values(installed=False))


class RemoteSessionRepo(_Repo):
    """TeamViewer sessions deskhand started; every state change is a compare-and-set."""

    async def add(self, row: RemoteSession) -> RemoteSession:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, session_id: int) -> RemoteSession | None:
        row = await self.s.get(RemoteSession, session_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def by_code(self, tenant_id: int, code: str) -> RemoteSession | None:
        q = (select(RemoteSession)
             .where(RemoteSession.tenant_id == tenant_id, RemoteSession.code == code)
             .order_by(RemoteSession.id.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def open_for(self, tenant_id: int, requester_id: int, limit: int = 50) -> Sequence[RemoteSession]:
        q = (select(RemoteSession)
             .where(RemoteSession.tenant_id == tenant_id, RemoteSession.requester_id == requester_id,
                    RemoteSession.state.in_(("open", "closing")))
             .order_by(RemoteSession.id.desc()).limit(limit))
        return (await self.s.execute(q)).scalars().all()

    async def transition(self, tenant_id: int, session_id: int, expected: str | tuple[str, ...],
                         **values: Any) -> bool:
        """Move the row on only if it is still in `expected`; False when someone else moved it."""
        states = (expected,) if isinstance(expected, str) else expected
        result = await self.s.execute(
            update(RemoteSession)
            .where(RemoteSession.id == session_id, RemoteSession.tenant_id == tenant_id,
                   RemoteSession.state.in_(states))
            .values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


class TeamViewerAuthRepo(_Repo):
    """Sealed OAuth tokens per tenant and the one-time states of pending connects."""

    async def credential(self, tenant_id: int) -> TeamViewerCredential | None:
        return await self.s.get(TeamViewerCredential, tenant_id, populate_existing=True)

    async def connect(self, tenant_id: int, access: str, refresh: str, expires_at: datetime,
                      by: str) -> None:
        row = await self.credential(tenant_id)
        if row is None:
            self.s.add(TeamViewerCredential(tenant_id=tenant_id, access_token=access,
                                            refresh_token=refresh, expires_at=expires_at,
                                            connected_by=by))
        else:
            row.access_token, row.refresh_token, row.expires_at = access, refresh, expires_at
            row.version, row.connected_by, row.connected_at = row.version + 1, by, utcnow()
        await self.s.flush()

    async def rotate(self, tenant_id: int, version: int, access: str, refresh: str,
                     expires_at: datetime) -> bool:
        """Store refreshed tokens unless another process already rotated them (version moved)."""
        result = await self.s.execute(
            update(TeamViewerCredential)
            .where(TeamViewerCredential.tenant_id == tenant_id,
                   TeamViewerCredential.version == version)
            .values(access_token=access, refresh_token=refresh, expires_at=expires_at,
                    version=version + 1, refreshed_at=utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_state(self, row: TeamViewerOAuthState) -> None:
        await self.s.execute(delete(TeamViewerOAuthState).where(
            TeamViewerOAuthState.expires_at < utcnow()))
        self.s.add(row)
        await self.s.flush()

    async def take_state(self, tenant_id: int, state_hash: str) -> TeamViewerOAuthState | None:
        """Consume a pending state: exactly one caller gets it, and only once."""
        row = await self.s.get(TeamViewerOAuthState, state_hash)
        if row is None or row.tenant_id != tenant_id:
            return None
        result = await self.s.execute(delete(TeamViewerOAuthState).where(
            TeamViewerOAuthState.state_hash == state_hash))
        return row if result.rowcount else None  # type: ignore[attr-defined]


class CatalogueRepo(_Repo):
    """The tenant's cached 1E instruction definitions."""

    async def all(self, tenant_id: int) -> Sequence[InstructionDefinitionRow]:
        q = select(InstructionDefinitionRow).where(
            InstructionDefinitionRow.tenant_id == tenant_id).order_by(InstructionDefinitionRow.name)
        return (await self.s.execute(q)).scalars().all()

    async def by_name(self, tenant_id: int, name: str) -> InstructionDefinitionRow | None:
        q = select(InstructionDefinitionRow).where(
            InstructionDefinitionRow.tenant_id == tenant_id,
            func.lower(InstructionDefinitionRow.name) == name.strip().lower())
        return (await self.s.execute(q)).scalar_one_or_none()

    async def replace(self, tenant_id: int, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Upsert by name and drop definitions the vendor no longer lists; (kept, removed)."""
        existing = {r.name: r for r in await self.all(tenant_id)}
        now = utcnow()
        for values in rows:
            row = existing.pop(values["name"], None)
            if row is None:
                self.s.add(InstructionDefinitionRow(tenant_id=tenant_id, synced_at=now, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.synced_at = now
        for row in existing.values():
            await self.s.delete(row)
        await self.s.flush()
        return len(rows), len(existing)


class InstructionRunRepo(_Repo):
    """Instruction runs: compare-and-set transitions, per-run leases, keyset history."""

    async def add(self, row: InstructionRun) -> InstructionRun:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, run_id: int) -> InstructionRun | None:
        row = await self.s.get(InstructionRun, run_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def add_targets(self, run_id: int, targets: list[dict[str, Any]]) -> None:
        names = sorted({str(t[k]).lower() for t in targets for k in ("name", "fqdn") if t.get(k)})
        self.s.add(InstructionRunTargets(run_id=run_id, targets=targets,
                                         search="," + ",".join(names) + ","))
        await self.s.flush()

    async def targets(self, run_id: int) -> list[dict[str, Any]]:
        row = await self.s.get(InstructionRunTargets, run_id)
        return list(row.targets) if row is not None else []

    async def transition(self, run_id: int, expected: str | Sequence[str], **values: Any) -> bool:
        """Move on only from `expected`; False when another click, replica or job got there first."""
        states = [expected] if isinstance(expected, str) else list(expected)
        result = await self.s.execute(update(InstructionRun).where(
            InstructionRun.id == run_id, InstructionRun.state.in_(states)).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_issue(self, run_id: int, states: Sequence[str], attempts: int) -> bool:
        """Count an issue attempt before the POST leaves, so a restart searches 1E first."""
        result = await self.s.execute(update(InstructionRun).where(
            InstructionRun.id == run_id, InstructionRun.state.in_(list(states)),
            InstructionRun.issue_attempts == attempts).values(issue_attempts=attempts + 1))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def lease(self, run_id: int, holder: str, ttl: timedelta) -> bool:
        now = utcnow()
        result = await self.s.execute(update(InstructionRun).where(
            InstructionRun.id == run_id,
            or_(InstructionRun.lease_holder.is_(None), InstructionRun.lease_holder == holder,
                InstructionRun.lease_until < now),
        ).values(lease_holder=holder, lease_until=now + ttl))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, run_id: int, holder: str) -> None:
        await self.s.execute(update(InstructionRun).where(
            InstructionRun.id == run_id, InstructionRun.lease_holder == holder,
        ).values(lease_holder=None, lease_until=None))

    async def due(self, tenant_id: int, states: Sequence[str], limit: int = 50) -> Sequence[int]:
        """Runs in `states` whose next poll is due and whose lease is free or lapsed."""
        now = utcnow()
        q = (select(InstructionRun.id).where(
            InstructionRun.tenant_id == tenant_id, InstructionRun.state.in_(list(states)),
            or_(InstructionRun.next_poll_at.is_(None), InstructionRun.next_poll_at <= now),
            or_(InstructionRun.lease_until.is_(None), InstructionRun.lease_until < now))
            .order_by(InstructionRun.next_poll_at).limit(limit))
        return (await self.s.execute(q)).scalars().all()

    async def store_batch(self, run_id: int, is_error: bool, start: str, cursor: str,
                          rows: Sequence[dict[str, Any]]) -> bool:
        """Insert one fetched page and move the cursor on, as one compare-and-set.

        False (nothing written) when the cursor moved since `start` was read: another process
        stored this page already, so a page is never stored twice.
        """
        if not await self._advance(run_id, is_error, start, cursor, len(rows)):
            return False
        if rows:  # Core executemany on the table: no ORM bookkeeping for thousands of rows
            await self.s.execute(insert(cast(Table, InstructionResponse.__table__)), [
                {"run_id": run_id, "is_error": is_error, **r} for r in rows])
        return True

    async def store_page_json(self, run_id: int, is_error: bool, start: str, cursor: str,
                              page_json: str, count: int) -> bool | None:
        """`store_batch` for a page still in 1E's JSON (`count` rows), read by the database in one
        statement (storage/response_pages.py); None when this database has no such statement."""
        statement = insert_page(self.s.get_bind().dialect.name, is_error)
        if statement is None:
            return None
        if not await self._advance(run_id, is_error, start, cursor, count):
            return False
        await self.s.execute(statement, {"run_id": run_id, "is_error": is_error, "page": page_json})
        return True

    async def _advance(self, run_id: int, is_error: bool, start: str, cursor: str, count: int) -> bool:
        column, counter = ((InstructionRun.error_cursor, InstructionRun.errors_stored) if is_error
                           else (InstructionRun.answer_cursor, InstructionRun.answers_stored))
        result = await self.s.execute(update(InstructionRun).where(
            InstructionRun.id == run_id, column == start,
        ).values({column: cursor, counter: counter + count}))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def target_groups(self, tenant_id: int, names: Sequence[str]) -> dict[str, str | None]:
        """Current management group of each named device (lower-case name -> group name)."""
        out: dict[str, str | None] = {}
        wanted = sorted({n.lower() for n in names})
        for i in range(0, len(wanted), 500):
            q = (select(Device.name, ManagementGroup.name)
                 .outerjoin(ManagementGroup, ManagementGroup.id == Device.management_group_id)
                 .where(Device.tenant_id == tenant_id, func.lower(Device.name).in_(wanted[i:i + 500])))
            out.update({d.lower(): g for d, g in (await self.s.execute(q)).all()})
        return out

    async def responses(self, run_id: int, is_error: bool, after_id: int | None,
                        limit: int) -> Sequence[InstructionResponse]:
        q = select(InstructionResponse).where(InstructionResponse.run_id == run_id,
                                              InstructionResponse.is_error.is_(is_error))
        if after_id:
            q = q.where(InstructionResponse.id > after_id)
        return (await self.s.execute(q.order_by(InstructionResponse.id).limit(limit))).scalars().all()

    async def history(self, tenant_id: int, *, requester_id: int | None = None,
                      device: str | None = None, definition: str | None = None,
                      state: str | None = None, before_id: int | None = None,
                      limit: int = 20) -> Sequence[InstructionRun]:
        """Newest first, keyset on id."""
        q = select(InstructionRun).where(InstructionRun.tenant_id == tenant_id)
        if state:
            q = q.where(InstructionRun.state == state)
        if requester_id is not None:
            q = q.where(InstructionRun.requester_id == requester_id)
        if device:
            q = q.join(InstructionRunTargets, InstructionRunTargets.run_id == InstructionRun.id).where(
                InstructionRunTargets.search.contains(f",{device.strip().lower()},", autoescape=True))
        if definition:
            q = q.where(func.lower(InstructionRun.definition_name) == definition.strip().lower())
        if before_id:
            q = q.where(InstructionRun.id < before_id)
        return (await self.s.execute(q.order_by(InstructionRun.id.desc()).limit(limit))).scalars().all()

    async def purge_responses(self, tenant_id: int, before: datetime, finished: Sequence[str]) -> int:
        """Delete the stored responses of finished runs older than `before`; returns rows deleted."""
        old = select(InstructionRun.id).where(
            InstructionRun.tenant_id == tenant_id, InstructionRun.state.in_(list(finished)),
            func.coalesce(InstructionRun.finished_at, InstructionRun.created_at) < before,
            InstructionRun.responses_purged.is_(False))
        ids = list((await self.s.execute(old)).scalars().all())
        if not ids:
            return 0
        result = await self.s.execute(delete(InstructionResponse).where(
            InstructionResponse.run_id.in_(ids)))
        await self.s.execute(update(InstructionRun).where(InstructionRun.id.in_(ids)).values(
            responses_purged=True))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_history(self, tenant_id: int, before: datetime, finished: Sequence[str]) -> int:
        """Delete finished runs (their requests, cards and responses cascade) older than `before`."""
        ids = list((await self.s.execute(select(InstructionRun.id).where(
            InstructionRun.tenant_id == tenant_id, InstructionRun.state.in_(list(finished)),
            InstructionRun.created_at < before))).scalars().all())
        if not ids:
            return 0
        for table in (InstructionResponse, WorkflowCard, ApprovalRequest, InstructionRunTargets):
            await self.s.execute(delete(table).where(table.run_id.in_(ids)))
        await self.s.execute(delete(InstructionRun).where(InstructionRun.id.in_(ids)))
        return len(ids)


class ApprovalRepo(_Repo):
    async def add(self, row: ApprovalRequest) -> ApprovalRequest:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, request_id: int) -> ApprovalRequest | None:
        row = await self.s.get(ApprovalRequest, request_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def for_run(self, run_id: int) -> ApprovalRequest | None:
        q = select(ApprovalRequest).where(ApprovalRequest.run_id == run_id).execution_options(
            populate_existing=True)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def for_runs(self, run_ids: Sequence[int]) -> dict[int, ApprovalRequest]:
        if not run_ids:
            return {}
        q = select(ApprovalRequest).where(ApprovalRequest.run_id.in_(list(run_ids)))
        return {r.run_id: r for r in (await self.s.execute(q)).scalars().all()}

    async def decide(self, request_id: int, state: str, **values: Any) -> bool:
        """pending -> `state`, only while pending and not yet expired: one winner per request."""
        result = await self.s.execute(update(ApprovalRequest).where(
            ApprovalRequest.id == request_id, ApprovalRequest.state == "pending",
            ApprovalRequest.expires_at > utcnow()).values(state=state, decided_at=utcnow(), **values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def expire(self, request_id: int) -> bool:
        result = await self.s.execute(update(ApprovalRequest).where(
            ApprovalRequest.id == request_id, ApprovalRequest.state == "pending",
            ApprovalRequest.expires_at <= utcnow()).values(state="expired", decided_at=utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def overdue(self, limit: int = 100) -> Sequence[ApprovalRequest]:
        q = (select(ApprovalRequest).where(ApprovalRequest.state == "pending",
                                           ApprovalRequest.expires_at <= utcnow())
             .order_by(ApprovalRequest.expires_at).limit(limit))
        return (await self.s.execute(q)).scalars().all()


class WorkflowCardRepo(_Repo):
    async def add(self, tenant_id: int, run_id: int, audience: str, platform: str, channel: str,
                  message_id: str, extra: dict[str, Any]) -> None:
        self.s.add(WorkflowCard(tenant_id=tenant_id, run_id=run_id, audience=audience,
                                platform=platform, channel=channel, message_id=message_id,
                                extra=extra))
        await self.s.flush()

    async def for_run(self, run_id: int) -> Sequence[WorkflowCard]:
        q = select(WorkflowCard).where(WorkflowCard.run_id == run_id).order_by(WorkflowCard.id)
        return (await self.s.execute(q)).scalars().all()
