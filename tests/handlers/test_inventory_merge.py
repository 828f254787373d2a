"""Merge rules at the edges: a vendor's device whose name is longer than the column keeps its
source row under a name cut to 200 characters (and the report says so), a device that cannot be
kept is reported, not dropped unsaid; a retired device's name given to a new machine makes a new
device unless FQDN or serial say it is the same machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from handlers.inventory.sync import run_sync
from integrations.teamviewer.simulator import SimDevice as TVDevice
from storage.devices import Device
from storage.inventory import HELD, DeviceSource, InventoryRepo
from storage.inventory_records import Seen, fit
from tests.conftest import LiveServer, sqlite_url
from tests.handlers.integrations_env import say, text_of
from tests.handlers.inventory_env import admin, deskhand, inventory, simulators
from tests.handlers.test_inventory_groups import settings

LONG = "KIOSK-" + "X" * 244  # 250 characters


async def test_names_over_the_column_are_cut_and_said_and_nameless_devices_reported(
        tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        sims.tv.devices += [TVDevice(LONG), TVDevice("   ")]
        card = await say(LiveServer(rt, ""), await admin(rt), "devices sync")
        shown = text_of(card)
        assert ("TeamViewer: 1 device(s) could not be kept and 1 were kept with a name cut to 200 "
                "characters") in shown, shown
        assert "the device has no name" in shown and "name cut to 200 characters" in shown
        found = await inventory(rt)
        assert found[LONG[:200]] == (None, None, ["teamviewer"])  # its source row is there

        # The next sync finds it again by its TeamViewer id: nothing added, nothing lost.
        report = await run_sync(rt, rt.tenant_id)
        [tv] = [s for s in report.sources if s.name == "teamviewer"]
        assert (tv.added, tv.updated, tv.skipped, tv.shortened) == (0, 0, 1, 1)
        assert await inventory(rt) == found


async def test_a_fqdn_or_serial_over_its_column_is_left_out_not_cut(tmp_path: Path) -> None:
    cut, note = fit(Seen(" id-1 ", " PC-9 ", fqdn="a" * 256, serial="S" * 101, os="W" * 150))
    assert cut is not None and (cut.external_id, cut.name, cut.fqdn, cut.serial, len(cut.os)) == (
        "id-1", "PC-9", None, None, 100)
    assert note == "fqdn over 255 characters left out; serial over 100 characters left out"
    assert fit(Seen("x" * 201, "PC-9")) == (
        None, "the vendor's id is empty or over 200 characters")


async def test_a_retired_name_reused_by_a_new_machine(db_url: str) -> None:
    async with simulators() as sims, deskhand(db_url, sims) as rt:
        start = datetime.now(UTC)
        await run_sync(rt, rt.tenant_id, now=start)
        await settings(rt, inventory_retire_days=7)
        sims.drop(5)
        sims.drop(6)
        report = await run_sync(rt, rt.tenant_id, now=start + timedelta(days=8))
        assert report.retired == 2
        found = await inventory(rt)
        retired_6 = found["PC-0006"][1]
        assert retired_6 is not None

        # TeamViewer now has a PC-0006 (a new machine: TeamViewer gives no FQDN or serial), and
        # Workspace ONE a device called PC-0005 with PC-0005's serial (the same machine).
        sims.tv.devices.append(TVDevice("PC-0006"))
        sims.ws1.seed_devices([
            ("PC-0001", "SN000001", None, "WinRT", "10.0.22631", "ann@example.com"),
            ("IPH-0001", "F2LX0001", None, "Apple", "18.1", "bob@example.com"),
            ("PC-0005", "SN000005", None, "WinRT", "10.0.22631", "eve@example.com")])
        later = start + timedelta(days=9)
        report = await run_sync(rt, rt.tenant_id, now=later)
        [tv] = [s for s in report.sources if s.name == "teamviewer"]
        [ws1] = [s for s in report.sources if s.name == "workspace-one"]
        assert (tv.added, ws1.added) == (1, 1)  # a new device; one back from retirement
        found = await inventory(rt)
        assert found["PC-0006"] == (None, None, ["teamviewer"])
        [old] = [n for n in found if n.startswith("PC-0006 (retired #")]
        assert found[old] == ("Paris", retired_6, ["1e"])  # its history stays with it, by id
        assert found["PC-0005"] == ("Paris", None, ["1e", "workspace-one"])

        # The retired record gave its name up once; merging the same page again changes nothing.
        async with rt.db.uow() as uow:
            merged = await uow.repo(InventoryRepo).merge_page(
                rt.tenant_id, "teamviewer", [Seen("other-id", "pc-0006")], later)
            await uow.commit()
        assert merged.added == 0  # matched the new PC-0006 by name
        assert sorted(n for n in await inventory(rt) if n.upper().startswith("PC-0006")) == [
            "PC-0006", old]


async def test_a_new_machine_never_takes_the_name_of_a_retired_one_coming_back(
        db_url: str) -> None:
    """One page brings retired PC-1 back by its FQDN (under a new name) and reports a new machine
    called PC-1: the new machine is not merged into PC-1's record, and the report says why."""
    async with simulators() as sims, deskhand(db_url, sims) as rt:
        now = datetime.now(UTC)
        async with rt.db.uow() as uow:
            repo = uow.repo(InventoryRepo)
            await repo.merge_page(rt.tenant_id, "teamviewer",
                                  [Seen("a", "PC-1", fqdn="pc-1.corp.example")], now)
            await uow.session.execute(update(Device).where(Device.name == "PC-1").values(
                retired_at=now))
            merged = await repo.merge_page(rt.tenant_id, "workspace-one", [
                Seen("w-a", "PC-1-renamed", fqdn="PC-1.corp.example"),
                Seen("w-b", "PC-1", fqdn="pc-9.corp.example", owner_email="new@example.com")],
                now + timedelta(days=1))
            await uow.commit()
            rows = (await uow.session.execute(select(DeviceSource.external_id, Device.name,
                                                     Device.owner_email).join(Device))).all()
        assert sorted(tuple(r) for r in rows) == [("a", "PC-1", None), ("w-a", "PC-1", None)]
        assert merged.skipped == (f"'w-b' ('PC-1'): {HELD}",)
