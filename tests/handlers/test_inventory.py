"""Inventory sync against the three simulators over loopback: the first sync merges them, a
device moving group in 1E moves, a device 1E stops reporting is retired after the tenant's
days, a failing source moves no group while the others sync, and two processes on one
PostgreSQL database never sync one tenant twice at once nor duplicate a device."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import rbac_admin
from bot.rbac_admin import Granter
from bot.runtime import Runtime
from handlers.inventory.sync import run_sync
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.inventory import InventoryRepo
from storage.inventory_records import Seen
from storage.tenants import SettingsRepo
from tests.conftest import LiveServer, sqlite_url
from tests.handlers.integrations_env import person, say, text_of
from tests.handlers.inventory_env import admin, deskhand, inventory, one_device, simulators

PCS = [f"PC-{n:04d}" for n in range(1, 7)]


async def test_first_sync_merges_the_sources_and_follows_1e_groups(db_url: str) -> None:
    async with simulators() as sims, deskhand(db_url, sims) as rt:
        card = await say(LiveServer(rt, ""), await admin(rt), "devices sync")
        shown = text_of(card)
        assert card.title == "Inventory sync", shown
        found = await inventory(rt)
        assert sorted(found) == sorted([*PCS, "MAC-0001", "IPH-0001"])
        # PC-0001 is one device reported by all three (1E by FQDN, TeamViewer by name,
        # Workspace ONE by name and serial); groups are 1E's.
        assert found["PC-0001"] == ("London", None, ["1e", "teamviewer", "workspace-one"])
        assert found["PC-0005"] == ("Paris", None, ["1e"])
        assert found["MAC-0001"] == (None, None, ["teamviewer"])
        assert found["IPH-0001"] == (None, None, ["workspace-one"])
        # What changed, per source: 1E added its six (and placed them), the others one each;
        # Workspace ONE also updated PC-0001 with its enrolled user, which nobody else knew.
        rows = {r[0]: r[1:] for r in card.sections[0].rows}  # type: ignore[union-attr]
        assert rows == {"1E": ("6", "6", "0", "6", "0"), "TeamViewer": ("2", "1", "0", "0", "0"),
                        "Workspace ONE": ("2", "1", "1", "0", "0")}
        # `devices` shows each device's sources.
        listed = text_of(await say(LiveServer(rt, ""), await admin(rt), "devices PC-0001"))
        assert "1E, TeamViewer, Workspace ONE" in listed
        # And the device card, with when each last reported it.
        card_text = text_of(await say(LiveServer(rt, ""), await admin(rt), "device PC-0001"))
        assert "1E (" in card_text and "TeamViewer (5m ago)" in card_text, card_text
        assert "Workspace ONE (" in card_text

        # Idempotent: the same fleet again changes nothing.
        again = await run_sync(rt, rt.tenant_id)
        assert [(s.name, s.added, s.updated, s.moved) for s in again.sources] == [
            ("1e", 0, 0, 0), ("teamviewer", 0, 0, 0), ("workspace-one", 0, 0, 0)]
        assert await inventory(rt) == found


async def test_a_1e_that_caps_its_pages_is_walked_to_its_total(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1E answers at most 4 devices a page whatever PageSize asks: every device is still seen."""
    from integrations.tachyon import sim_devices

    monkeypatch.setattr(sim_devices, "MAX_PAGE", 4)
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims,
                                              inventory_page_size=10) as rt:
        result = await run_sync(rt, rt.tenant_id)
        [tachyon] = [s for s in result.sources if s.name == "1e"]
        assert tachyon.added == 6  # all six of 1E's devices, over two short pages
        assert {n for n, (_, _, src) in (await inventory(rt)).items() if "1e" in src} == set(PCS)


