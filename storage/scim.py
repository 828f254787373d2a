"""SCIM provisioning: each tenant's bearer token (hashed) and the queries the SCIM server asks of
the directory (storage/directory.py): pages of users and groups matching `eq` terms, members and
memberships, and the row lock every SCIM write takes.

Equality terms come already checked by handlers/scim/filters.py; `userName` and `emails.value`
compare case-insensitively (RFC 7643 caseExact false), the rest exactly. Pages are ordered by id,
so an IdP paging with startIndex sees a stable list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    String,
    column,
    delete,
    exists,
    false,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow
from storage.directory import DirectoryGroup, GroupMembership, PrincipalRow


class Term(NamedTuple):
    """`attr eq value`; for `emails[type eq "work"].value eq value`, `email_type` is "work"."""

    attr: str
    value: str
    email_type: str | None = None


Terms = Sequence[Term]


class Member(NamedTuple):
    """A group member as SCIM shows it: no more is loaded (a group may have thousands)."""

    id: int
    email: str


class ScimToken(Base):
    """The one bearer token a tenant's IdP provisions with; only its SHA-256 is kept."""

    __tablename__ = "scim_tokens"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)


def our_id(value: str) -> int | None:
    """One of our row ids as SCIM sends it back (ASCII digits, at most 12); None for anything
    else ("²" is a digit to isdigit, and 30 digits overflow the database's integers)."""
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 12 else None


def _typed_email(dialect: str, email_type: str, value: str) -> ColumnElement[bool]:
    """The resource as sent lists `value` as an email of `email_type` (both case-insensitive)."""
    element = column("value", JSON)
    if dialect == "postgresql":
        emails = func.json_array_elements(PrincipalRow.scim["emails"]).table_valued(element)
    else:
        emails = func.json_each(PrincipalRow.scim, "$.emails").table_valued(element)
    return exists(select(1).select_from(emails).where(
        func.lower(emails.c.value["type"].as_string()) == email_type.lower(),
        func.lower(emails.c.value["value"].as_string()) == value.lower()))


def _user_term(dialect: str, term: Term) -> ColumnElement[bool]:
    name, value = term.attr, term.value
    if name == "id":
        found = our_id(value)
        return PrincipalRow.id == found if found is not None else false()
    if name == "userName":
        return PrincipalRow.user_name == value.lower()
    if name == "emails.value":
        # The email deskhand keeps (unique in the tenant, indexed); a type must also match the
        # resource as sent.
        kept = PrincipalRow.email == value.lower()
        if term.email_type is None:
            return kept
        return kept & _typed_email(dialect, term.email_type, value)
    if name == "externalId":
        return PrincipalRow.external_id == value
    if name == "displayName":
        return PrincipalRow.display_name == value
    raise ValueError(f"no user term {name}")


def _group_term(term: Term) -> ColumnElement[bool]:
    name, value = term.attr, term.value
    if name == "id":
        found = our_id(value)
        return DirectoryGroup.id == found if found is not None else false()
    if name == "displayName":
        return func.lower(DirectoryGroup.display_name) == value.lower()
    if name == "externalId":
        return DirectoryGroup.external_id == value
    if name == "members.value":
        member = our_id(value)
        if member is None:
            return false()
        return DirectoryGroup.id.in_(select(GroupMembership.group_id)
                                     .where(GroupMembership.principal_id == member))
    raise ValueError(f"no group term {name}")


