"""Migration 0010: responses stored before it are sorted by the Status they kept, and each run's
stored counts follow; both ways, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from storage import migrate
from storage.db import Database
from tests.storage.test_migration_subjects import NOW, _downgrade, _rows


async def test_stored_other_responses_get_their_kind_and_counts(db_url: str) -> None:
    db = Database(db_url)
    engine = db.engine
    try:
        await migrate.upgrade(engine, "0009")
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
                "responses_purged) VALUES (7, 1, 'completed', 'GetOperatingSystem', 1, "
                "'question', 'Diagnostics', '', '{}', '[]', 'group:London', 6, 'a@example.com', "
                "false, 1, false, 6, 6, 0, 1, 1, 5, '0;1', '0;5', 60, 120, 0, '', '', '{}', 'cid', "
                ":t, false)"), {"t": stamp})
            for n, (is_error, values) in enumerate([
                    (False, '{"OperatingSystem": "Windows"}'), (True, '{"status": 1, "error": ""}'),
                    (True, '{"status": 2, "error": "Access is denied."}'),
                    (True, '{"status": 3, "error": "n/a"}'), (True, '{"status": 4, "error": "big"}'),
                    (True, '{"status": 9, "error": "?"}')], start=1):
                await conn.execute(text(
                    'INSERT INTO instruction_responses (id, run_id, is_error, fqdn, "values") '
                    "VALUES (:id, 7, :e, :f, :v)"), {"id": n, "e": is_error, "f": f"pc-{n}", "v": values})

        await migrate.upgrade(engine)
        assert await _rows(engine, "SELECT kind FROM instruction_responses ORDER BY id") == [
            (0,), (1,), (2,), (3,), (4,), (2,)]
        assert await _rows(engine, "SELECT answers_stored, errors_stored, no_data_stored, "
                                   "not_implemented_stored, too_large_stored FROM instruction_runs") \
            == [(1, 2, 1, 1, 1)]

        await _downgrade(engine, "0009")
        assert await _rows(engine, "SELECT errors_stored FROM instruction_runs") == [(5,)]
        await migrate.upgrade(engine)
        assert await migrate.is_current(engine)
    finally:
        await db.dispose()
