"""Inventory sync runs at scale: each batch commits with its lease renewed, so a second process
cannot start while the first is mid-source however long the source takes; a sync that lost its
lease writes nothing more; a source failing mid-way leaves its merged batches and nothing
half-applied (no group move, no retirement); the scheduled sync prunes its old claims."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from handlers.inventory import sync
from handlers.inventory.sync import JOB, Growth, run_sync, sync_due
from storage.claims import JobClaim
from storage.inventory import DeviceSource
from storage.tenants import SettingsRepo
from tests.conftest import sqlite_url
from tests.handlers.inventory_env import Sims, deskhand, inventory, one_device, simulators
from tests.workflows.env import eventually

DEVICES = "POST /consumer/devices"  # how the 1E simulator counts its device-list calls
SMALL = {"inventory_page_size": 10, "inventory_batch_size": 10}  # a batch is a page of 10


def fleet_of(sims: Sims, n: int) -> None:
    """1E reports pc-0001..n, the first half in London, the rest in Paris."""
    sims.one.set_devices([one_device(i, 1 if i <= n // 2 else 2) for i in range(1, n + 1)])


async def when_called(sims: Sims, times: int) -> None:
    """Once 1E has been asked for a page of devices `times` times."""
    async def called() -> bool:
        return sims.one.hits[DEVICES] >= times

    await eventually(called)


async def test_a_source_failing_mid_way_moves_no_group_and_retires_nobody(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims, **SMALL) as rt:
        fleet_of(sims, 30)
        start = datetime.now(UTC)
        assert not (await run_sync(rt, rt.tenant_id, now=start)).failed
        async with rt.db.uow() as uow:
            values = await uow.repo(SettingsRepo).get(rt.tenant_id)
            await uow.repo(SettingsRepo).put(rt.tenant_id, {**values, "inventory_retire_days": 7},
                                             "test")
            await uow.commit()
        sims.move(2, 2)  # would move to Paris
        sims.drop(30)  # would be retired: unreported for more than 7 days
        # The second page of 1E's devices fails: the first batch (pc-0001..10) is merged. 1E is
        # asked for its groups' members first (London and Paris, two pages of 10 each).
        sims.one.set_switches({"fail_next": 1, "fail_after": 5, "fail_status": 400,
                               "fail_path": DEVICES})
        later = start + timedelta(days=8)
        report = await run_sync(rt, rt.tenant_id, now=later)
        one = report.sources[0]
        assert one.failed and one.seen == 10 and (one.moved, one.unseen) == (0, 0)
        assert report.retire_skipped and report.retired == 0
        assert [s.failed for s in report.sources[1:]] == ["", ""]  # the others still synced
        found = await inventory(rt)
        assert found["PC-0002"][0] == "London"  # no group moved
        assert found["PC-0030"][1] is None  # nobody retired
        async with rt.db.uow() as uow:
            marks = dict((await uow.session.execute(
                select(DeviceSource.name, DeviceSource.seen_at).where(
                    DeviceSource.source == "1e"))).all())
        assert {n for n, at in marks.items() if at == later} == {f"PC-{i:04d}" for i in range(1, 11)}

        done = await run_sync(rt, rt.tenant_id, now=later + timedelta(minutes=1))
        assert not done.failed and done.retired == 1 and done.sources[0].moved == 1
        found = await inventory(rt)
        assert found["PC-0002"][0] == "Paris"
        assert found["PC-0030"][1] == later + timedelta(minutes=1)


async def test_a_sync_that_lost_its_lease_writes_nothing_more(tmp_path: Path) -> None:
    """Another replica holds the tenant's lease now (this sync paused past it): this one stops
    at its next batch, leaves the other's lease alone, and syncs no further source."""
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims, **SMALL) as rt:
        fleet_of(sims, 60)
        sims.one.switches.latency = 0.3

        async def take_over() -> None:
            await when_called(sims, 8)  # its groups' members (6 pages), two batches read
            async with rt.db.uow() as uow:
                await uow.session.execute(update(JobClaim).where(
                    JobClaim.job == JOB, JobClaim.key == str(rt.tenant_id)).values(
                    holder="another-replica", lease_until=datetime.now(UTC) + timedelta(hours=1)))
                await uow.commit()

        report, _ = await asyncio.gather(run_sync(rt, rt.tenant_id), take_over())
        assert [s.name for s in report.sources] == ["1e"] and report.retire_skipped
        assert "another sync of this workspace took over" in report.sources[0].failed
        found = await inventory(rt)
        assert 0 < len(found) < 60 and sims.tv.hits == {}
        async with rt.db.uow() as uow:
            holder = (await uow.session.execute(select(JobClaim.holder).where(
                JobClaim.job == JOB, JobClaim.key == str(rt.tenant_id)))).scalar_one()
        assert holder == "another-replica"


