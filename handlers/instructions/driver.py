"""The run driver: issues approved runs to 1E, polls them, stores their responses, ends them.

One process drives a run at a time (a lease on the row, renewed while it works); a run whose
driver died is picked up when the lease lapses. Responses are stored page by page together
with the page cursor, as one compare-and-set, so a restart resumes exactly where it stopped.
An issue is counted before the POST leaves; a run with attempts behind it first looks for its
ConsumerCustomData in 1E, so a crash between POST and commit never issues twice. A run that
ends is announced (states.RUN_FINISHED) to whoever listens.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import handlers.instructions.states as states
from bot.card_copies import refresh
from bot.events import listening, publish
from bot.tasks import Tasks
from handlers.instructions.cards import RUN
from handlers.instructions.config import InstructionSettings
from handlers.instructions.pages import PageStore
from handlers.instructions.states import RUNS
from handlers.instructions.vendor import NOT_CONFIGURED, tachyon
from integrations.http import Cause, VendorError
from integrations.tachyon.client import TachyonClient
from integrations.tachyon.status import InstructionStatus, Statistics, Status
from storage.instructions import InstructionRunRepo
from storage.tenants import TenantRepo
from storage.workflow import ApprovalRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from storage.instructions import InstructionRun

log = logging.getLogger("deskhand.workflows")
MAX_FAILURES = 40  # consecutive vendor failures before a run is given up
GRACE = timedelta(minutes=15)  # past the gather window, a run 1E never ended is closed anyway
STOP_SECONDS = 10.0  # stopping waits this long for drives in flight, then cancels them
TICK = "instructions.poll"  # the job that drives due runs (handlers/instructions/jobs.py)


def custom_data(run: InstructionRun) -> str:
    """ConsumerCustomData: finds this run's instruction in 1E again after a restart."""
    return f"deskhand:run:{run.id}:{run.correlation_id}"


def lease_ttl(settings: InstructionSettings) -> timedelta:
    return timedelta(seconds=max(10, 4 * settings.status_wait_seconds))


def driver(runtime: Runtime) -> Driver:
    """The runtime's driver (a service the capability declares)."""
    found = runtime.services.get(Driver)
    assert found is not None
    return found


