"""The directory: principals, their linked chat accounts, directory groups and memberships.

A principal provisioned by SCIM (handlers/scim) has a `user_name` (its lower-cased userName, unique
in the tenant) and keeps the resource as the IdP last sent it in `scim`; the SCIM queries are in
storage/scim.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class PrincipalRow(Base):
    __tablename__ = "principals"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),
                      Index("ix_principals_tenant_user_name", "tenant_id", "user_name", unique=True))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)  # the IdP's id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_name: Mapped[str | None] = mapped_column(String(320), default=None)  # SCIM, lower-case
    scim: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # as the IdP sent it
    updated_at: Mapped[datetime | None] = mapped_column(default=None)


class ChatIdentity(Base):
    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "platform_tenant", "platform_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_tenant: Mapped[str] = mapped_column(String(100))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    display: Mapped[str] = mapped_column(String(200), default="")
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The Enterprise Grid org the account's requests carried (Slack; "" for none), so that the
    # tenant its workspace belongs to can be told without a request (bot/tenancy.py); None: no
    # request said (linked by hand, or before deskhand kept it).
    platform_org: Mapped[str | None] = mapped_column(String(100), default=None)


class DirectoryGroup(Base):
    __tablename__ = "directory_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "display_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # Made by the IdP through SCIM: the only groups SCIM may see, change or delete (a group
    # made by hand, with an administrator role bound to it, stays out of the IdP's reach).
    scim: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# Names are compared without case (group_by_name, SCIM's uniqueness); so is the constraint, so
# that two racing requests cannot both make "Ops" and "OPS".
Index("uq_directory_groups_tenant_lower_name", DirectoryGroup.tenant_id,
      func.lower(DirectoryGroup.display_name), unique=True)


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True, index=True)


class DirectoryRepo(Repo):
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

    async def linked(self, platform: str, platform_tenant: str,
                     user_id: str) -> tuple[ChatIdentity, PrincipalRow] | None:
        """A chat account's link and its principal, in one statement (every command asks)."""
        q = (select(ChatIdentity, PrincipalRow)
             .join(PrincipalRow, ChatIdentity.principal_id == PrincipalRow.id)
             .where(ChatIdentity.platform == platform, ChatIdentity.platform_tenant == platform_tenant,
                    ChatIdentity.platform_user_id == user_id))
        found = (await self.s.execute(q)).first()
        return (found[0], found[1]) if found is not None else None

    async def identity(self, platform: str, platform_tenant: str, user_id: str) -> ChatIdentity | None:
        q = select(ChatIdentity).where(
            ChatIdentity.platform == platform, ChatIdentity.platform_tenant == platform_tenant,
            ChatIdentity.platform_user_id == user_id)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def link_identity(
        self, tenant_id: int, principal_id: int, platform: str, platform_tenant: str,
        user_id: str, display: str = "", org: str | None = None,
    ) -> ChatIdentity:
        """Link an account; `org`: the Enterprise Grid org its request carried ("" for none),
        None when no request says (a link made by hand)."""
        row = await self.identity(platform, platform_tenant, user_id)
        if row is None:
            row = ChatIdentity(tenant_id=tenant_id, principal_id=principal_id, platform=platform,
                               platform_tenant=platform_tenant, platform_user_id=user_id,
                               display=display, platform_org=org)
            self.s.add(row)
        else:
            row.principal_id, row.display = principal_id, display or row.display
            row.platform_org = row.platform_org if org is None else org
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
