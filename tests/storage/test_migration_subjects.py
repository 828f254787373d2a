"""Migration 0007: approval requests and card copies keep their run as a subject, both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate
from storage.db import Database

NOW = datetime.now(UTC).replace(microsecond=0)


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    cfg = migrate.alembic_config(str(engine.url))

    def _do(connection: object) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_do)


async def _rows(engine: AsyncEngine, sql: str) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_runs_become_subjects_and_back(db_url: str) -> None:
    db = Database(db_url)
    engine = db.engine
    try:
        await migrate.upgrade(engine, "0006")
        stamp = NOW.replace(tzinfo=None) if db.dialect == "sqlite" else NOW
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO tenants (id, slug, name, created_at) "
                                    "VALUES (1, 'acme', 'Acme', :t)"), {"t": stamp})
            await conn.execute(text(
                "INSERT INTO instruction_runs (id, tenant_id, state, definition_name, "
                "definition_vendor_id, kind, instruction_set, readable_payload, parameters, columns, "
                "target_label, target_count, requester_email, approval_required, issue_attempts, "
                "vendor_approval_tried, sent_count, received_count, outstanding_count, error_count, "
                "answers_stored, errors_stored, answer_cursor, error_cursor, gather_minutes, "
                "keep_minutes, failures, last_error, outcome, reply_to, correlation_id, created_at, "
                "responses_purged) VALUES (7, 1, 'awaiting_approval', 'RestartService', 1, "
                "'action', 'Ops', '', '{}', '[]', 'PC-0001', 1, 'a@example.com', true, 0, false, "
                "0, 0, 0, 0, 0, 0, '0;0', '0;0', 60, 120, 0, '', '', '{}', 'cid', :t, false)"),
                {"t": stamp})
            await conn.execute(text(
                "INSERT INTO approval_requests (id, tenant_id, run_id, state, requester_email, "
                "expires_at, reason, created_at) VALUES (3, 1, 7, 'pending', 'a@example.com', :e, "
                "'', :t)"), {"t": stamp, "e": stamp + timedelta(hours=1)})
            await conn.execute(text(
                "INSERT INTO workflow_cards (id, tenant_id, run_id, audience, platform, channel, "
                "message_id, extra, created_at) VALUES (5, 1, 7, 'approvers', 'slack', 'C1', "
                "'1.2', '{}', :t)"), {"t": stamp})

        await migrate.upgrade(engine)
        assert await _rows(engine, "SELECT subject_kind, subject_id, summary FROM approval_requests") \
            == [("instruction.run", 7, "RestartService on PC-0001")]
        assert await _rows(engine, "SELECT subject_kind, subject_id, audience FROM workflow_cards") \
            == [("instruction.run", 7, "approvers")]

        await _downgrade(engine, "0006")
        assert await _rows(engine, "SELECT run_id, state FROM approval_requests") == [(7, "pending")]
        assert await _rows(engine, "SELECT run_id, channel FROM workflow_cards") == [(7, "C1")]
        await migrate.upgrade(engine)  # and forward again
        assert await migrate.is_current(engine)
    finally:
        await db.dispose()
