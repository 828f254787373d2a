"""1E instructions: the cached catalogue, runs, their targets and stored responses.

Runs move by compare-and-set transitions under per-run leases; history is paged by keyset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId, Repo, utcnow
from storage.devices import Device, ManagementGroup
from storage.response_pages import insert_page


class InstructionDefinitionRow(Base):
    """The tenant's copy of the 1E instruction catalogue, refreshed by the sync job."""

    __tablename__ = "instruction_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    readable_payload: Mapped[str] = mapped_column(String(1000), default="")
    kind: Mapped[str] = mapped_column(String(16))  # question | action
    instruction_set: Mapped[str] = mapped_column(String(200), default="")
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)  # the response schema
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstructionRun(Base):
    """One `run`: requested -> awaiting_approval -> approved -> sent -> in_progress -> completed
    | failed | expired | cancelled | denied. Every transition is a compare-and-set on `state`;
    `lease_*` names the one process driving it, `issue_attempts` > 0 means Tachyon may already
    hold it (found again by ConsumerCustomData before any re-issue)."""

    __tablename__ = "instruction_runs"
    __table_args__ = ({"sqlite_autoincrement": True},)  # run 42 stays run 42 after retention
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    definition_name: Mapped[str] = mapped_column(String(200), index=True)
    definition_vendor_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    instruction_set: Mapped[str] = mapped_column(String(200), default="")
    readable_payload: Mapped[str] = mapped_column(String(1000), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_label: Mapped[str] = mapped_column(String(300))
    target_count: Mapped[int] = mapped_column(Integer, default=0)
    target_group: Mapped[str | None] = mapped_column(String(200), default=None)  # `group:` runs
    # Set when 1E gets a scope expression instead of the FQDN list (a linked group).
    vendor_scope: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    incident: Mapped[str | None] = mapped_column(String(64), default=None)
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), index=True, default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    vendor_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    vendor_status: Mapped[int | None] = mapped_column(Integer, default=None)
    issue_attempts: Mapped[int] = mapped_column(Integer, default=0)
    vendor_approval_tried: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    outstanding_count: Mapped[int] = mapped_column(Integer, default=0)
    # 1E's statistics: TotalErrorRespondents, TotalSuccessNoData..., TotalNotImplemented...
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    no_data_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_implemented_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Rows stored, by kind: answers, then 1E's other responses (errors are Status 2 or unknown).
    answers_stored: Mapped[int] = mapped_column(Integer, default=0)
    errors_stored: Mapped[int] = mapped_column(Integer, default=0)
    no_data_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_implemented_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    too_large_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answer_cursor: Mapped[str] = mapped_column(String(200), default="0;0")
    error_cursor: Mapped[str] = mapped_column(String(200), default="0;0")
    gather_minutes: Mapped[int] = mapped_column(Integer, default=60)
    keep_minutes: Mapped[int] = mapped_column(Integer, default=120)
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True, default=None)
    lease_holder: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive vendor failures
    last_error: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(500), default="")
    reply_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    correlation_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_by: Mapped[str | None] = mapped_column(String(320), default=None)
    responses_purged: Mapped[bool] = mapped_column(Boolean, default=False)

    def stored(self, kind: int) -> int:
        """Rows stored of one `InstructionResponse.kind`."""
        return int(getattr(self, STORED[kind]))

    @property
    def others_stored(self) -> int:
        return sum(self.stored(k) for k in OTHER_KINDS)


# InstructionResponse.kind: 0 an answer row; else the Status of 1E's other response (1 no data,
# 2 error, 3 not implemented, 4 too large), an unknown Status stored as 2 with its number in values.
ANSWER, NO_DATA, ERROR, NOT_IMPLEMENTED, TOO_LARGE = range(5)
OTHER_KINDS = (ERROR, NO_DATA, NOT_IMPLEMENTED, TOO_LARGE)
STORED = {ANSWER: "answers_stored", NO_DATA: "no_data_stored", ERROR: "errors_stored",
          NOT_IMPLEMENTED: "not_implemented_stored", TOO_LARGE: "too_large_stored"}


class InstructionRunTargets(Base):
    """A run's devices, apart from the run row: 50,000 of them are megabytes, and the run row is
    rewritten on every poll (SQLite rewrites a whole row on UPDATE)."""

    __tablename__ = "instruction_run_targets"
    run_id: Mapped[int] = mapped_column(
        ForeignKey("instruction_runs.id", ondelete="CASCADE"), primary_key=True)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # name, fqdn, group
    search: Mapped[str] = mapped_column(Text, default="")  # ",pc-0001,pc-0001.corp...," for LIKE