class Driver:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.holder = runtime.settings.replica
        self._active: set[int] = set()
        self._drives = Tasks("instructions.driver", log)
        self._slots = asyncio.Semaphore(8)

    def kick(self, run_id: int, tenant_id: int) -> asyncio.Task[None | None] | None:
        """Drive a run now instead of at the next tick (after a command or a decision)."""
        return self._drives.spawn(self.drive(run_id, tenant_id))

    async def tick(self) -> datetime | None:
        """Drive the due runs of every tenant (a tenant without 1E any more: its runs fail
        plainly); returns when the next run is due, so the tick sleeps until then."""
        if self._drives.closed:
            return None
        due: list[tuple[int, int]] = []
        async with self.rt.db.reads() as uow:  # reads only: no BEGIN and ROLLBACK on PostgreSQL
            runs = uow.repo(InstructionRunRepo)
            upcoming = await runs.next_due(states.ACTIVE)
            if upcoming is not None and upcoming <= datetime.now(UTC):
                for tenant_id in await uow.repo(TenantRepo).ids():
                    due += [(r, tenant_id) for r in await runs.due(tenant_id, states.ACTIVE)]
        await asyncio.gather(*filter(None, (self.kick(r, t) for r, t in due)))
        return upcoming

    async def close(self) -> None:
        """Let drives in flight reach a stopping point (they check `closed`), then cancel."""
        await self._drives.stop(STOP_SECONDS)

    async def drive(self, run_id: int, tenant_id: int) -> None:
        if run_id in self._active or self._drives.closed:
            return
        self._active.add(run_id)
        try:
            async with self._slots:
                await self._drive(run_id, tenant_id)
        except Exception:
            log.exception("run %s: the driver failed; the next tick retries", run_id)
        finally:
            self._active.discard(run_id)
            self.rt.scheduler.soon(TICK)  # the tick learns when this run is next due

    async def _drive(self, run_id: int, tenant_id: int) -> None:
        async with self.rt.db.uow() as uow:
            runs = uow.repo(InstructionRunRepo)
            settings = await InstructionSettings.read(uow, tenant_id)
            won = await runs.lease(run_id, self.holder, lease_ttl(settings))
            await uow.commit()
            run = await runs.get(tenant_id, run_id) if won else None
        if run is None:
            return
        try:
            client = await tachyon(self.rt, tenant_id)
            if client is None:
                await self._finish(run, states.FAILED, NOT_CONFIGURED)
            elif run.state in states.TO_ISSUE:
                await self._issue(run, client, settings)
            elif run.state in states.IN_FLIGHT:
                await self._poll(run, client, settings)
        finally:
            async with self.rt.db.uow() as uow:
                await uow.repo(InstructionRunRepo).release(run_id, self.holder)
                await uow.commit()

    # --- issuing ---------------------------------------------------------------------------

    async def _issue(self, run: InstructionRun, client: TachyonClient,
                     settings: InstructionSettings) -> None:
        marker, cid = custom_data(run), run.correlation_id
        try:
            if run.issue_attempts:  # an earlier POST may have reached 1E: look before resending
                found = await client.find_by_custom_data(marker, cid=cid)
                if found is not None:
                    await self._sent(run, found, adopted=True)
                    return
            async with self.rt.db.uow() as uow:
                claimed = await uow.repo(InstructionRunRepo).claim_issue(run.id, states.TO_ISSUE,
                                                                         run.issue_attempts)
                await uow.commit()
            if not claimed:
                return  # cancelled, or another driver counted this attempt
            fqdns = None
            if run.vendor_scope is None:
                async with self.rt.db.uow() as uow:
                    fqdns = [t["fqdn"] for t in await uow.repo(InstructionRunRepo).targets(run.id)]
            comments = f"deskhand run {run.id} by {run.requester_email}" + (
                f" for {run.incident}" if run.incident else "")
            status = await client.issue(
                run.definition_vendor_id, run.parameters, fqdns=fqdns,
                scope=run.vendor_scope if fqdns is None else None,
                instruction_ttl_minutes=run.gather_minutes,
                response_ttl_minutes=run.keep_minutes, consumer_custom_data=marker,
                requested_for=run.requester_email, comments=comments, cid=cid)
        except VendorError as exc:
            if exc.maybe_applied or exc.transient:
                await self._retry_later(run, exc, settings)
            else:
                await self._finish(run, states.FAILED, f"1E did not take the instruction: {exc.message}")
            return
        await self._sent(run, status)

    async def _sent(self, run: InstructionRun, status: InstructionStatus, adopted: bool = False) -> None:
        now = datetime.now(UTC)
        async with self.rt.db.uow() as uow:
            moved = await RUNS.move(
                uow, run.tenant_id, run.id, states.TO_ISSUE, states.SENT, vendor_id=status.id,
                vendor_status=int(status.status), sent_at=now, next_poll_at=now, failures=0,
                last_error="")
            if not moved:  # cancelled while the POST was out: keep the id, cancel it in 1E too
                await RUNS.move(uow, run.tenant_id, run.id, states.CANCELLED, vendor_id=status.id)
            await uow.commit()
        await self.rt.audit.record(
            run.tenant_id, "external", "tachyon.instruction.issue", "ok" if moved else "cancelled",
            actor_label="deskhand poller", correlation_id=run.correlation_id, target=run.target_label,
            params={"run": run.id, "instruction": status.id, "found_again": adopted})
        if not moved:
            run.vendor_id = status.id
            await self._cancel_orphan(run, None)
            return
        log.info("run %s: sent to 1E as instruction #%s (ref %s)", run.id, status.id, run.correlation_id)
        await refresh(self.rt, run.tenant_id, RUN, run.id)

    async def _cancel_orphan(self, run: InstructionRun, client: TachyonClient | None) -> None:
        client = client or await tachyon(self.rt, run.tenant_id)
        if client is None:
            return
        try:
            vendor_id = run.vendor_id
            if vendor_id is None:
                found = await client.find_by_custom_data(custom_data(run), cid=run.correlation_id)
                if found is None:
                    return
                vendor_id = found.id
            await client.cancel(vendor_id, cid=run.correlation_id)
        except VendorError as exc:
            log.warning("run %s was cancelled, but 1E did not cancel its instruction: %s", run.id, exc)

    # --- polling ---------------------------------------------------------------------------

    async def _poll(self, run: InstructionRun, client: TachyonClient,
                    settings: InstructionSettings) -> None:
        assert run.vendor_id is not None
        cid = run.correlation_id
        try:
            status = await client.status(run.vendor_id, cid=cid)
            stats = await client.statistics(run.vendor_id, cid=cid)
            note = await self._approve_in_1e(run, client) if status.awaiting_approval else ""
            pages = PageStore(self.rt.db, self.holder, lease_ttl(settings))
            batch, stopping = settings.response_batch_size, lambda: self._drives.closed
            answers_done = await pages.fetch(run, client, batch, errors=False, stopping=stopping)
            errors_done = await pages.fetch(run, client, batch, errors=True, stopping=stopping)
        except VendorError as exc:
            if exc.cause is Cause.NOT_FOUND:
                await self._finish(run, states.FAILED, f"1E no longer knows instruction #{run.vendor_id} "
                                   "(its answers may have passed their keep time).")
            else:
                await self._retry_later(run, exc, settings)
            return
        end = states.vendor_end(status.status)
        sent_at = run.sent_at or datetime.now(UTC)
        overdue = datetime.now(UTC) > sent_at + timedelta(minutes=run.gather_minutes) + GRACE
        counts = _counts(stats, status)
        everyone = all_in(status, stats)
        if (end or everyone or overdue) and answers_done and errors_done:
            state = end or (states.COMPLETED if everyone else states.EXPIRED)
            await self._finish(run, state, _outcome(state, status, stats, run), failures=0,
                               last_error="", **counts)
            return
        wait = timedelta(seconds=settings.status_wait_seconds)
        async with self.rt.db.uow() as uow:
            runs = uow.repo(InstructionRunRepo)
            before = await runs.get(run.tenant_id, run.id)
            seen = _view(before) if before is not None else None
            await RUNS.move(uow, run.tenant_id, run.id, states.IN_FLIGHT, states.IN_PROGRESS,
                            failures=0, last_error=note[:500],
                            next_poll_at=datetime.now(UTC) + wait, **counts)
            await uow.commit()
            after = await runs.get(run.tenant_id, run.id)
        # INFO is for state changes; every other poll (one per run every few seconds) is DEBUG.
        if after is not None and before is not None and after.state != before.state:
            log.info("run %s: %s (ref %s)", run.id, states.LABELS[after.state], run.correlation_id)
        else:
            log.debug("run %s: 1E says %s, %d of %d answered", run.id, status.status_name,
                      stats.received, stats.sent)
        if after is not None and _view(after) != seen:
            await refresh(self.rt, run.tenant_id, RUN, run.id, ("requester",))

    async def _approve_in_1e(self, run: InstructionRun, client: TachyonClient) -> str:
        """1E holds actions for approval too; deskhand's approval (already given) is passed on once.

        Returns what the card should say while 1E still waits."""
        if not run.approval_required:
            return "1E holds this action for approval; an approver must approve it in 1E."
        if run.vendor_approval_tried:
            return run.last_error
        async with self.rt.db.uow() as uow:
            request = await uow.repo(ApprovalRepo).for_subject(RUN, run.id)
        problem = ""
        if request is not None and request.state == "approved":
            comment = f"Approved in deskhand by {request.decided_by_email}" + (
                f": {request.reason}" if request.reason else "")
            assert run.vendor_id is not None
            try:
                await client.approve(run.vendor_id, comment, cid=run.correlation_id)
            except VendorError as exc:
                if exc.transient:
                    raise  # passing: the next poll tries again
                problem = f"1E still waits for an approver in 1E: {exc.message}"
        async with self.rt.db.uow() as uow:
            await RUNS.move(uow, run.tenant_id, run.id, states.IN_FLIGHT, vendor_approval_tried=True,
                            last_error=problem[:500])
            await uow.commit()
        return problem

    # --- endings and failures --------------------------------------------------------------

    async def _finish(self, run: InstructionRun, state: str, outcome: str, **values: Any) -> None:
        async with self.rt.db.uow() as uow:
            runs = uow.repo(InstructionRunRepo)
            current = await runs.get(run.tenant_id, run.id)
            if current is not None and current.finished_by and state == states.CANCELLED:
                outcome = f"Cancelled by {current.finished_by}."
            moved = await RUNS.move(uow, run.tenant_id, run.id, states.ACTIVE, state,
                                    outcome=outcome[:500], next_poll_at=None,
                                    finished_at=datetime.now(UTC), **values)
            await uow.commit()
        if moved:
            log.info("run %s: %s: %s (ref %s)", run.id, states.LABELS[state], outcome,
                     run.correlation_id)
            await self.rt.audit.record(
                run.tenant_id, "external", "tachyon.instruction.end", state,
                actor_label="deskhand poller", correlation_id=run.correlation_id,
                target=run.target_label, params={"run": run.id, "instruction": run.vendor_id},
                detail=outcome[:500])
            await refresh(self.rt, run.tenant_id, RUN, run.id)
            if listening(self.rt, states.RUN_FINISHED):  # not in this drive: it may be slow
                self._drives.spawn(publish(self.rt, states.RUN_FINISHED, states.RunFinished(
                    run.tenant_id, run.id, state, run.incident)))

    async def _retry_later(self, run: InstructionRun, exc: VendorError,
                           settings: InstructionSettings) -> None:
        failures = run.failures + 1
        if failures >= MAX_FAILURES:
            await self._finish(run, states.FAILED, f"Gave up after {failures} failed calls to 1E: "
                                                   f"{exc.message}", failures=failures)
            return
        delay = min(120, settings.status_wait_seconds * 2 ** min(failures, 6))
        async with self.rt.db.uow() as uow:
            await RUNS.move(uow, run.tenant_id, run.id, states.ACTIVE, failures=failures,
                            last_error=exc.message[:500],
                            next_poll_at=datetime.now(UTC) + timedelta(seconds=delay))
            await uow.commit()
        log.warning("run %s: %s (failure %d; retry in %ss, ref %s)", run.id, exc.code, failures, delay,
                    exc.correlation_id)
        if failures == 1:
            await refresh(self.rt, run.tenant_id, RUN, run.id, ("requester",))