@pytest.mark.postgres
async def test_a_second_process_cannot_start_while_the_first_is_mid_source(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """1E's pages take longer than the lease (2 s here, 30 minutes in production): renewed
    with each batch (and each batch's worth of group members read first), it still shuts the
    second process out mid-source."""
    monkeypatch.setattr(sync, "LEASE", timedelta(seconds=2))
    async with simulators() as sims, deskhand(pg_url, sims, **SMALL) as first, \
            deskhand(pg_url, sims, **SMALL) as second:
        fleet_of(sims, 60)
        sims.one.switches.latency = 0.8  # a page every 0.8 s: the 4th asked for after 2.4 s

        async def second_mid_source() -> bool:
            await when_called(sims, 4)
            busy = (await run_sync(second, second.tenant_id)).busy
            sims.one.switches.latency = 0
            return busy

        report, busy = await asyncio.gather(run_sync(first, first.tenant_id), second_mid_source())
        assert busy and not report.busy and not report.failed
        assert report.sources[0].seen == 60
        assert len(await inventory(first)) == 60 + 2  # and TeamViewer's and Workspace ONE's own
        assert not (await run_sync(second, second.tenant_id)).busy  # the first released it


async def test_the_scheduled_sync_prunes_the_claims_of_past_periods(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims,
                                              inventory_sync_seconds=3600) as rt:
        now = datetime.now(UTC)
        key = str(rt.tenant_id)
        async with rt.db.uow() as uow:
            for job, k, at, until in (
                    (f"{JOB}.due", f"{key}:1", now - timedelta(days=30), None),
                    (f"{JOB}.due", f"{key}:2", now - timedelta(hours=3), None),
                    (JOB, "99", now - timedelta(days=2), now - timedelta(days=2)),  # died
                    ("reminders.other", "x", now - timedelta(days=30), None)):
                uow.session.add(JobClaim(job=job, key=k, holder="old", claimed_at=at,
                                         lease_until=until))
            await uow.commit()
        await sync_due(rt)
        async with rt.db.uow() as uow:
            left = sorted((await uow.session.execute(select(JobClaim.job, JobClaim.key))).all())
        slot = int(datetime.now(UTC).timestamp()) // 3600
        assert (f"{JOB}.due", f"{key}:{slot}") in left  # this period's: it ran, once
        assert not {(f"{JOB}.due", f"{key}:1"), (f"{JOB}.due", f"{key}:2"), (JOB, "99")} & set(left)
        assert ("reminders.other", "x") in left
        assert (await inventory(rt))["PC-0001"][0] == "London"  # and it synced


@pytest.mark.postgres
async def test_a_bulk_arrival_refreshes_postgresql_statistics(pg_url: str) -> None:
    """A first sync of thousands of devices analyzes the inventory tables as it goes, so
    PostgreSQL does not plan its lookups, group moves and retirement as over empty tables."""
    async with simulators() as sims, deskhand(pg_url, sims) as rt:
        fleet_of(sims, 1200)
        assert not (await run_sync(rt, rt.tenant_id)).failed
        async with rt.db.uow() as uow:
            analyzed = (await uow.session.execute(text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND "
                "relname IN ('devices', 'device_sources')"))).scalar_one()
        assert analyzed == 2


def test_statistics_are_refreshed_each_time_the_added_devices_double() -> None:
    growth = Growth()
    due = [growth.add(500) for _ in range(16)]  # 500 devices a batch, 8,000 in all
    assert [500 * (i + 1) for i, d in enumerate(due) if d] == [1000, 2000, 4000, 8000]
    assert not Growth().add(0)
