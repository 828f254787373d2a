"""`deskhand devices import` as a real process on a temporary SQLite database: dry run, import,
idempotent re-import, groups made and matched, a re-import that omits devices (kept, or retired
with --retire-missing), and malformed files refused whole with exit code 2 and the line at fault."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.scheduler import Claims
from bot.text_files import Unreadable, read_text
from handlers.inventory.import_file import BadFile, parse
from handlers.inventory.sync import JOB, LEASE
from storage.audit import AuditRepo
from storage.db import Database
from storage.devices import Device, ManagementGroup
from storage.inventory import DeviceSource
from storage.tenants import TenantRepo
from tests.bot.test_cli import _env, run
from tests.conftest import sqlite_url

Fleet = dict[str, tuple[str | None, str | None, str | None, str, str | None, bool, list[str]]]

DEVICES = """\ufeffName,FQDN,Serial,Platform,Group,Owner
KIOSK-01,kiosk-01.shop.example.com,SN-K1,Windows 10 IoT,Shop Floor,
KIOSK-02,,SN-K2,Windows 10 IoT,shop floor,ann@example.com
"PRINTER, LOBBY",,,Embedded,,
SCANNER-7,scanner-7.shop.example.com,,,Warehouse,Bob@Example.com

"""


async def fleet(url: str) -> Fleet:
    """Every device by name: (fqdn, serial, owner, os, group, retired, sources)."""
    db = Database(url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug("acme")
            if tenant is None:
                return {}
            rows = (await uow.session.execute(
                select(Device, ManagementGroup.name)
                .outerjoin(ManagementGroup, ManagementGroup.id == Device.management_group_id)
                .where(Device.tenant_id == tenant.id))).all()
            sources = (await uow.session.execute(select(DeviceSource.device_id, DeviceSource.source)
                                                 .order_by(DeviceSource.source))).all()
    finally:
        await db.dispose()
    by_device: dict[int, list[str]] = {}
    for device_id, source in sources:
        by_device.setdefault(device_id, []).append(source)
    return {d.name: (d.fqdn, d.serial, d.owner_email, d.os, g, d.retired_at is not None,
                     by_device.get(d.id, [])) for d, g in rows}


async def imports(url: str) -> list[dict[str, object]]:
    db = Database(url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug("acme")
            assert tenant is not None
            return [e.params for e in await uow.repo(AuditRepo).query(tenant.id)
                    if e.action == "devices.import"]
    finally:
        await db.dispose()


def test_import_dry_run_idempotent_and_a_reimport_that_omits_devices(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    env = _env(url)
    devices = tmp_path / "devices.csv"
    devices.write_text(DEVICES, encoding="utf-8")
    [upgraded] = run((env, ["db", "upgrade"]), cwd=tmp_path)
    assert upgraded.code == 0, upgraded.err

    [dry] = run((env, ["devices", "import", str(devices), "--dry-run"]), cwd=tmp_path)
    assert dry.code == 0, dry.err
    assert dry.out.splitlines() == [
        "dry run for tenant acme: 4 device(s) to add, 0 to update, 0 unchanged; 3 to change "
        "group; 2 management group(s) to create; nothing was written",
        "  new management group(s): Shop Floor, Warehouse"]
    assert asyncio.run(fleet(url)) == {}

    [done] = run((env, ["devices", "import", str(devices)]), cwd=tmp_path)
    assert done.code == 0, done.err
    assert done.out.splitlines()[0] == (
        "imported into tenant acme: 4 device(s) added, 0 updated, 0 unchanged; 3 changed group; "
        "2 management group(s) created")
    expected: Fleet = {
        "KIOSK-01": ("kiosk-01.shop.example.com", "SN-K1", None, "Windows 10 IoT", "Shop Floor",
                     False, ["import"]),
        "KIOSK-02": (None, "SN-K2", "ann@example.com", "Windows 10 IoT", "Shop Floor", False,
                     ["import"]),
        "PRINTER, LOBBY": (None, None, None, "Embedded", None, False, ["import"]),
        "SCANNER-7": ("scanner-7.shop.example.com", None, "bob@example.com", "", "Warehouse",
                      False, ["import"])}
    assert asyncio.run(fleet(url)) == expected

    [again] = run((env, ["devices", "import", str(devices)]), cwd=tmp_path)
    assert again.out.splitlines() == [
        "imported into tenant acme: 0 device(s) added, 0 updated, 4 unchanged; 0 changed group; "
        "0 management group(s) created"]
    assert asyncio.run(fleet(url)) == expected

    # A later file: KIOSK-02 moves, SCANNER-7 gains an OS, the printer and KIOSK-01 are gone.
    later = tmp_path / "later.csv"
    later.write_text("name,os,group\nkiosk-02,,Warehouse\nSCANNER-7,Android 14,Warehouse\n",
                     encoding="utf-8")
    [kept] = run((env, ["devices", "import", str(later)]), cwd=tmp_path)
    assert kept.code == 0, kept.err
    assert kept.out.splitlines() == [
        "imported into tenant acme: 0 device(s) added, 1 updated, 1 unchanged; 1 changed group; "
        "0 management group(s) created",
        "  2 device(s) imported before are not in this file: kept (--retire-missing retires the "
        "ones no vendor reports)"]
    found = asyncio.run(fleet(url))
    assert found["KIOSK-02"][4] == "Warehouse" and found["SCANNER-7"][3] == "Android 14"
    assert not found["KIOSK-01"][5] and not found["PRINTER, LOBBY"][5]

    [retired] = run((env, ["devices", "import", str(later), "--retire-missing"]), cwd=tmp_path)
    assert retired.out.splitlines()[1] == (
        "  2 device(s) imported before are not in this file: no longer imported; 2 no vendor "
        "reports were retired")
    found = asyncio.run(fleet(url))
    assert found["KIOSK-01"][5:] == (True, []) and found["PRINTER, LOBBY"][5:] == (True, [])
    assert found["KIOSK-02"][5:] == (False, ["import"])

    # Listed again, a retired device is the same machine by its serial: it comes back.
    [back] = run((env, ["devices", "import", str(devices), "--retire-missing"]), cwd=tmp_path)
    assert back.out.splitlines()[0].startswith("imported into tenant acme: 2 device(s) added")
    found = asyncio.run(fleet(url))
    assert found["KIOSK-01"][5:] == (False, ["import"])
    # The printer had no FQDN or serial: a name alone does not bring a retired device back.
    assert found["PRINTER, LOBBY"][5:] == (False, ["import"])
    assert [n for n in found if n.startswith("PRINTER, LOBBY (retired #")]

    audited = asyncio.run(imports(url))
    assert len(audited) == 5 and {"rows": 4, "added": 4, "updated": 0, "moved": 3,
                                  "groups_created": 2, "missing": 0, "retired": 0,
                                  "retire_missing": False} in audited

    # While a sync of the tenant runs (it holds the tenant's inventory lease), no import.
    asyncio.run(hold_the_sync_lease(url))
    other, busy = run((env, ["devices", "import", str(devices), "--tenant", "other"]),
                      (env, ["devices", "import", str(devices)]), cwd=tmp_path)
    assert other.code == 1 and other.err.strip() == "deskhand: there is no tenant 'other'"
    assert busy.code == 1 and busy.err.strip() == (
        "deskhand: an inventory sync of tenant acme is running; import when it ends (a few "
        "minutes)")
    assert len(asyncio.run(imports(url))) == 5


async def hold_the_sync_lease(url: str) -> None:
    db = Database(url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug("acme")
        assert tenant is not None
        assert await Claims(db, "replica-1").lease(JOB, LEASE, str(tenant.id))
    finally:
        await db.dispose()


BAD_ROWS = ("name,fqdn,serial,owner,group\nGOOD-1,good-1.example.com,S1,,\n,,S9,,\nGOOD-1,,,,\n"
            f"{'X' * 201},,,,\nPC-2,not a host,,,\nPC-3,,S1,,\nPC-4,,,not-an-email,\n"
            f"PC-5,,,,a,b\nPC-6,GOOD-1.example.com,,,\nPC-7,,,,{'G' * 201}\n")


def test_malformed_files_exit_2_with_the_line_at_fault_and_write_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    env = _env(url)
    [upgraded] = run((env, ["db", "upgrade"]), cwd=tmp_path)
    assert upgraded.code == 0, upgraded.err
    files = {"rows.csv": BAD_ROWS.encode(),
             "latin1.csv": "name,os\nPC-1,Windows\nCAFÉ-01,Windows\n".encode("latin-1"),
             "semicolons.csv": b"name;fqdn;serial\nPC-1;pc-1.example.com;S1\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    rows, latin1, semicolons = run(*((env, ["devices", "import", str(tmp_path / name)])
                                     for name in files), cwd=tmp_path)
    for result in (rows, latin1, semicolons):
        assert result.code == 2 and result.out == "", result
    assert rows.err.splitlines() == [
        f"deskhand: {tmp_path / 'rows.csv'} has 9 bad row(s); nothing was imported:",
        "  line 3: the name is empty; every device needs one",
        "  line 4: name good-1 is also on line 2; each device once",
        "  line 5: name is 201 characters or has control characters; at most 200 printable",
        "  line 6: fqdn 'not a host' is not a host name: letters, digits, dashes and dots, at "
        "most 255 characters",
        "  line 7: serial s1 is also on line 2; each device once",
        "  line 8: owner 'not-an-email' is not an email address",
        "  line 9: more fields than the 5 columns (quote values that hold commas)",
        "  line 10: fqdn good-1.example.com is also on line 2; each device once",
        "  line 11: group is 201 characters or has control characters; at most 200 printable"]
    assert latin1.err.strip() == (
        f"deskhand: {tmp_path / 'latin1.csv'} is not UTF-8 text: line 3 has the byte 0xC9, which "
        "UTF-8 does not allow (Windows-1252 or Latin-1?); save it as CSV UTF-8; nothing was "
        "imported")
    assert semicolons.err.strip() == (
        f"deskhand: {tmp_path / 'semicolons.csv'}: the first line is one column, "
        "'name;fqdn;serial': deskhand reads comma-separated values; save the file as CSV UTF-8 "
        "(comma delimited); nothing was imported")
    assert asyncio.run(fleet(url)) == {}  # nothing written, not even the tenant


@pytest.mark.parametrize(("data", "said"), [
    (b"", "the file is empty: its first line must name the columns: name, and any of fqdn, "
          "serial, os (or platform), group, owner"),
    (b"hostname,serial\nPC-1,S1\n", "the first line names the columns hostname, serial; it must "
                                     "name name, and any of fqdn, serial, os (or platform), "
                                     "group, owner, once each"),
    (b"name,os,platform\nPC-1,a,b\n", "the first line names the columns name, os, os; it must"),
    ("name\nPC-1\n".encode("utf-16"), "is UTF-16 text (Excel's \"Unicode Text\"): save it as "
                                       "CSV UTF-8"),
    (b"name,os\nPC-1,Win\x00dows\n", "is not a text file: line 2 holds a NUL byte"),
    (b'name,os\nPC-1,"Windows" 11\n', "line 2 cannot be read as CSV (',' expected after '\"')"),
    (b'name,os\nPC-1,"Windows 11\n', "line 2 cannot be read as CSV (unexpected end of data)"),
])
def test_files_that_are_not_csv_say_why(tmp_path: Path, data: bytes, said: str) -> None:
    path = tmp_path / "devices.csv"
    path.write_bytes(data)
    with pytest.raises((Unreadable, BadFile)) as refused:
        parse(read_text(str(path)))
    assert str(refused.value).removeprefix(f"{path} ").startswith(said), str(refused.value)


def test_a_bom_platform_and_quoted_commas_are_read() -> None:
    rows, bad = parse("\ufeffNAME, Platform ,Group\r\n\"PC, 1\",\"Windows \"\"11\"\"\",\r\n")
    assert bad == [] and [(r.line, r.name, r.os, r.group) for r in rows] == [
        (2, "PC, 1", 'Windows "11"', "")]
