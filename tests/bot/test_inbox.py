"""The inbox between the Slack ack and the work (bot/inbox.py).

Admission caps the jobs started at once; a burst of signed slash commands all get their cards;
an acked command stored while no worker ran is run by the next process; a request whose worker
died is reported, not run again; one that waited past DESKHAND_INBOX_MAX_AGE is refused with a
note; a failed write is told to the sender; claims never overlap on SQLite or PostgreSQL; a
worker process takes a backlog WORKER_SLOTS at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import orjson
from sqlalchemy import event, text, update

from bot import bootstrap, workers
from bot.inbox import SLOTS, WORKER_SLOTS, Admission
from bot.secrets import SecretBox
from storage import migrate
from storage.db import Database
from storage.inbox import TABLE, InboxStore, NewItem
from tests.bot.test_workers import METRICS_TOKEN
from tests.conftest import SECRET as KEY
from tests.conftest import free_port, make_settings, sqlite_url, start_server
from tests.fakes.slack_api import ALEX, BOT_TOKEN, SECRET, FakeSlack, SlackEnv, slack_env


async def test_no_more_than_the_slots_run_at_once() -> None:
    admission = Admission(slots=3, hold=10)
    running, most, release = 0, 0, asyncio.Event()

    async def job() -> None:
        nonlocal running, most
        give_back = await admission.take()
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        give_back()

    jobs = [asyncio.create_task(job()) for _ in range(10)]
    await asyncio.sleep(0.05)
    assert (running, most) == (3, 3)
    release.set()
    await asyncio.wait_for(asyncio.gather(*jobs), 5)
    assert (running, most) == (0, 3)


async def test_a_slow_job_gives_its_slot_back_after_hold() -> None:
    admission = Admission(slots=1, hold=0.05)
    stuck, second_ran = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        give_back = await admission.take()
        await stuck.wait()  # a vendor that never answers
        give_back()
        give_back()  # giving back twice (after the hold, then at the end) returns one slot

    async def quick() -> None:
        give_back = await admission.take()
        second_ran.set()
        give_back()

    first = asyncio.create_task(slow())
    await asyncio.sleep(0)
    second = asyncio.create_task(quick())
    await asyncio.wait_for(second_ran.wait(), 1)  # not blocked behind the stuck job
    stuck.set()
    await asyncio.gather(first, second)
    # Both slots-worth were returned exactly once: one fresh job may run, a second must wait.
    give_back = await admission.take()
    blocked = asyncio.create_task(admission.take())
    await asyncio.sleep(0.01)
    assert not blocked.done()
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)
    give_back()


async def test_a_burst_of_commands_all_get_their_cards_and_audit_rows(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        results = await asyncio.gather(*(env.command(ALEX, "/devices", "", response=f"r{i}")
                                         for i in range(SLOTS * 5)))
        assert all(status == 200 for status, _, _ in results)
        await env.idle()
        paths = {c.path for c in env.fake.called("response_url")}
        assert paths == {f"/response/r{i}" for i in range(SLOTS * 5)}
        rows = [e for e in await env.audit()
                if (e.kind, e.action, e.outcome) == ("command", "devices", "ok")]
        assert len(rows) == SLOTS * 5


async def test_a_worker_takes_a_backlog_in_claims_of_its_slots(tmp_path: Path) -> None:
    """A worker process (no acks to keep fast) starts WORKER_SLOTS jobs at once, so a backlog's
    claims, audit rows and finishes share transactions; a listener's consumer starts SLOTS."""
    n = WORKER_SLOTS + SLOTS
    async with fake_slack() as fake:
        async with deskhand(tmp_path, fake, consume=False) as env:  # it only stores, as `serve`
            await env.server.runtime.inbox.store.add(  # a backlog, queued while no worker ran
                [item(command_payload(fake, "", f"b{i}")) for i in range(n)])
            worker = bootstrap.build_runtime(env.server.runtime.settings)
            bootstrap.attach_platforms(worker, listen=False)
            workers.as_worker(worker, child=True)
            claims: list[str] = []

            def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
                if "UPDATE INBOX SET CLAIMED_BY" in statement.upper():
                    claims.append(statement)

            event.listen(worker.db.engine.sync_engine, "before_cursor_execute", before)
            await worker.start()
            try:
                await fake.wait_for("response_url", n, seconds=15)
                assert await worker.inbox.wait_idle(10)
            finally:
                await worker.stop()
            # SLOTS at a time would take at least n / SLOTS claims; the first claim takes
            # WORKER_SLOTS, and each later one whatever slots finishing jobs gave back.
            assert len(claims) <= 2 + n - WORKER_SLOTS < n // SLOTS
            assert {c.path for c in fake.called("response_url")} == {
                f"/response/b{i}" for i in range(n)}
            assert len(devices_rows(await env.audit())) == n


