"""`deskhand devices import` beside the vendor sync, on one PostgreSQL database: an imported
device merges with the vendors' record of it, the group source decides the groups of the devices
it reports, the sync never retires a device the last import listed, and a re-import with
--retire-missing leaves a device a vendor still reports to the sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.inventory.sync import run_sync
from tests.bot.test_cli import _env, run
from tests.conftest import LiveServer
from tests.handlers.integrations_env import say, text_of
from tests.handlers.inventory_env import admin, deskhand, inventory, simulators
from tests.handlers.test_inventory_groups import settings


@pytest.mark.postgres
async def test_import_beside_the_vendor_sync(pg_url: str, tmp_path: Path) -> None:
    env = _env(pg_url)
    first = tmp_path / "devices.csv"
    first.write_text("name,fqdn,group\nPC-0001,,Imported\npc-0002,,Imported\n"
                     "PRINTER-01,,Imported\nLAB-01,pc-0003.corp.example.com,Lab\n", encoding="utf-8")
    async with simulators() as sims, deskhand(pg_url, sims) as rt:
        start = datetime.now(UTC)
        await run_sync(rt, rt.tenant_id, now=start)
        [done] = run((env, ["devices", "import", str(first)]), cwd=tmp_path)
        assert done.code == 0, done.err
        assert done.out.splitlines() == [
            "imported into tenant acme: 1 device(s) added, 0 updated, 3 unchanged; 1 changed "
            "group; 2 management group(s) created",
            "  new management group(s): Imported, Lab",
            "  3 device(s) of the file are also reported by 1E, which decides their group "
            "(inventory_group_source): their group cell was not applied"]
        found = await inventory(rt)
        # Merged by name (PC-0001, pc-0002) and by FQDN (LAB-01 is PC-0003): one device each.
        assert found["PC-0001"] == ("London", None, ["1e", "import", "teamviewer",
                                                     "workspace-one"])
        assert found["PC-0003"] == ("London", None, ["1e", "import"]) and "LAB-01" not in found
        assert found["PRINTER-01"] == ("Imported", None, ["import"])
        listed = text_of(await say(LiveServer(rt, ""), await admin(rt), "devices PRINTER"))
        assert "CSV import" in listed

        # 1E stops reporting PC-0002 and PC-0004: after the retire days only PC-0004 goes (the
        # file lists PC-0002), and the import-only printer stays.
        await settings(rt, inventory_retire_days=7)
        sims.drop(2)
        sims.drop(4)
        report = await run_sync(rt, rt.tenant_id, now=start + timedelta(days=8))
        assert report.retired == 1
        found = await inventory(rt)
        assert found["PC-0004"][1] is not None
        assert found["PC-0002"][1] is None and found["PRINTER-01"][1] is None

        # The next file drops PC-0002 and the printer: the printer (no vendor) is retired, PC-0002
        # is left to the sync, which retires it at its next run (1E has not seen it for 8 days).
        later = tmp_path / "later.csv"
        later.write_text("name\nPC-0001\n", encoding="utf-8")
        [dropped] = run((env, ["devices", "import", str(later), "--retire-missing"]),
                        cwd=tmp_path)
        assert dropped.code == 0, dropped.err
        assert dropped.out.splitlines()[-1] == (
            "  3 device(s) imported before are not in this file: no longer imported; 1 no vendor "
            "reports was retired")
        found = await inventory(rt)
        assert found["PRINTER-01"][1] is not None and found["PC-0002"][1] is None
        assert found["PC-0003"][2] == ["1e"]
        report = await run_sync(rt, rt.tenant_id, now=start + timedelta(days=8, hours=1))
        assert report.retired == 1 and (await inventory(rt))["PC-0002"][1] is not None
