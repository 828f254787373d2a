"""Queries over the directory's tables for administering people: chat links by tenant, and
group memberships set as a whole (the CSV import). The tables live in storage/directory.py."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, or_, select

from storage.base import Repo
from storage.directory import ChatIdentity, DirectoryGroup, GroupMembership, PrincipalRow


class PeopleRepo(Repo):
    async def links(self, tenant_id: int, principal_id: int | None = None,
                    limit: int = 200) -> Sequence[tuple[ChatIdentity, PrincipalRow]]:
        """Chat accounts and whom they link to, in one tenant (one person's if given)."""
        q = (select(ChatIdentity, PrincipalRow)
             .join(PrincipalRow, PrincipalRow.id == ChatIdentity.principal_id)
             .where(ChatIdentity.tenant_id == tenant_id, PrincipalRow.tenant_id == tenant_id))
        if principal_id is not None:
            q = q.where(ChatIdentity.principal_id == principal_id)
        q = q.order_by(PrincipalRow.email, ChatIdentity.platform, ChatIdentity.id).limit(limit)
        return [(i, p) for i, p in (await self.s.execute(q)).all()]

    async def workspace_links(self, platform: str, workspaces: Sequence[str],
                              org: str = "") -> Sequence[ChatIdentity]:
        """Every tenant's links of accounts in these workspaces (Slack team ids, Microsoft 365
        tenants), and of the accounts seen in the Enterprise Grid org `org`."""
        where: ColumnElement[bool] = ChatIdentity.platform_tenant.in_(list(workspaces))
        if org:
            where = or_(where, ChatIdentity.platform_org == org)
        q = select(ChatIdentity).where(ChatIdentity.platform == platform, where)
        return (await self.s.execute(q.order_by(ChatIdentity.id))).scalars().all()

    async def org_of_team(self, team: str) -> str | None:
        """The Enterprise Grid org a Slack workspace's accounts were last seen in ("" for none);
        None when no request of it said."""
        q = (select(ChatIdentity.platform_org)
             .where(ChatIdentity.platform == "slack", ChatIdentity.platform_tenant == team,
                    ChatIdentity.platform_org.is_not(None))
             .order_by(ChatIdentity.id.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()

    async def unlink(self, identity_id: int) -> None:
        await self.s.execute(delete(ChatIdentity).where(ChatIdentity.id == identity_id))

    async def add_principal(self, tenant_id: int, email: str, display_name: str) -> PrincipalRow:
        row = PrincipalRow(tenant_id=tenant_id, email=email.strip().lower(),
                           display_name=display_name, active=True)
        self.s.add(row)
        await self.s.flush()
        return row

    async def all_by_email(self, tenant_id: int) -> dict[str, PrincipalRow]:
        q = select(PrincipalRow).where(PrincipalRow.tenant_id == tenant_id)
        return {p.email: p for p in (await self.s.execute(q)).scalars().all()}

    async def groups_by_name(self, tenant_id: int) -> dict[str, DirectoryGroup]:
        """Every directory group of the tenant by its lower-cased name."""
        q = select(DirectoryGroup).where(DirectoryGroup.tenant_id == tenant_id)
        return {g.display_name.lower(): g for g in (await self.s.execute(q)).scalars().all()}

    async def memberships(self, tenant_id: int) -> dict[int, set[int]]:
        """principal id -> the ids of their directory groups, for the whole tenant at once."""
        q = (select(GroupMembership.principal_id, GroupMembership.group_id)
             .join(DirectoryGroup, DirectoryGroup.id == GroupMembership.group_id)
             .where(DirectoryGroup.tenant_id == tenant_id))
        found: dict[int, set[int]] = {}
        for principal_id, group_id in (await self.s.execute(q)).all():
            found.setdefault(principal_id, set()).add(group_id)
        return found

    async def remove_member(self, group_id: int, principal_id: int) -> None:
        await self.s.execute(delete(GroupMembership).where(
            GroupMembership.group_id == group_id, GroupMembership.principal_id == principal_id))