class InstructionResponse(Base):
    """One device's answer row, or its other response (`is_error`), to a run; paged by keyset
    on (run_id, is_error, id), and one kind of other response on (run_id, kind, id)."""

    __tablename__ = "instruction_responses"
    __table_args__ = (Index("ix_instruction_responses_page", "run_id", "is_error", "id"),
                      Index("ix_instruction_responses_kind", "run_id", "kind", "id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("instruction_runs.id", ondelete="CASCADE"))
    is_error: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[int] = mapped_column(Integer, default=ANSWER, server_default="0")
    fqdn: Mapped[str] = mapped_column(String(255))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    responded_at: Mapped[datetime | None] = mapped_column(default=None)


class CatalogueRepo(Repo):
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

    async def instruction_sets(self, tenant_id: int) -> list[str]:
        """The named sets of the cached definitions, sorted (a definition may have no set)."""
        q = select(InstructionDefinitionRow.instruction_set).distinct().where(
            InstructionDefinitionRow.tenant_id == tenant_id, InstructionDefinitionRow.instruction_set != "")
        return sorted((await self.s.execute(q)).scalars().all(), key=str.lower)

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


class InstructionRunRepo(Repo):
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

    async def next_due(self, states: Sequence[str]) -> datetime | None:
        """When the first run in `states`, of any tenant, is next due (its poll time, or its
        lease's end if later); None when there is none."""
        q = select(InstructionRun.next_poll_at, InstructionRun.lease_until).where(
            InstructionRun.state.in_(list(states)))
        now = utcnow()
        times = [max(poll or now, lease or now) for poll, lease in await self.s.execute(q)]
        return min(times, default=None)

    async def store_batch(self, run_id: int, is_error: bool, start: str, cursor: str,
                          rows: Sequence[dict[str, Any]]) -> bool:
        """Insert one fetched page and move the cursor on, as one compare-and-set.

        False (nothing written) when the cursor moved since `start` was read: another process
        stored this page already, so a page is never stored twice. Each row of other responses
        names its `kind`.
        """
        counts = Counter(int(r.get("kind", ANSWER)) for r in rows)
        if not await self._advance(run_id, is_error, start, cursor, counts):
            return False
        if rows:  # Core executemany on the table: no ORM bookkeeping for thousands of rows
            await self.s.execute(insert(cast(Table, InstructionResponse.__table__)), [
                {"run_id": run_id, "is_error": is_error, **r} for r in rows])
        return True

    async def store_page_json(self, run_id: int, is_error: bool, start: str, cursor: str,
                              page_json: str, counts: Mapping[int, int]) -> bool | None:
        """`store_batch` for a page still in 1E's JSON (`counts` rows of each kind), read by the
        database in one statement (storage/response_pages.py); None when this database has no
        such statement."""
        statement = insert_page(self.s.get_bind().dialect.name, is_error)
        if statement is None:
            return None
        if not await self._advance(run_id, is_error, start, cursor, counts):
            return False
        await self.s.execute(statement, {"run_id": run_id, "is_error": is_error, "page": page_json})
        return True

    async def _advance(self, run_id: int, is_error: bool, start: str, cursor: str,
                       counts: Mapping[int, int]) -> bool:
        column = InstructionRun.error_cursor if is_error else InstructionRun.answer_cursor
        values: dict[Any, Any] = {column: cursor}
        for kind, count in counts.items():
            counter = getattr(InstructionRun, STORED[kind])
            values[counter] = counter + count
        result = await self.s.execute(update(InstructionRun).where(
            InstructionRun.id == run_id, column == start).values(values))
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
                        limit: int, *, kind: int | None = None) -> Sequence[InstructionResponse]:
        """Answer rows, or other responses (`is_error`), of one `kind` when given; keyset on id."""
        q = select(InstructionResponse).where(InstructionResponse.run_id == run_id)
        q = (q.where(InstructionResponse.is_error.is_(is_error)) if kind is None
             else q.where(InstructionResponse.kind == kind))
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

    async def purge_history(self, tenant_id: int, before: datetime,
                            finished: Sequence[str]) -> list[int]:
        """Delete finished runs (targets and responses with them) older than `before`; returns
        their ids, so their approval requests and card copies can go too (storage/workflow.py)."""
        ids = list((await self.s.execute(select(InstructionRun.id).where(
            InstructionRun.tenant_id == tenant_id, InstructionRun.state.in_(list(finished)),
            InstructionRun.created_at < before))).scalars().all())
        if not ids:
            return []
        for table in (InstructionResponse, InstructionRunTargets):
            await self.s.execute(delete(table).where(table.run_id.in_(ids)))
        await self.s.execute(delete(InstructionRun).where(InstructionRun.id.in_(ids)))
        return ids
