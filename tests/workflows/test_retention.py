"""Retention: stored responses go after `response_keep_days`, runs after `history_keep_months`;
runs still open are never touched, and the audit trail stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from handlers.instructions import retention
from handlers.instructions.cards import RUN
from storage.audit import AuditEvent
from storage.instructions import InstructionResponse, InstructionRun
from storage.workflow import ApprovalRequest, WorkflowCard
from tests.workflows.env import AVERY, card_state, console, instruction_env, next_where, title_has


def test_months_before_clamps_to_the_end_of_short_months() -> None:
    assert retention.months_before(datetime(2026, 5, 31, tzinfo=UTC), 3) == datetime(2026, 2, 28, tzinfo=UTC)
    assert retention.months_before(datetime(2026, 1, 15, tzinfo=UTC), 1) == datetime(2025, 12, 15, tzinfo=UTC)


async def test_retention_job_purges_old_responses_and_old_history(tmp_path: Path) -> None:
    async with instruction_env(tmp_path) as env:
        assert "retention" in env.rt.scheduler.jobs
        async with console(env.live, AVERY) as avery:
            for _ in range(3):
                posted = await avery.say("run InstalledSoftware on PC-0001")
                await next_where(avery, card_state(posted["id"], "completed"))
            await avery.say("run RestartService serviceName=Spooler on PC-0001")  # waits for approval
            await next_where(avery, title_has("Approval needed"))
        old_answers, recent, ancient, waiting = [r.id for r in await env.runs()]
        now = datetime.now(UTC)
        async with env.rt.db.uow() as uow:
            for run_id, age in ((old_answers, timedelta(days=6)), (recent, timedelta(days=4)),
                                (ancient, timedelta(days=100)), (waiting, timedelta(days=100))):
                await uow.session.execute(update(InstructionRun).where(InstructionRun.id == run_id).values(
                    created_at=now - age, finished_at=None if run_id == waiting else now - age))
            await uow.commit()
        deleted, runs = await retention.purge(env.rt)

        async with env.rt.db.uow() as uow:
            def count(model: type, run_id: int) -> object:
                return select(func.count()).select_from(model).where(model.run_id == run_id)  # type: ignore[attr-defined]

            def about(model: type, run_id: int) -> object:  # a run's approval request or card copies
                return select(func.count()).select_from(model).where(
                    model.subject_kind == RUN, model.subject_id == run_id)  # type: ignore[attr-defined]
            kept = {r.id: r for r in (await uow.session.execute(select(InstructionRun))).scalars().all()}
            left = {i: (await uow.session.execute(count(InstructionResponse, i))).scalar_one()
                    for i in (old_answers, recent, ancient)}
            cards = (await uow.session.execute(about(WorkflowCard, ancient))).scalar_one()
            request = (await uow.session.execute(about(ApprovalRequest, waiting))).scalar_one()
            trail = (await uow.session.execute(select(AuditEvent).where(
                AuditEvent.action == "retention.purge"))).scalars().all()
        assert set(kept) == {old_answers, recent, waiting} and runs == 1
        assert left == {old_answers: 0, recent: 3, ancient: 0} and deleted == 6  # 3 rows each
        assert kept[old_answers].responses_purged and not kept[recent].responses_purged
        assert kept[old_answers].answers_stored == 3  # the history still says what came back
        assert cards == 0 and request == 1
        assert [t.params for t in trail] == [{"responses": 6, "runs": 1}]
        assert await retention.purge(env.rt) == (0, 0)  # idempotent
