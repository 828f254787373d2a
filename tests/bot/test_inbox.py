"""Admission of Slack work after the ack: a bounded number of jobs run at once, a slow job gives its
slot back after `hold`, a cancelled queued job frees nothing it never held, urgent work skips the
queue, and a burst of real slash commands still gets every card."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

from bot.platforms.slack.adapter import SLOTS, Admission
from tests.fakes.slack_api import ALEX, slack_env


async def test_no_more_than_the_slots_run_at_once() -> None:
    admission = Admission(slots=3, hold=10)
    running, most, release = 0, 0, asyncio.Event()

    async def job() -> None:
        nonlocal running, most
        async with admission.slot():
            running += 1
            most = max(most, running)
            await release.wait()
            running -= 1

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
        async with admission.slot():
            await stuck.wait()  # a vendor that never answers

    async def quick() -> None:
        async with admission.slot():
            second_ran.set()

    first = asyncio.create_task(slow())
    await asyncio.sleep(0)
    second = asyncio.create_task(quick())
    await asyncio.wait_for(second_ran.wait(), 1)  # not blocked behind the stuck job
    stuck.set()
    await asyncio.gather(first, second)
    # Both slots-worth were returned exactly once: one fresh job may run, a second must wait.
    async with admission.slot():
        blocked = asyncio.create_task(admission.slot().__aenter__())
        await asyncio.sleep(0.01)
        assert not blocked.done()
        blocked.cancel()
        await asyncio.gather(blocked, return_exceptions=True)


async def test_cancelled_queued_work_never_starts_and_never_warns(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        adapter = env.adapter
        started: list[int] = []

        async def work(i: int) -> None:
            started.append(i)
            await asyncio.sleep(10)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(SLOTS + 3):
                adapter.spawn(work(i))
            await asyncio.sleep(0.05)
            assert started == list(range(SLOTS))  # the rest queue for a slot
            assert not await adapter.wait_idle(0.01)
            for task in list(adapter._tasks):
                task.cancel()
            await asyncio.gather(*adapter._tasks, return_exceptions=True)
            await asyncio.sleep(0.01)  # the loop drops its last references to the tasks
            gc.collect()
        assert started == list(range(SLOTS))
        assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_urgent_work_skips_a_full_queue(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        adapter = env.adapter
        release, urgent_ran = asyncio.Event(), asyncio.Event()

        async def busy() -> None:
            await release.wait()

        async def urgent() -> None:
            urgent_ran.set()

        for _ in range(SLOTS * 2):
            adapter.spawn(busy())
        adapter.spawn(urgent(), urgent=True)
        await asyncio.wait_for(urgent_ran.wait(), 0.2)  # well inside the slots' hold time
        release.set()
        assert await adapter.wait_idle(5)


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