@contextlib.asynccontextmanager
async def deskhand(tmp_path: Path, fake: FakeSlack, *, consume: bool = True) -> AsyncIterator[SlackEnv]:
    """deskhand on the test's database and FakeSlack; `consume=False`: no worker runs the inbox."""
    port = free_port()
    runner, live = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
        slack_signing_secret=SECRET, slack_bot_token=BOT_TOKEN, slack_api_url=fake.url + "/api/",
        metrics_token=METRICS_TOKEN))
    if not consume:
        await live.runtime.inbox.stop()
    try:
        async with aiohttp.ClientSession() as http:
            yield SlackEnv(fake, live, http)
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    try:
        yield fake
    finally:
        await fake.stop()


def command_payload(env_or_fake: Any, text_: str, response: str) -> dict[str, Any]:
    """A stored slash command as the listener writes it."""
    fake = env_or_fake.fake if isinstance(env_or_fake, SlackEnv) else env_or_fake
    body = dict(parse_qsl(SlackEnv(fake, None, None).command_body(  # type: ignore[arg-type]
        ALEX, "/devices", text_, response=response)))
    return {"team": body["team_id"], "body": body}


async def stored(tmp_path: Path, *items: NewItem, holder: str | None = None) -> None:
    """Rows in the inbox before deskhand starts, as a previous process left them."""
    db = Database(sqlite_url(tmp_path))
    await migrate.upgrade(db.engine)
    store = InboxStore(db.engine)
    await store.add(list(items))
    if holder is not None:  # claimed by a worker that died: its lease has lapsed
        await store.claim(holder, len(items), timedelta(seconds=60), ["slack"])
        async with db.engine.begin() as conn:
            await conn.execute(update(TABLE).values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    await db.dispose()


def item(payload: dict[str, Any], *, age: timedelta = timedelta(0)) -> NewItem:
    sealed = SecretBox([KEY]).seal(orjson.dumps(payload).decode())
    return NewItem("slack", "command", sealed, datetime.now(UTC) - age)


def devices_rows(events: list[Any]) -> list[Any]:
    return [e for e in events if (e.kind, e.action) == ("command", "devices")]


async def test_an_acked_command_is_run_by_the_next_process(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        async with deskhand(tmp_path, fake, consume=False) as env:
            status, _, _ = await env.command(ALEX, "/devices", "", response="kept")
            assert status == 200
            assert await env.server.runtime.inbox.wait_idle(5)  # written, and nobody to run it
            assert await env.server.runtime.inbox.store.counts() == (1, 0)
            (row,) = await env.server.runtime.inbox.store.claim("peek", 1, timedelta(0), ["slack"])
            assert "response_url" not in row.payload  # sealed at rest
            body = orjson.loads(SecretBox([KEY]).open(row.payload))["body"]
            assert body["response_url"].endswith("/response/kept")
            assert "token" not in body  # Slack's legacy verification token is not kept
            async with env.server.runtime.db.engine.begin() as conn:
                await conn.execute(update(TABLE).values(claimed_by=None, lease_until=None))
            await asyncio.sleep(0.05)
            async with env.http.get(f"{env.server.url}/metrics",
                                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as resp:
                lines = dict(line.rsplit(" ", 1) for line in (await resp.text()).splitlines()
                             if line.startswith("deskhand_inbox"))
            assert (lines["deskhand_inbox_queued"], lines["deskhand_inbox_running"]) == ("1.0", "0.0")
            assert 0.05 <= float(lines["deskhand_inbox_oldest_seconds"]) < 30  # the backlog shows
            await asyncio.sleep(0.2)
            assert not fake.called("response_url")
        async with deskhand(tmp_path, fake) as env:  # the restart
            (card,) = await fake.wait_for("response_url")
            assert card.path == "/response/kept"
            assert "Devices" in str(card.args)
            await env.idle()
            assert len(devices_rows(await env.audit())) == 1
            assert await env.server.runtime.inbox.store.counts() == (0, 0)


async def test_work_whose_worker_died_is_reported_and_not_run_again(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        await stored(tmp_path, item(command_payload(fake, "", "lost")), holder="host:1:dead")
        async with deskhand(tmp_path, fake) as env:
            (note,) = await fake.wait_for("response_url")
            assert note.path == "/response/lost"
            assert note.args["response_type"] == "ephemeral"
            said = str(note.args["blocks"])
            assert "may not have finished" in said and "“/devices”" in said
            assert "check before you run it again" in said
            await env.idle()
            assert devices_rows(await env.audit()) == []  # not run a second time
            assert await env.server.runtime.inbox.store.counts() == (0, 0)


async def test_a_request_that_waited_too_long_is_not_run(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        await stored(tmp_path, item(command_payload(fake, "", "late"), age=timedelta(hours=2)),
                     item(command_payload(fake, "", "fresh")))
        async with deskhand(tmp_path, fake) as env:
            (card,) = await fake.wait_for("response_url")
            # Two hours on, the late request's response_url has expired: the note goes by the API.
            (note,) = await fake.wait_for("chat.postEphemeral")
            await env.idle()
            assert card.path == "/response/fresh" and "Devices" in str(card.args)
            assert note.args["user"] == ALEX
            assert "waited too long" in str(note.args) and "within 10 minutes" in str(note.args)
            assert len(devices_rows(await env.audit())) == 1  # only the fresh one ran


async def test_a_failed_write_is_told_to_the_sender(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        async with env.server.runtime.db.engine.begin() as conn:
            await conn.execute(text("DROP TABLE inbox"))  # the database refuses every write
        status, _, _ = await env.command(ALEX, "/devices", "web", response="refused")
        assert status == 200  # the ack never waits on the database
        (note,) = await env.fake.wait_for("response_url")
        said = str(note.args)
        assert "could not take “/devices web”" in said and "ref " in said
        assert "Traceback" not in said
        mention = env.event_body("event_app_mention", "Ev0FAIL", user=ALEX)
        status, _, _ = await env.event(mention)
        assert status == 500  # events are stored before the answer: Slack delivers it again


async def test_claims_never_overlap(db_url: str) -> None:
    dbs = [Database(db_url) for _ in range(3)]
    await migrate.upgrade(dbs[0].engine)
    try:
        stores = [InboxStore(db.engine) for db in dbs]
        await stores[0].add([NewItem("slack", "command", "{}", datetime.now(UTC)) for _ in range(150)])

        async def drain(store: InboxStore, holder: str) -> list[int]:
            taken: list[int] = []
            while batch := await store.claim(holder, 7, timedelta(seconds=60), ["slack"]):
                taken += [i.id for i in batch]
            return taken

        assert await stores[0].claim("teams-only", 10, timedelta(seconds=60), ["teams"]) == []
        taken = await asyncio.gather(*(drain(s, f"w{i}") for i, s in enumerate(stores)))
        every = [i for ids in taken for i in ids]
        assert len(every) == len(set(every)) == 150
        assert await stores[0].counts() == (0, 150)
        assert await stores[0].take_lapsed(["slack"]) == []  # every lease is live
        await stores[1].finish("w0", taken[1])  # not w0's: a late finish deletes nothing
        assert await stores[0].counts() == (0, 150)
        await stores[1].finish("w1", taken[1])
        assert await stores[0].counts() == (0, 150 - len(taken[1]))
    finally:
        for db in dbs:
            await db.dispose()


async def test_replay_keys_let_each_request_in_once(database: Database) -> None:
    """On SQLite and PostgreSQL: a key taken in one batch, a later one, or directly is refused."""
    store = InboxStore(database.engine)
    now = datetime.now(UTC)
    later = now + timedelta(minutes=6)

    def item(key: str | None) -> NewItem:
        return NewItem("slack", "command", "sealed", now, key, later if key else None)

    assert await store.add([item("a"), item(None), item("a"), item("b")]) == [True, True, False, True]
    assert await store.add([item("b"), item("c")]) == [False, True]
    assert await store.claim_key("d", later) is True and await store.claim_key("d", later) is False
    assert await store.claim_key("a", later) is False
    assert await store.counts() == (4, 0)  # a, the keyless one, b, c
    async with database.engine.begin() as conn:  # as if the window had passed
        await conn.execute(text("UPDATE request_keys SET expires_at = :t WHERE key IN ('a', 'b')"),
                           {"t": (now - timedelta(seconds=1)).replace(tzinfo=None)
                            if database.dialect == "sqlite" else now - timedelta(seconds=1)})
    assert await store.forget_keys() == 2
    assert await store.add([item("a")]) == [True]