class ScimRepo(Repo):
    async def token_of(self, tenant_id: int) -> ScimToken | None:
        return await self.s.get(ScimToken, tenant_id)

    async def tenant_by_secret(self, secret_hash: str) -> int | None:
        q = select(ScimToken.tenant_id).where(ScimToken.secret_hash == secret_hash)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def put_token(self, tenant_id: int, secret_hash: str) -> ScimToken:
        row = await self.token_of(tenant_id)
        if row is None:
            row = ScimToken(tenant_id=tenant_id, secret_hash=secret_hash)
            self.s.add(row)
        else:
            row.secret_hash, row.rotated_at = secret_hash, utcnow()
        await self.s.flush()
        return row

    @property
    def _dialect(self) -> str:
        return self.s.get_bind().dialect.name

    async def _get(self, model: type[PrincipalRow] | type[DirectoryGroup], row_id: int,
                   lock: bool) -> Any:
        """The row, fresh; with `lock`, held until the transaction ends, so a read-modify-write
        cannot lose a concurrent one. PostgreSQL locks the row (FOR NO KEY UPDATE: adding a
        membership that refers to it is not held up). SQLite has one writer, and a SELECT there
        takes no lock, so a write that changes nothing comes first: it waits for the write lock
        (busy_timeout) and holds it, and the read after it sees the latest commit."""
        if not lock:
            return await self.s.get(model, row_id, populate_existing=True)
        if self._dialect == "postgresql":
            return await self.s.get(model, row_id, populate_existing=True,
                                    with_for_update={"key_share": True})
        await self.s.execute(update(model).where(model.id == row_id)
                             .values(display_name=model.display_name)
                             .execution_options(synchronize_session=False))
        return await self.s.get(model, row_id, populate_existing=True)

    async def users(self, tenant_id: int, terms: Terms, start: int,
                    count: int) -> tuple[int, Sequence[PrincipalRow]]:
        """(total, one page) of the tenant's SCIM users matching every term; `start` is 0-based."""
        where = [PrincipalRow.tenant_id == tenant_id, PrincipalRow.user_name.is_not(None),
                 *(_user_term(self._dialect, t) for t in terms)]
        total = (await self.s.execute(select(func.count()).select_from(PrincipalRow)
                                      .where(*where))).scalar_one()
        if count <= 0 or start >= total:
            return total, []
        q = select(PrincipalRow).where(*where).order_by(PrincipalRow.id).offset(start).limit(count)
        return total, (await self.s.execute(q)).scalars().all()

    async def user(self, tenant_id: int, principal_id: int, *,
                   lock: bool = False) -> PrincipalRow | None:
        row: PrincipalRow | None = await self._get(PrincipalRow, principal_id, lock)
        ok = row is not None and row.tenant_id == tenant_id and row.user_name is not None
        return row if ok else None

    async def adopt(self, tenant_id: int, principal_id: int, user_name: str) -> bool:
        """Make a person no SCIM user is yet that user, in one conditional write: of two
        requests adopting the same person at once only one does (the other finds it taken).
        PostgreSQL re-checks the condition once the first commits; SQLite's one writer runs
        the write after the first's commit."""
        done = await self.s.execute(
            update(PrincipalRow)
            .where(PrincipalRow.id == principal_id, PrincipalRow.tenant_id == tenant_id,
                   PrincipalRow.user_name.is_(None))
            .values(user_name=user_name.strip().lower())
            .execution_options(synchronize_session=False))
        return bool(getattr(done, "rowcount", 0) == 1)

    async def by_user_name(self, tenant_id: int, user_name: str) -> PrincipalRow | None:
        q = select(PrincipalRow).where(PrincipalRow.tenant_id == tenant_id,
                                       PrincipalRow.user_name == user_name.lower())
        return (await self.s.execute(q)).scalar_one_or_none()

    async def groups(self, tenant_id: int, terms: Terms, start: int,
                     count: int) -> tuple[int, Sequence[DirectoryGroup]]:
        where = [DirectoryGroup.tenant_id == tenant_id, DirectoryGroup.scim.is_(True),
                 *(_group_term(t) for t in terms)]
        total = (await self.s.execute(select(func.count()).select_from(DirectoryGroup)
                                      .where(*where))).scalar_one()
        if count <= 0 or start >= total:
            return total, []
        q = select(DirectoryGroup).where(*where).order_by(DirectoryGroup.id).offset(start).limit(count)
        return total, (await self.s.execute(q)).scalars().all()

    async def group(self, tenant_id: int, group_id: int, *,
                    lock: bool = False) -> DirectoryGroup | None:
        row: DirectoryGroup | None = await self._get(DirectoryGroup, group_id, lock)
        return row if row is not None and row.tenant_id == tenant_id and row.scim else None

    async def members(self, group_ids: Iterable[int]) -> dict[int, list[Member]]:
        """Each group's members (SCIM users only), in id order."""
        ids = list(group_ids)
        out: dict[int, list[Member]] = {g: [] for g in ids}
        if not ids:
            return out
        q = (select(GroupMembership.group_id, PrincipalRow.id, PrincipalRow.email)
             .join(PrincipalRow, PrincipalRow.id == GroupMembership.principal_id)
             .where(GroupMembership.group_id.in_(ids), PrincipalRow.user_name.is_not(None))
             .order_by(PrincipalRow.id))
        for group_id, principal_id, email in (await self.s.execute(q)).all():
            out[group_id].append(Member(principal_id, email))
        return out

    async def groups_of(self, principal_ids: Iterable[int]) -> dict[int, list[DirectoryGroup]]:
        """Each user's SCIM groups (the only groups SCIM sees), in id order."""
        ids = list(principal_ids)
        out: dict[int, list[DirectoryGroup]] = {p: [] for p in ids}
        if not ids:
            return out
        q = (select(GroupMembership.principal_id, DirectoryGroup)
             .join(DirectoryGroup, DirectoryGroup.id == GroupMembership.group_id)
             .where(GroupMembership.principal_id.in_(ids), DirectoryGroup.scim.is_(True))
             .order_by(DirectoryGroup.id))
        for principal_id, group in (await self.s.execute(q)).all():
            out[principal_id].append(group)
        return out

    async def known_users(self, tenant_id: int, ids: Iterable[int]) -> dict[int, str]:
        """Which of these ids are SCIM users of the tenant (a member must be one): their emails."""
        wanted = set(ids)
        if not wanted:
            return {}
        q = select(PrincipalRow.id, PrincipalRow.email).where(
            PrincipalRow.tenant_id == tenant_id, PrincipalRow.id.in_(wanted),
            PrincipalRow.user_name.is_not(None))
        return {pid: email for pid, email in (await self.s.execute(q)).all()}

    async def set_members(self, group_id: int, principal_ids: Iterable[int],
                          current: Iterable[int] | None = None) -> None:
        """Make the group's SCIM members exactly these (members added by hand stay); `current`,
        the SCIM members the caller already loaded under the group's lock."""
        wanted = set(principal_ids)
        if current is None:
            current = (p.id for p in (await self.members([group_id]))[group_id])
        now = set(current)
        if gone := now - wanted:
            await self.s.execute(delete(GroupMembership).where(
                GroupMembership.group_id == group_id, GroupMembership.principal_id.in_(gone)))
        for pid in sorted(wanted - now):
            self.s.add(GroupMembership(group_id=group_id, principal_id=pid))
        await self.s.flush()

    async def leave_all(self, principal_id: int) -> None:
        await self.s.execute(delete(GroupMembership).where(
            GroupMembership.principal_id == principal_id))

    async def delete_group(self, group: DirectoryGroup) -> None:
        await self.s.delete(group)
        await self.s.flush()

    async def add_group(self, tenant_id: int, name: str, external_id: str | None) -> DirectoryGroup:
        row = DirectoryGroup(tenant_id=tenant_id, display_name=name, external_id=external_id,
                             scim=True)
        self.s.add(row)
        await self.s.flush()
        return row

    async def group_named(self, tenant_id: int, name: str) -> DirectoryGroup | None:
        q = select(DirectoryGroup).where(DirectoryGroup.tenant_id == tenant_id,
                                         func.lower(DirectoryGroup.display_name) == name.lower())
        return (await self.s.execute(q)).scalar_one_or_none()
