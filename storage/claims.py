"""Job claims: a lease for recurring jobs, a once-only claim for events, across processes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, or_, update
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class JobClaim(Base):
    """One row per (job, key): a lease for recurring jobs, a once-only claim for events."""

    __tablename__ = "job_claims"
    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class ClaimRepo(Repo):
    async def claim_once(self, job: str, key: str, holder: str) -> bool:
        """True for exactly one caller per (job, key), across processes and replicas."""
        stmt = self.insert(JobClaim).values(job=job, key=key, holder=holder, claimed_at=utcnow())
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
        stmt = self.insert(JobClaim).values(job=job, key=key, holder=holder, claimed_at=now,
                                     lease_until=until)
        result = await self.s.execute(stmt.on_conflict_do_nothing(index_elements=["job", "key"]))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, job: str, key: str, holder: str) -> None:
        await self.s.execute(delete(JobClaim).where(
            JobClaim.job == job, JobClaim.key == key, JobClaim.holder == holder))

    async def prune(self, job: str, before: datetime) -> int:
        """Delete `job`'s claims made before `before`: once-only claims whose key can never come
        again (a past period's), and leases that lapsed before then (their holder died)."""
        result = await self.s.execute(delete(JobClaim).where(
            JobClaim.job == job, JobClaim.claimed_at < before,
            or_(JobClaim.lease_until.is_(None), JobClaim.lease_until < before)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
