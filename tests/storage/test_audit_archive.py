"""`deskhand audit archive` on SQLite and PostgreSQL (handlers/audit/archive.py, migration 0027):
the rows older than the cutoff go to a file whose count and checksum the archival records and
audits, then they are pruned; everything newer stays append-only, and the database refuses any
DELETE that is not an archival's."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot import cli
from storage import migrate
from storage.audit import AuditArchival, AuditEvent, AuditRepo
from storage.db import Database
from storage.tenants import TenantRepo
from tests.conftest import SECRET
from tests.storage.test_migration_subjects import _downgrade

NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=500), NOW - timedelta(days=10)


def _event(tenant_id: int, at: datetime, action: str, **kw: Any) -> AuditEvent:
    return AuditEvent(tenant_id=tenant_id, at=at, correlation_id=f"c-{action}", kind="command",
                      action=action, outcome="ok", **kw)


async def _seed(url: str) -> dict[str, int]:
    """acme: three old rows and two recent ones; beta: one old row. Ids by action."""
    db = Database(url)
    try:
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            tenants = uow.repo(TenantRepo)
            acme, beta = (await tenants.ensure("acme", "Acme")).id, (await tenants.ensure("beta", "B")).id
            audit = uow.repo(AuditRepo)
            await audit.append(_event(acme, OLD, "old-1", actor_email="ann@example.com",
                                      params={"text": "naïve — ünïcode", "n": 3}, detail="line\nbreak"))
            await audit.append(_event(beta, OLD + timedelta(hours=1), "old-beta", target="=SUM(A1)"))
            await audit.append(_event(acme, OLD + timedelta(hours=2), "old-2", target="PC-1"))
            await audit.append(_event(acme, OLD + timedelta(hours=3), "old-3"))
            await audit.append(_event(acme, RECENT, "recent-1"))
            await audit.append(_event(acme, NOW, "recent-2"))
            await uow.commit()
        return dict((a, i) for i, a in await _all(db, "SELECT id, action FROM audit_events"))
    finally:
        await db.dispose()


async def _all(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


def _query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        db = Database(url)
        try:
            return await _all(db, sql, **params)
        finally:
            await db.dispose()
    return asyncio.run(run())


def _refused(url: str, *statements: str) -> list[str]:
    """Each statement in a transaction of its own, on a fresh connection: the errors."""
    async def run() -> list[str]:
        db = Database(url)
        said = []
        try:
            for statement in statements:
                with pytest.raises(DBAPIError) as refused:
                    async with db.engine.begin() as conn:
                        await conn.execute(text(statement))
                said.append(str(refused.value.orig))
        finally:
            await db.dispose()
        return said
    return asyncio.run(run())


@pytest.fixture
def deskhand(db_url: str, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> Any:
    """`deskhand` in this process on the test's database: run(*argv) -> (exit code, out, err)."""
    for name, value in (("DESKHAND_DATABASE_URL", db_url), ("DESKHAND_TENANT", "acme"),
                        ("DESKHAND_SECRET_KEY", SECRET)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DESKHAND_AUDIT_KEEP_DAYS", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_archive_exports_the_old_rows_then_prunes_them_and_only_them(
        db_url: str, deskhand: Any, tmp_path: Path) -> None:
    ids = asyncio.run(_seed(db_url))
    tmp_path = tmp_path / "archives"  # beside the SQLite file
    tmp_path.mkdir()
    before = _query(db_url, "SELECT * FROM audit_events ORDER BY id")
    target = tmp_path / "audit-old.jsonl"

    code, _, err = deskhand("audit", "archive", "--before", "30d", "--to", str(target))
    assert code == 1 and "within the last 365 days, which DESKHAND_AUDIT_KEEP_DAYS keeps" in err
    assert not target.exists() and not list(tmp_path.iterdir())
    assert _query(db_url, "SELECT * FROM audit_events ORDER BY id") == before

    code, out, err = deskhand("audit", "archive", "--before", "400d", "--to", str(target))
    assert (code, err) == (0, "")
    assert out.startswith("archived 4 audit rows older than ") and "every tenant" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit-old.jsonl", "audit-old.jsonl.sha256"]

    # Complete: every old row, every column, in id order; the checksum is the file's.
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["id"] for r in exported] == sorted(ids[a] for a in ("old-1", "old-beta", "old-2", "old-3"))
    first = exported[0]
    assert first["tenant"] == "acme" and first["actor_email"] == "ann@example.com"
    assert first["params"] == {"text": "naïve — ünïcode", "n": 3} and first["detail"] == "line\nbreak"
    assert datetime.fromisoformat(first["at"]) == OLD
    assert exported[1]["tenant"] == "beta" and exported[1]["target"] == "=SUM(A1)"  # exact in JSON
    sha256 = hashlib.sha256(target.read_bytes()).hexdigest()
    assert f"sha256 {sha256}" in out
    assert (tmp_path / "audit-old.jsonl.sha256").read_text() == f"{sha256}  audit-old.jsonl\n"

    # Pruned: only the old rows; the archival is recorded and audited in each tenant it pruned.
    left = _query(db_url, "SELECT id, action FROM audit_events ORDER BY id")
    assert [a for _, a in left] == ["recent-1", "recent-2", "audit archive", "audit archive"]
    (archival,) = _query(db_url, "SELECT tenant_id, last_id, row_count, sha256, file_name, "
                                 "file_format, archived_by FROM audit_archivals")
    assert archival == (None, ids["recent-2"], 4, sha256, str(target), "jsonl", "cli")
    audited = _query(db_url, "SELECT tenant_id, params FROM audit_events WHERE action = 'audit archive' "
                             "ORDER BY tenant_id")
    params = [p if isinstance(p, dict) else json.loads(p) for _, p in audited]
    assert [(p["rows"], p["tenant_rows"], p["sha256"], p["scope"]) for p in params] == [
        (4, 3, sha256, "every tenant"), (4, 1, sha256, "every tenant")]

    # Still append-only for everything newer, and for the archivals themselves.
    newer = ids["recent-1"]
    said = _refused(db_url, f"DELETE FROM audit_events WHERE id = {newer}",
                    "DELETE FROM audit_events",
                    f"UPDATE audit_events SET outcome = 'forged' WHERE id = {newer}",
                    "UPDATE audit_archivals SET row_count = 0", "DELETE FROM audit_archivals")
    assert [s.split(" is append-only")[0].rsplit(" ", 1)[-1] for s in said] == [
        "audit_events", "audit_events", "audit_events", "audit_archivals", "audit_archivals"]
    assert len(_query(db_url, "SELECT id FROM audit_events")) == 4

    # Never over a file; nothing left to archive says so and writes nothing.
    code, _, err = deskhand("audit", "archive", "--before", "400d", "--to", str(target))
    assert code == 1 and "already exists; an archive is never overwritten" in err
    code, out, _ = deskhand("audit", "archive", "--before", "400d", "--to", str(tmp_path / "again.jsonl"))
    assert code == 0 and out.startswith("no audit rows older than") and "nothing written" in out
    assert not (tmp_path / "again.jsonl").exists() and not (tmp_path / "again.jsonl.partial").exists()


