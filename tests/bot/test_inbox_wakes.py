"""The inbox's consumers wake on work instead of polling (bot/inbox.py, storage/inbox.py).

An idle consumer claims nothing, and a command stored meanwhile is claimed once, at once (no
claim that finds nothing); a standalone worker on PostgreSQL is woken by the NOTIFY of another
process's write; a lease that lapses is reported when it is due, not at the next fixed sweep;
a command's audit row is committed before its answer goes, and a failed finish leaves the
request claimed (its sender told when the lease lapses); a claim never returns a request that is
already claimed; the leases of running requests are renewed while they run, and only then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import bootstrap, workers
from bot.inbox import Inbox
from bot.secrets import SecretBox
from storage import migrate
from storage.db import Database
from storage.inbox import TABLE, InboxStore, NewItem
from tests.bot.test_inbox import command_payload, deskhand, devices_rows, fake_slack, item
from tests.conftest import SECRET as KEY
from tests.conftest import sqlite_url
from tests.fakes.slack_api import ALEX, slack_env


def claims_on(engine: AsyncEngine) -> list[str]:
    """Every claim statement the engine runs from now on (SQLAlchemy's own event hook)."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "UPDATE INBOX SET CLAIMED_BY" in statement.upper():
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


async def until(what: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_an_idle_consumer_claims_nothing_and_a_stored_command_wakes_it(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await asyncio.sleep(0.3)  # the start-up claim (what a stopped process left) is done
        claims = claims_on(env.server.runtime.db.engine)
        await asyncio.sleep(2.5)
        assert claims == []  # idle: no polling
        started = time.monotonic()
        status, _, _ = await env.command(ALEX, "/devices", "", response="woken")
        assert status == 200
        (card,) = await env.fake.wait_for("response_url")
        assert "Devices" in str(card.args)
        assert time.monotonic() - started < 10  # the write woke it: the safety poll is 30 s
        await env.idle()
        assert len(claims) == 1  # the claim that found it, and none that found nothing
        assert len(devices_rows(await env.audit())) == 1


@pytest.mark.postgres
async def test_a_standalone_worker_on_postgresql_is_woken_by_notify(tmp_path: Path,
                                                                    pg_url: str) -> None:
    async with slack_env(tmp_path, database_url=pg_url) as env:
        await env.server.runtime.inbox.stop()  # this process only stores, as `serve` with workers
        worker = bootstrap.build_runtime(env.server.runtime.settings)
        bootstrap.attach_platforms(worker, listen=False)
        workers.as_worker(worker, child=False)  # a `deskhand worker` of its own
        assert worker.inbox.listen and worker.inbox.poll >= 30
        await worker.start()
        try:
            await asyncio.sleep(0.5)  # its start-up claims are done, and it listens
            claims = claims_on(worker.db.engine)
            await asyncio.sleep(2)
            assert claims == []
            started = time.monotonic()
            status, _, _ = await env.command(ALEX, "/devices", "", response="notified")
            assert status == 200
            (card,) = await env.fake.wait_for("response_url")
            assert card.path == "/response/notified" and "Devices" in str(card.args)
            assert time.monotonic() - started < 10  # NOTIFY, not the 30 s safety poll
            assert await worker.inbox.wait_idle(10)
            assert len(claims) == 1
            assert len(devices_rows(await env.audit())) == 1
            # The listening connection dies (a PostgreSQL restart, a proxy): it listens again.
            async with env.server.runtime.db.engine.begin() as conn:
                killed = (await conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"))).all()
            assert len(killed) == 1
            await asyncio.sleep(2)  # it notices at once and listens again after a second
            status, _, _ = await env.command(ALEX, "/devices", "", response="again")
            await env.fake.wait_for("response_url", 2, seconds=5)
            assert await worker.inbox.wait_idle(10)
            assert len(devices_rows(await env.audit())) == 2
        finally:
            await worker.stop()


async def test_a_lapsed_lease_is_reported_when_it_is_due(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        db = Database(sqlite_url(tmp_path))
        await migrate.upgrade(db.engine)
        await InboxStore(db.engine).add([item(command_payload(fake, "", "lapsing"))])
        async with db.engine.begin() as conn:  # a worker that dies now: its lease lapses in 2 s
            await conn.execute(update(TABLE).values(
                claimed_by="host:1:dead", lease_until=datetime.now(UTC) + timedelta(seconds=2)))
        await db.dispose()
        async with deskhand(tmp_path, fake) as env:
            # The start-up sweep found it live; the next one is due when its lease lapses.
            (note,) = await fake.wait_for("response_url", seconds=8)
            assert note.path == "/response/lapsing" and "may not have finished" in str(note.args)
            await env.idle()
            assert devices_rows(await env.audit()) == []


CRASH = {
    "sqlite": ["CREATE TRIGGER crash_at_finish BEFORE DELETE ON inbox "
               "BEGIN SELECT RAISE(ABORT, 'the worker died here'); END"],
    "postgresql": ["CREATE FUNCTION crash_at_finish() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the worker died here'; END $$",
                   "CREATE TRIGGER crash_at_finish BEFORE DELETE ON inbox FOR EACH ROW "
                   "EXECUTE FUNCTION crash_at_finish()"],
}


async def test_a_failed_finish_leaves_the_request_claimed_and_its_audit_row(
        tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The audit row is committed before the answer goes (a command is never answered unaudited);
    a worker that dies before the finish leaves the request claimed, so its sender is told when
    the lease lapses, and the audit row says what ran."""
    caplog.set_level(logging.ERROR, logger="deskhand.inbox")
    async with slack_env(tmp_path, database_url=db_url) as env:
        db = env.server.runtime.db
        async with db.engine.begin() as conn:
            for statement in CRASH[db.dialect]:
                await conn.execute(text(statement))
        status, _, _ = await env.command(ALEX, "/devices", "", response="crashed")
        assert status == 200
        await env.fake.wait_for("response_url")  # the work ran
        await until("the failed finish", lambda: "could not mark it finished" in caplog.text, 10)
        assert len(devices_rows(await env.audit())) == 1
        assert await env.server.runtime.inbox.store.counts() == (0, 1)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER crash_at_finish" +
                                    (" ON inbox" if db.dialect == "postgresql" else "")))
        status, _, _ = await env.command(ALEX, "/devices", "", response="finished")
        await env.fake.wait_for("response_url", 2)
        deadline = time.monotonic() + 10
        while len(rows := devices_rows(await env.audit())) < 2:
            assert time.monotonic() < deadline, "the second command was never audited"
            await asyncio.sleep(0.02)
        assert len(rows) == 2 and all(r.outcome == "ok" for r in rows)
        deadline = time.monotonic() + 10
        while await env.server.runtime.inbox.store.counts() != (0, 1):  # only the crashed one
            assert time.monotonic() < deadline, "the second command was never finished"
            await asyncio.sleep(0.02)


async def test_a_claim_never_returns_a_claimed_request(database: Database) -> None:
    store = InboxStore(database.engine)
    now = datetime.now(UTC)
    await store.add([NewItem("slack", "command", f"{i}", now) for i in range(5)])
    first = await store.claim("w1", 2, timedelta(seconds=60), ["slack"])
    second = await store.claim("w2", 10, timedelta(seconds=60), ["slack"])
    assert [i.payload for i in first] == ["0", "1"] and [i.payload for i in second] == ["2", "3", "4"]
    assert await store.claim("w3", 10, timedelta(seconds=60), ["slack"]) == []
    await store.add([NewItem("slack", "command", "5", now)])
    (fresh,) = await store.claim("w1", 4, timedelta(seconds=60), ["slack"])
    assert fresh.payload == "5"
    # A finish leaves another holder's rows alone.
    await store.finish("w1", [i.id for i in second])
    assert await store.counts() == (0, 6)
    first_lapse = await store.next_lapse(["slack"])
    assert first_lapse is not None and first_lapse > now + timedelta(seconds=50)
    assert await store.next_lapse(["teams"]) is None


class Held:
    """A platform's side of the inbox whose requests run until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def execute(self, kind: str, payload: dict[str, Any], received: datetime) -> None:
        await self.release.wait()

    def describe(self, kind: str, payload: dict[str, Any]) -> str:
        return "“/devices”"

    async def notify(self, kind: str, payload: dict[str, Any], title: str, text: str,
                     received: datetime) -> None:
        raise AssertionError("nothing here is late or interrupted")


async def test_leases_are_renewed_while_a_request_runs_and_not_once_it_is_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.inbox.RENEW_EVERY", 0.2)
    db = Database(sqlite_url(tmp_path))
    await migrate.upgrade(db.engine)
    renewals: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.upper().startswith("UPDATE INBOX SET LEASE_UNTIL"):  # not a claim's
            renewals.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    held = Held()
    inbox = Inbox(InboxStore(db.engine), "test", SecretBox([KEY]), executors={"slack": held})
    try:
        await inbox.start()
        await asyncio.sleep(0.7)
        assert renewals == []  # idle: nothing to renew
        assert await inbox.put("slack", "command", {"text": "devices"})
        await until("two renewals", lambda: len(renewals) >= 2, 5)
        held.release.set()
        assert await inbox.wait_idle()
        done = len(renewals)
        await asyncio.sleep(0.7)
        assert len(renewals) <= done + 1  # at most the one already on its way
    finally:
        await inbox.stop()
        await db.dispose()
