"""`deskhand` as a real process on a temporary SQLite database: schema, roles, audit export.

Independent invocations run side by side to keep the test quick (each one starts Python).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from storage import migrate
from storage.db import Database
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo
from tests.conftest import SECRET, sqlite_url

DESKHAND = str(Path(sys.executable).parent / "deskhand")


@dataclass
class Result:
    code: int
    out: str
    err: str


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env.update(DESKHAND_DATABASE_URL=url, DESKHAND_SECRET_KEY=SECRET, DESKHAND_TENANT="acme", **extra)
    return env


def run(*calls: tuple[dict[str, str], list[str]], cwd: Path, timeout: float = 60) -> list[Result]:
    """Start every call at once, wait for all (none is left running if one fails)."""
    procs = [subprocess.Popen([DESKHAND, *argv], env=env, cwd=cwd, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for env, argv in calls]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            results.append(Result(proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for r in results:
        assert "Traceback" not in r.err, r.err
    return results


async def _seed_directory(url: str) -> None:
    """What SCIM and the inventory sync would have filled in."""
    db = Database(url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug("acme")
            assert tenant is not None
            await uow.repo(DirectoryRepo).upsert_principal(tenant.id, "bob@example.com", "Bob")
            for group, device in (("London", "PC-1"), ("Paris", "PC-2")):
                row = await uow.repo(DeviceRepo).ensure_group(tenant.id, group)
                await uow.repo(DeviceRepo).upsert(tenant.id, device, management_group_id=row.id)
            await uow.commit()
    finally:
        await db.dispose()


def test_cli_end_to_end(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    env = _env(url)
    (tmp_path / "fresh").mkdir()
    not_upgraded, bad_settings, upgraded = run(
        (_env(sqlite_url(tmp_path / "fresh")), ["rbac", "list"]),
        (_env(url, DESKHAND_PORT="0", DESKHAND_MODE="staging"), ["db", "upgrade"]),
        (env, ["db", "upgrade"]), cwd=tmp_path)
    assert not_upgraded.code == 2
    assert not_upgraded.err.strip() == (
        "deskhand: the database has no deskhand schema yet; run `deskhand db upgrade` (with this "
        "release), then start again")
    assert bad_settings.code == 2
    assert sorted(bad_settings.err.strip().splitlines()) == [
        "deskhand: DESKHAND_MODE: Input should be 'production', 'demo' or 'dev'",
        "deskhand: DESKHAND_PORT: Input should be greater than or equal to 1"]
    head = migrate.head_revision()
    assert upgraded.code == 0 and upgraded.out.strip() == f"schema revision: {head} (code expects {head})"

    [boot] = run((env, ["rbac", "bootstrap-admin", "ann@example.com", "--name", "Ann Admin"]),
                 cwd=tmp_path)
    assert boot.code == 0
    assert boot.out.strip() == "ann@example.com is now a Full Administrator (assignment #1)"
    [again] = run((env, ["rbac", "bootstrap-admin", "ann@example.com"]), cwd=tmp_path)
    assert again.code == 0 and again.out.strip() == (
        "ann@example.com already has Full Administrator over all devices (assignment #1); "
        "nothing changed")
    asyncio.run(_seed_directory(url))

    unscoped, unknown_role, nobody = run(
        (env, ["rbac", "grant", "Remote Support", "--to", "bob@example.com"]),
        (env, ["rbac", "grant", "Wizard", "--to", "bob@example.com"]),
        (env, ["rbac", "grant", "Auditor", "--to", "eve@example.com"]), cwd=tmp_path)
    assert unscoped.code == 1 and unscoped.out == ""
    assert unscoped.err.startswith(
        "deskhand: Remote Support must be limited to named management groups or devices")
    assert unknown_role.code == 1 and unknown_role.err.startswith(
        "deskhand: there is no role `Wizard`; roles: Actioner, Approver, Auditor, ")
    assert nobody.code == 1 and nobody.err.strip() == (
        "deskhand: nobody with the email eve@example.com is in the directory")

    [granted] = run((env, ["rbac", "grant", "remote support", "--to", "bob@example.com",
                           "--groups", "London"]), cwd=tmp_path)
    assert granted.code == 0, granted.err
    assert granted.out.strip() == "granted remote support to bob@example.com (assignment #2)"
    [twice] = run((env, ["rbac", "grant", "Remote Support", "--to", "bob@example.com",
                         "--groups", "london"]), cwd=tmp_path)
    assert twice.code == 0 and twice.out.strip() == (
        "bob@example.com already has Remote Support over groups London (assignment #2); "
        "nothing changed")

    export = tmp_path / "audit.csv"
    inside, outside, listed, exported = run(
        (env, ["rbac", "why", "bob@example.com", "remote.session", "PC-1"]),
        (env, ["rbac", "why", "bob@example.com", "remote.session", "pc-2"]),
        (env, ["rbac", "list"]),
        (env, ["audit", "export", "--since", "1h", "-o", str(export)]), cwd=tmp_path)
    assert inside.out.strip() == "allowed: role Remote Support held directly, over groups London"
    assert outside.out.strip() == ("denied: PC-2 is in group Paris; out of scope: "
                                   "Remote Support (directly) covers groups London")
    assert listed.code == 0
    lines = listed.out.splitlines()
    assert ("Remote Support [system]: device.read, incident.read, remote.install, remote.session"
            in lines)
    assert "#1 Full Administrator -> ann@example.com groups=all devices=-" in lines
    assert "#2 Remote Support -> bob@example.com groups=['London'] devices=-" in lines

    assert exported.code == 0 and exported.out == ""
    rows = list(csv.DictReader(io.StringIO(export.read_text())))
    assert [(r["action"], r["actor_email"], r["target"], r["outcome"]) for r in rows] == [
        ("rbac grant", "cli", "bob@example.com", "ok"),
        ("rbac bootstrap-admin", "cli", "ann@example.com", "ok")]
    assert rows[0]["params"] == '{"role": "remote support", "to": "bob@example.com", "groups": "London"}'

    linked, bad_id, unknown = run(
        (env, ["groups", "link", "london", "--tachyon-id", "17"]),
        (env, ["groups", "link", "Paris", "--tachyon-id", "17; drop"]),
        (env, ["groups", "link", "Atlantis", "--tachyon-id", "3"]), cwd=tmp_path)
    assert linked.code == 0 and linked.out.strip() == (
        "group London: `group:` runs go to 1E as management group 17")
    assert bad_id.code == 1 and "--tachyon-id takes the 1E management group's id" in bad_id.err
    assert unknown.code == 1 and unknown.err.strip() == (
        "deskhand: there is no management group 'Atlantis'; groups: London, Paris")
    [listed] = run((env, ["groups", "list"]), cwd=tmp_path)
    assert listed.out.splitlines() == ["London: 1 devices; 1E management group 17",
                                       "Paris: 1 devices; not linked to 1E"]
    [unlinked] = run((env, ["groups", "unlink", "London"]), cwd=tmp_path)
    assert unlinked.out.strip() == "group London: `group:` runs go to 1E as a device list"