def test_one_tenant_as_csv_past_a_configured_age(db_url: str, deskhand: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ids = asyncio.run(_seed(db_url))
    monkeypatch.setenv("DESKHAND_AUDIT_KEEP_DAYS", "7")
    code, _, err = deskhand("audit", "archive", "--before", "3d", "--to", str(tmp_path / "x.csv"),
                            "--tenant", "acme")
    assert code == 1 and "within the last 7 days" in err
    code, _, err = deskhand("audit", "archive", "--before", "8d", "--to", str(tmp_path / "x.csv"),
                            "--tenant", "nobody")
    assert code == 1 and err.strip() == "deskhand: there is no tenant 'nobody'; tenants: acme, beta"

    target = tmp_path / "acme.csv"
    code, out, _ = deskhand("audit", "archive", "--before", "8d", "--to", str(target), "--tenant", "acme")
    assert code == 0 and "archived 4 audit rows" in out and "tenant acme" in out
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [int(r["id"]) for r in rows] == [ids[a] for a in ("old-1", "old-2", "old-3", "recent-1")]
    assert json.loads(rows[0]["params"]) == {"text": "naïve — ünïcode", "n": 3}
    assert hashlib.sha256(target.read_bytes()).hexdigest() in out
    left = [a for _, a in _query(db_url, "SELECT id, action FROM audit_events ORDER BY id")]
    assert left == ["old-beta", "recent-2", "audit archive"]  # beta's old row is not acme's
    (tenant,) = _query(db_url, "SELECT tenant_id FROM audit_archivals")
    assert tenant[0] is not None


async def test_an_archival_recorded_earlier_lets_nothing_be_deleted_later(db_url: str) -> None:
    ids = await _seed(db_url)
    db = Database(db_url)
    try:
        async with db.uow() as uow:  # an archival recorded by hand, its rows not deleted with it
            uow.session.add(AuditArchival(cutoff=NOW, last_id=ids["recent-2"], row_count=0,
                                          sha256="0" * 64, file_name="-", file_format="jsonl",
                                          archived_by="someone"))
            await uow.commit()
    finally:
        await db.dispose()
    said = await asyncio.to_thread(_refused, db_url, "DELETE FROM audit_events")
    assert "audit_events is append-only" in said[0]


async def test_the_migration_round_trips_and_the_old_triggers_come_back(db_url: str) -> None:
    await _seed(db_url)
    db = Database(db_url)
    try:
        await _downgrade(db.engine, "0025")
        tables = await _all(db, "SELECT count(*) FROM audit_events")
        assert tables == [(6,)]
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text("DELETE FROM audit_events"))
        await migrate.upgrade(db.engine)
        assert await migrate.is_current(db.engine)
    finally:
        await db.dispose()