async def test_a_device_moving_group_and_a_device_disappearing(db_url: str) -> None:
    async with simulators() as sims, deskhand(db_url, sims) as rt:
        start = datetime.now(UTC)
        await run_sync(rt, rt.tenant_id, now=start)
        async with rt.db.uow() as uow:
            values = await uow.repo(SettingsRepo).get(rt.tenant_id)
            await uow.repo(SettingsRepo).put(rt.tenant_id, {**values, "inventory_retire_days": 7},
                                             "test")
            await uow.commit()

        sims.move(2, 2)
        sims.drop(6)
        report = await run_sync(rt, rt.tenant_id, now=start + timedelta(days=1))
        one = report.sources[0]
        assert (one.moved, one.unseen, report.retired) == (1, 1, 0)
        found = await inventory(rt)
        assert found["PC-0002"][0] == "Paris"
        assert found["PC-0006"][1] is None  # not reported for a day: still in the inventory

        later = start + timedelta(days=8, minutes=1)
        report = await run_sync(rt, rt.tenant_id, now=later)
        assert report.retired == 1
        found = await inventory(rt)
        assert found["PC-0006"][1] == later and found["PC-0005"][1] is None
        # Hidden from `devices` and lookups by name, still there by id (history, old buttons).
        listed = text_of(await say(LiveServer(rt, ""), await admin(rt), "devices PC-000"))
        assert "PC-0005" in listed and "PC-0006" not in listed
        async with rt.db.uow() as uow:
            devices = uow.repo(DeviceRepo)
            assert await devices.find(rt.tenant_id, "PC-0006") is None
            gone = (await devices.page(rt.tenant_id, query="PC-0005", group_ids=None, after=None,
                                       limit=1))[0][0]
        assert gone.name == "PC-0005"

        # 1E renames London: so does deskhand (the same group, found by its 1E id), nobody moves.
        sims.one.set_devices([replace(d, group="London HQ") if d.group_id == 1 else d
                              for d in sims.one.devices])
        report = await run_sync(rt, rt.tenant_id, now=later + timedelta(minutes=30))
        assert report.sources[0].moved == 0
        assert (await inventory(rt))["PC-0001"][0] == "London HQ"

        # Back at the vendor: back in the inventory, counted as added.
        sims.one.set_devices([*sims.one.devices, one_device(6, 2)])
        report = await run_sync(rt, rt.tenant_id, now=later + timedelta(hours=1))
        assert report.sources[0].added == 1
        assert (await inventory(rt))["PC-0006"][1] is None


async def test_a_failing_source_moves_no_group_and_the_others_sync(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        # 1E answers its devices, then refuses the management groups: the devices it gave are
        # merged (each batch commits), but no group change of its run is applied.
        sims.one.set_switches({"fail_next": 1, "fail_status": 400,
                               "fail_path": "managementgroups"})
        card = await say(LiveServer(rt, ""), await admin(rt), "devices sync")
        shown = text_of(card)
        assert "1E failed: " in shown and "none of its group changes were applied" in shown, shown
        assert "Nobody was retired" in shown
        rows = {r[0]: r[1:] for r in card.sections[0].rows}  # type: ignore[union-attr]
        assert rows["1E"] == ("6", "6", "0", "-", "-")
        found = await inventory(rt)
        assert sorted(found) == sorted([*PCS, "MAC-0001", "IPH-0001"])
        assert found["PC-0001"][2] == ["1e", "teamviewer", "workspace-one"]
        assert all(group is None for group, _, _ in found.values())

        report = await run_sync(rt, rt.tenant_id)  # 1E is back: its groups are applied
        assert not report.failed
        assert (report.sources[0].added, report.sources[0].moved) == (0, 6)
        assert (await inventory(rt))["PC-0001"] == ("London", None,
                                                    ["1e", "teamviewer", "workspace-one"])


async def test_only_administrators_sync(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        async with rt.db.uow() as uow:
            await uow.repo(DirectoryRepo).upsert_principal(rt.tenant_id, "sam@example.com", "Sam")
            await rbac_admin.grant(uow, rt.tenant_id, Granter("test"), "Endpoint Standard",
                                   email="sam@example.com")
            await uow.commit()
        sam = await person(LiveServer(rt, ""), rt.tenant_id, "sam@example.com")
        card = await say(LiveServer(rt, ""), sam, "devices sync")
        assert card.title != "Inventory sync" and await inventory(rt) == {}
        assert sims.one.hits == {}


@pytest.mark.postgres
async def test_two_processes_racing_on_one_postgresql(pg_url: str) -> None:
    async with simulators() as sims, deskhand(pg_url, sims) as first, \
            deskhand(pg_url, sims) as second:
        sims.one.switches.latency = 0.05  # long enough for the two to overlap
        a, b = await asyncio.gather(run_sync(first, first.tenant_id),
                                    run_sync(second, second.tenant_id))
        assert sorted([a.busy, b.busy]) == [False, True]
        assert sorted(await inventory(first)) == sorted([*PCS, "MAC-0001", "IPH-0001"])

        # Without the lease (two merges of the same new devices at once), the upserts still
        # end with one device each and no error.
        now = datetime.now(UTC)
        page = [Seen(f"x-{n}", f"NEW-{n:04d}", fqdn=f"new-{n:04d}.corp.example.com")
                for n in range(50)]

        async def merge(rt: Runtime, source: str) -> None:
            async with rt.db.uow() as uow:
                await uow.repo(InventoryRepo).merge_page(first.tenant_id, source, page, now)
                await asyncio.sleep(0.05)
                await uow.commit()

        await asyncio.gather(merge(first, "racer-a"), merge(second, "racer-b"))
        found = await inventory(first)
        assert len([n for n in found if n.startswith("NEW-")]) == 50
        assert found["NEW-0007"][2] == ["racer-a", "racer-b"]
