"""Ids people see (assignment #7, run 42, approval request 3) are never handed out twice, on both
backends, and migration 0012 keeps an existing SQLite database's rows and starts each counter
above every id it ever showed (the table's and the audit trail's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage import migrate
from storage.db import Database
from storage.directory import DirectoryRepo
from storage.instructions import InstructionRun, InstructionRunRepo
from storage.rbac import RbacRepo, RoleAssignment
from storage.tenants import TenantRepo
from storage.uow import UnitOfWork
from storage.workflow import ApprovalRepo, ApprovalRequest

NOW = datetime.now(UTC).replace(microsecond=0)
TABLES = ("role_assignments", "instruction_runs", "approval_requests", "instruction_run_targets",
          "instruction_responses")


async def _add_three(uow: UnitOfWork, t: int, role_id: int, who: int) -> list[int]:
    """A new assignment, run and approval request; their ids."""
    assignment = await uow.repo(RbacRepo).add_assignment(
        RoleAssignment(tenant_id=t, role_id=role_id, principal_id=who, granted_by="test"))
    run = await uow.repo(InstructionRunRepo).add(InstructionRun(
        tenant_id=t, state="completed", definition_name="RestartService", definition_vendor_id=1,
        kind="action", target_label="PC-0001", requester_email="a@example.com",
        correlation_id="cid", created_at=NOW - timedelta(days=400)))
    request = await uow.repo(ApprovalRepo).add(ApprovalRequest(
        tenant_id=t, subject_kind="instruction.run", subject_id=run.id, state="approved",
        requester_email="a@example.com", expires_at=NOW))
    return [assignment.id, run.id, request.id]


async def test_the_newest_rows_ids_are_not_reused_after_they_are_deleted(database: Database) -> None:
    async with database.uow() as uow:
        t = (await uow.repo(TenantRepo).ensure("acme", "Acme")).id
        role = await uow.repo(RbacRepo).add_role(t, "Auditor", ["audit.read"])
        who = (await uow.repo(DirectoryRepo).upsert_principal(t, "a@example.com", "A")).id
        await _add_three(uow, t, role.id, who)
        newest = await _add_three(uow, t, role.id, who)
        await uow.commit()
    async with database.uow() as uow:  # a revoke, and the retention job
        await uow.repo(RbacRepo).delete_assignment(t, newest[0])
        purged = await uow.repo(InstructionRunRepo).purge_history(t, NOW, ["completed"])
        await uow.repo(ApprovalRepo).delete_for("instruction.run", purged)
        await uow.commit()
    async with database.uow() as uow:
        again = await _add_three(uow, t, role.id, who)
    assert [a > n for a, n in zip(again, newest, strict=True)] == [True, True, True]


async def _schema(db: Database) -> list[tuple[str, str]]:
    async with db.engine.connect() as conn:
        return [(kind, name) for kind, name in (await conn.execute(text(
            "SELECT type, name FROM sqlite_master WHERE tbl_name IN "
            f"({', '.join(repr(n) for n in TABLES)}) ORDER BY name"))).all()]


async def test_migration_0012_rebuilds_sqlite_tables_keeping_rows_and_every_id_shown(
        db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL sequences never reuse an id: 0012 changes nothing there")
    db = Database(db_url)
    try:
        await migrate.upgrade(db.engine, "0011")  # the revision before 0012
        before = await _schema(db)
        stamp = NOW.replace(tzinfo=None)
        async with db.engine.begin() as conn:
            for sql in (
                "INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 'acme', 'Acme', :t)",
                "INSERT INTO principals (id, tenant_id, email, display_name, active, created_at) "
                "VALUES (1, 1, 'a@example.com', 'A', true, :t)",
                "INSERT INTO roles (id, tenant_id, name, description, permissions, system) "
                "VALUES (1, 1, 'Auditor', '', '[]', false)",
                "INSERT INTO role_assignments (id, tenant_id, role_id, principal_id, granted_by, "
                "created_at) VALUES (5, 1, 1, 1, 'cli', :t)",
                "INSERT INTO instruction_runs (id, tenant_id, state, definition_name, "
                "definition_vendor_id, kind, instruction_set, readable_payload, parameters, columns, "
                "target_label, target_count, requester_email, approval_required, issue_attempts, "
                "vendor_approval_tried, sent_count, received_count, outstanding_count, error_count, "
                "answers_stored, errors_stored, answer_cursor, error_cursor, gather_minutes, "
                "keep_minutes, failures, last_error, outcome, reply_to, correlation_id, created_at, "
                "responses_purged) VALUES (3, 1, 'completed', 'RestartService', 1, 'action', 'Ops', "
                "'', '{}', '[]', 'PC-0001', 1, 'a@example.com', true, 0, false, 0, 0, 0, 0, 1, 0, "
                "'0;0', '0;0', 60, 120, 0, '', '', '{}', 'cid', :t, false)",
                "INSERT INTO instruction_run_targets (run_id, targets, search) "
                "VALUES (3, '[]', ',pc-0001,')",
                "INSERT INTO instruction_responses (id, run_id, is_error, fqdn, \"values\") "
                "VALUES (1, 3, false, 'pc-0001.corp', '{}')",
                "INSERT INTO approval_requests (id, tenant_id, subject_kind, subject_id, summary, "
                "state, requester_email, expires_at, reason, created_at) "
                "VALUES (2, 1, 'instruction.run', 3, '', 'approved', 'a@example.com', :t, '', :t)",
            ):
                await conn.execute(text(sql), {"t": stamp})
            # What the trail recorded of rows deleted since: assignment #9 was revoked, run 12
            # and request 6 were purged; a `cancel 999` that found nothing names no run.
            for kind, action, outcome, target, params in (
                ("command", "role revoke", "ok", "assignment #9", '{"assignment": 9}'),
                ("external", "tachyon.instruction", "ok", "PC-1", '{"run": 12}'),
                ("decision", "instruction.approve", "approved", "x", '{"request": 6}'),
                ("command", "cancel", "not_found", None, '{"run": 999}'),
            ):
                await conn.execute(text(
                    "INSERT INTO audit_events (tenant_id, at, correlation_id, kind, action, outcome, "
                    "target, params, detail) VALUES (1, :t, 'c', :k, :a, :o, :g, :p, '')"),
                    {"t": stamp, "k": kind, "a": action, "o": outcome, "g": target, "p": params})

        await migrate.upgrade(db.engine)

        after = await _schema(db)
        # every index is back; and, on role_assignments, the access-version triggers of 0030
        assert [x for x in after if not x[1].startswith("cache_version_")] == before
        assert [x for x in after if x[1].startswith("cache_version_")] == [
            ("trigger", f"cache_version_role_assignments_{op}")
            for op in ("delete", "insert", "update")]
        async with db.engine.begin() as conn:
            counts = [(await conn.execute(text(f"SELECT COUNT(*) FROM {n}"))).scalar()
                      for n in TABLES]
            assert counts == [1, 1, 1, 1, 1]  # no cascade took the run's targets or answers
            for child in ("instruction_run_targets", "instruction_responses"):
                [fk] = (await conn.execute(text(f"PRAGMA foreign_key_list({child})"))).all()
                assert fk.table == "instruction_runs"
        async with db.uow() as uow:
            ids = await _add_three(uow, 1, 1, 1)
            await uow.commit()
        assert ids == [10, 13, 7]
    finally:
        await db.dispose()
