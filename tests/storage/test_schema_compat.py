"""Which code runs on which schema: every migration says, every upgrade records it, and code older
than the database reads it there (storage/migrate.py, docs/migrations.md). A newer release is
simulated by what it leaves in the database: an alembic_version this code does not have and its
schema_compat row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage import migrate
from storage.db import Database


def test_every_migration_declares_which_code_runs_on_it() -> None:
    scripts = list(migrate.scripts().walk_revisions())
    assert len(scripts) > 10
    for script in scripts:
        assert migrate.compatibility(script) in migrate.COMPATIBILITY, script.revision


def test_the_graph_read_without_alembic_is_alembics() -> None:
    """Start-up and /readyz read the scripts' source; migrations run through Alembic."""
    alembic = {s.revision: s._all_down_revisions for s in migrate.scripts().walk_revisions()}
    assert migrate.graph() == alembic
    assert migrate.head_revision() == migrate.scripts().get_current_head()
    assert migrate.known(migrate.scripts().get_current_head() or "")
    assert not migrate.known("9999")


def test_the_oldest_code_goes_back_over_expands_and_stops_at_a_breaking_migration() -> None:
    assert migrate.min_code_revision("0001") == "0001"  # the first: nothing before it
    assert migrate.min_code_revision("0006") == "0001"  # 0002-0006 only added
    assert migrate.min_code_revision("0007") == "0007"  # it dropped a column in use
    assert migrate.min_code_revision("0011") == "0010"
    assert migrate.min_code_revision("0022") == "0013"  # 0014-0022 only added


async def _set(db: Database, revision: str, min_code: str | None) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        if min_code is not None:
            await conn.execute(text("INSERT INTO schema_compat (revision, min_code_revision) "
                                    "VALUES (:r, :m)"), {"r": revision, "m": min_code})


async def test_a_schema_ahead_is_usable_only_when_the_database_says_so(db_url: str) -> None:
    db = Database(db_url)
    head = migrate.head_revision()
    try:
        assert (await migrate.state(db.engine)).state == "pending"  # nothing yet
        await migrate.upgrade(db.engine, "0011")
        assert await migrate.state(db.engine) == migrate.Schema("0011", head, "pending")
        await migrate.upgrade(db.engine)
        assert await migrate.state(db.engine) == migrate.Schema(head, head, "current")
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT revision, min_code_revision FROM schema_compat ORDER BY revision"))).all()
        assert [tuple(r) for r in rows] == [("0011", "0010"), (head, "0013")]

        # A newer release's expand migration: it recorded that this code still runs on it.
        await _set(db, "9999", head)
        found = await migrate.state(db.engine)
        assert found == migrate.Schema("9999", head, "compatible", head)
        assert found.usable and found.ahead
        with pytest.raises(migrate.SchemaAhead) as ahead:
            await migrate.upgrade(db.engine)  # this code has nothing to add, and says so
        assert ahead.value.schema == found
        assert await migrate.current_revision(db.engine) == "9999"  # nothing was done

        # One that needs code this release does not have (a contract or breaking migration).
        await _set(db, "9998", "9997")
        found = await migrate.state(db.engine)
        assert found == migrate.Schema("9998", head, "newer", "9997")
        assert not found.usable and found.ahead
        await _set(db, "9996", None)  # migrated without a record (not by deskhand): not usable
        assert await migrate.state(db.engine) == migrate.Schema("9996", head, "newer")
        with pytest.raises(migrate.SchemaAhead):
            await migrate.upgrade(db.engine)
    finally:
        await db.dispose()


async def test_an_upgrade_with_nothing_to_do_keeps_the_record_and_restores_a_missing_one(
        db_url: str) -> None:
    """At head with its record, an upgrade returns before Alembic (every process start and every
    test runtime asks for one); without the record it takes the full path and writes it."""
    db = Database(db_url)
    head = migrate.head_revision()

    async def records() -> list[tuple[str, str]]:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT revision, min_code_revision FROM schema_compat"))
            return [(r[0], r[1]) for r in rows]

    try:
        await migrate.upgrade(db.engine)
        assert await records() == [(head, "0013")]
        await migrate.upgrade(db.engine)
        assert await records() == [(head, "0013")]
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM schema_compat"))
        await migrate.upgrade(db.engine)
        assert await records() == [(head, "0013")]
        assert await migrate.state(db.engine) == migrate.Schema(head, head, "current")
    finally:
        await db.dispose()
