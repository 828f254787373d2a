"""Expiry reminders: who is due a mark, the once-only claim of each mark, and how far sweeps got.

A reminder is claimed by inserting its (kind, subject id, days) row before it is posted: the
primary key lets exactly one process win, across restarts and replicas. The due queries read
only the rows whose expiry crossed a mark since the last sweep, through the (state, expiry)
indexes of the subjects' tables: never a scan of every row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, bindparam, select, union_all
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, UTCDateTime, utcnow
from storage.certificates import IdpCertificate
from storage.tokens import DataAccessToken


class ReminderClaim(Base):
    """One row per reminder posted (or being posted): (kind, subject id, days before expiry)."""

    __tablename__ = "reminder_claims"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderSweep(Base):
    """How far the sweeps of one kind got for a tenant: the next sweep looks from there on."""

    __tablename__ = "reminder_sweeps"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    swept_to: Mapped[datetime]


@dataclass(frozen=True)
class Expiring:
    """A subject whose expiry crossed a mark: plain values, safe outside the session."""

    id: int
    tenant_id: int
    name: str
    expires_at: datetime
    owner_id: int | None = None  # whom a personal reminder goes to (a token's creator)


TOKEN_STATES = ("pending", "active")
CERTIFICATE_STATES = ("active",)  # see docs/reminders.md: only the one deskhand signs with


@functools.cache
def _due(kind: str, marks: int) -> Any:
    """The due query of a kind for `marks` marks, built once: a UNION ALL of index ranges with
    bound values, so SQLAlchemy reuses its compiled form (this runs every few minutes)."""
    if kind == "token":
        t = DataAccessToken
        columns: tuple[Any, ...] = (t.id, t.tenant_id, t.name, t.expires_at, t.created_by_id)
        state, expiry, tenant = t.state.in_(TOKEN_STATES), t.expires_at, t.tenant_id
    else:
        c = IdpCertificate
        columns = (c.id, c.tenant_id, c.thumbprint, c.not_after)
        state, expiry, tenant = c.state.in_(CERTIFICATE_STATES), c.not_after, c.tenant_id
    ranges = [select(*columns).where(state, tenant == bindparam("tenant"),
                                     expiry > bindparam(f"low{i}", type_=UTCDateTime()),
                                     expiry <= bindparam(f"high{i}", type_=UTCDateTime()))
              for i in range(marks)]
    return ranges[0] if marks == 1 else union_all(*ranges)


class ReminderRepo(Repo):
    async def claim(self, tenant_id: int, kind: str, subject_id: int, days: int,
                    holder: str) -> bool:
        """True for exactly one caller per (kind, subject, days), across processes."""
        stmt = self.insert(ReminderClaim).values(
            kind=kind, subject_id=subject_id, days=days, tenant_id=tenant_id, holder=holder,
            claimed_at=utcnow()).on_conflict_do_nothing(
            index_elements=["kind", "subject_id", "days"])
        return bool((await self.s.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def claimed(self, kind: str, subject_id: int) -> list[int]:
        q = select(ReminderClaim.days).where(ReminderClaim.kind == kind,
                                             ReminderClaim.subject_id == subject_id)
        return sorted((await self.s.execute(q)).scalars().all())

    async def swept_to(self, tenant_id: int, kind: str) -> datetime | None:
        row = await self.s.get(ReminderSweep, (tenant_id, kind))
        return row.swept_to if row is not None else None

    async def advance(self, tenant_id: int, kind: str, to: datetime) -> None:
        """Move the mark forward only: a process with a slower clock never moves it back."""
        row = await self.s.get(ReminderSweep, (tenant_id, kind), with_for_update=True)
        if row is None:
            stmt = self.insert(ReminderSweep).values(tenant_id=tenant_id, kind=kind, swept_to=to)
            await self.s.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "kind"]))
        elif row.swept_to < to:
            row.swept_to = to
        await self.s.flush()

    async def _crossed(self, kind: str, tenant_id: int, since: datetime | None, now: datetime,
                       days: Sequence[int]) -> list[Any]:
        """Rows whose expiry minus a mark fell in (since, now], and not yet expired: one range
        of the (state, expiry) index per mark, in one statement."""
        values: dict[str, Any] = {"tenant": tenant_id}
        for i, d in enumerate(days):
            values[f"low{i}"] = now if since is None else max(now, since + timedelta(days=d))
            values[f"high{i}"] = now + timedelta(days=d)  # an empty range costs one index seek
        rows = (await self.s.execute(_due(kind, len(days)), values)).all()
        return list({row[0]: row for row in rows}.values())  # a row in two ranges counts once

    async def tokens_crossing(self, tenant_id: int, since: datetime | None, now: datetime,
                              days: Sequence[int]) -> list[Expiring]:
        rows = await self._crossed("token", tenant_id, since, now, days)
        return [Expiring(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def certificates_crossing(self, tenant_id: int, since: datetime | None, now: datetime,
                                    days: Sequence[int]) -> list[Expiring]:
        rows = await self._crossed("certificate", tenant_id, since, now, days)
        return [Expiring(r[0], r[1], r[2], r[3]) for r in rows]

    async def successor(self, tenant_id: int) -> str | None:
        """The thumbprint of the newest available certificate, to activate next."""
        c = IdpCertificate
        q = (select(c.thumbprint).where(c.tenant_id == tenant_id, c.state == "available")
             .order_by(c.not_after.desc()).limit(1))
        return (await self.s.execute(q)).scalar_one_or_none()
