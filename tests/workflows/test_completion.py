"""When a run ends and what the poller logs on the way: a run finishes as soon as 1E's statistics
count every device in, and a poll that changes nothing says so only at DEBUG."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.logs import quiet_libraries
from handlers.instructions.driver import driver
from integrations.tachyon.sim_state import IN_PROGRESS
from tests.workflows.env import AVERY, card_state, console, field, instruction_env, next_where


async def test_a_run_finishes_once_statistics_count_every_device_in(tmp_path: Path) -> None:
    # Some of the fleet is offline, so 1E keeps the instruction In Progress for its whole gather
    # window (an hour here) even after the one targeted device has answered.
    async with instruction_env(tmp_path, offline_percent=2, error_percent=0) as env:
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run GetOperatingSystem on PC-0001")
            done = await next_where(avery, card_state(posted["id"], "completed"))
            assert field(done, "Progress").startswith("sent 1 · received 1 · outstanding 0")
            assert "Every targeted device answered" in done["card"]["fallback"]
        run = (await env.runs())[-1]
        assert run.answers_stored == 1 and run.vendor_id is not None
        assert env.sim.instructions[run.vendor_id].status(env.sim.now())[0] == IN_PROGRESS


async def test_a_run_with_a_device_still_out_stays_in_progress(tmp_path: Path) -> None:
    async with instruction_env(tmp_path, offline_percent=100, error_percent=0) as env:
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run GetOperatingSystem on PC-0001")
            await next_where(avery, lambda m: m["id"] == posted["id"] and field(m, "State") == "in progress"
                             and field(m, "Progress").startswith("sent 1 · received 0 · outstanding 1"))
        run = (await env.runs())[-1]
        await driver(env.rt).drive(run.id, run.tenant_id)
        assert (await env.run(run.id)).state == "in_progress"


@pytest.mark.usefixtures("restore_log_levels")
async def test_a_poll_that_changes_nothing_logs_nothing_at_info(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    quiet_libraries()  # the library levels deskhand runs with
    caplog.set_level(logging.DEBUG)
    async with instruction_env(tmp_path, answer_seconds=600, error_percent=0) as env:
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run GetOperatingSystem on PC-0001")
            await next_where(avery, card_state(posted["id"], "in progress"))
        run = (await env.runs())[-1]
        calls = f"GET /consumer/instructionstatistics/combined/{run.vendor_id}"
        caplog.clear()
        before = env.sim.hits[calls]
        while env.sim.hits[calls] < before + 2:  # two whole polls, by the scheduler or by us
            await driver(env.rt).drive(run.id, run.tenant_id)
            await asyncio.sleep(0.05)  # let the scheduler's own drive finish when it holds the run
        logged = list(caplog.records)  # the polls', before the test's deskhand stops
        assert (await env.run(run.id)).state == "in_progress"
    assert any(r.levelno == logging.DEBUG and r.getMessage().startswith(f"run {run.id}: 1E says")
               for r in logged)
    assert [r.getMessage() for r in logged if r.levelno >= logging.INFO] == []


@pytest.fixture
def restore_log_levels() -> object:
    saved = {name: logging.getLogger(name).level for name in ("httpx", "aiohttp.access", "apscheduler",
                                                              "alembic")}
    yield None
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