def all_in(status: InstructionStatus, stats: Statistics) -> bool:
    """Every device 1E sent the instruction to has answered (with data, none, or an error).

    1E may report an instruction In Progress until its gather window ends, since devices can
    still come online; once its statistics (integrations.md 2.4) count every device it was sent
    to as answered, nothing more can arrive, and waiting would hold the run open for up to the
    whole window."""
    return (status.status in (Status.SENT, Status.IN_PROGRESS) and stats.sent > 0
            and stats.outstanding == 0 and stats.received >= stats.sent)


def _counts(stats: Statistics, status: InstructionStatus) -> dict[str, Any]:
    return {"sent_count": stats.sent, "received_count": stats.received,
            "outstanding_count": stats.outstanding, "error_count": stats.errors,
            "no_data_count": stats.success_no_data, "not_implemented_count": stats.not_implemented,
            "vendor_status": int(status.status)}


def _view(run: InstructionRun) -> tuple[Any, ...]:
    """What the requester's card shows; it is redrawn only when this changes."""
    return (run.state, run.sent_count, run.received_count, run.outstanding_count, run.error_count,
            run.no_data_count, run.not_implemented_count, run.answers_stored, run.errors_stored,
            run.others_stored, run.last_error, run.vendor_status)


def _outcome(state: str, status: InstructionStatus, stats: Statistics, run: InstructionRun) -> str:
    if state == states.DENIED:
        who = status.actioned_by or "an approver in 1E"
        return f"Rejected in 1E by {who}" + (f": {status.action_reason}" if status.action_reason else ".")
    if state == states.EXPIRED and not states.vendor_end(status.status):
        return (f"1E still reported {status.status_name} {GRACE.seconds // 60} minutes after the "
                f"{run.gather_minutes}-minute gather window; deskhand stopped polling.")
    if state == states.COMPLETED and not states.vendor_end(status.status):
        return f"Every targeted device answered ({stats.received} of {stats.sent})."
    name = status.status_name if isinstance(status.status, Status) else "finished"
    return f"1E reports the instruction {name.lower()}."
