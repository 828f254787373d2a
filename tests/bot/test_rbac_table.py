"""Every system role x every permission x device in scope / out of scope, through the database.

The expected outcome is written out below by hand, not derived from `SYSTEM_ROLES`, so a
change to a role's permissions (or to how scope is decided) makes this table fail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import rbac_admin
from bot.rbac import PERMISSIONS, SYSTEM_ROLES, DeviceScope, Grant, decide, ensure_system_roles, grants_of
from bot.rbac_admin import Granter, Scope
from storage import migrate
from storage.db import Database
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo, RoleAssignment
from storage.tenants import TenantRepo
from tests.conftest import sqlite_url

ROLES = {
    "FA": "Full Administrator", "RS": "Remote Support", "AC": "Actioner", "QU": "Questioner",
    "AP": "Approver", "ES": "Endpoint Standard", "EA": "Endpoint Advanced",
    "CV": "Console Viewer", "DA": "Data Access Admin", "IA": "Infrastructure Admin", "AU": "Auditor",
}
# D: held, decided per device (allowed in scope, denied out of scope, allowed when unscoped).
# T: held, tenant-wide (denied on any scoped assignment, allowed only on an unscoped one).
# .: not held (denied everywhere).
TABLE = """
permission                FA RS AC QU AP ES EA CV DA IA AU
remote.session            D  D  .  .  .  .  .  .  .  .  .
remote.install            D  D  .  .  .  .  .  .  .  .  .
remote.manage             D  .  .  .  .  .  .  .  .  .  .
instruction.read          D  .  D  D  D  .  .  D  .  .  .
instruction.run.question  D  .  D  D  .  .  .  .  .  .  .
instruction.run.action    D  .  D  .  .  .  .  .  .  .  .
instruction.approve       D  .  .  .  D  .  .  .  .  .  .
device.read               D  D  D  D  D  D  D  D  .  .  .
device.lock               D  .  .  .  .  D  D  .  .  .  .
device.sync               D  .  .  .  .  D  D  .  .  .  .
device.soft_reset         D  .  .  .  .  D  D  .  .  .  .
device.find               D  .  .  .  .  D  D  .  .  .  .
device.message            D  .  .  .  .  D  D  .  .  .  .
device.passcode           D  .  .  .  .  D  D  .  .  .  .
device.log                D  .  .  .  .  D  D  .  .  .  .
device.recovery_key       D  .  .  .  .  D  D  .  .  .  .
device.add                D  .  .  .  .  D  D  .  .  .  .
device.wipe               D  .  .  .  .  .  D  .  .  .  .
device.enterprise_wipe    D  .  .  .  .  .  D  .  .  .  .
device.wipe.approve       D  .  .  .  D  .  D  .  .  .  .
device.enterprise_wipe.approve D  .  .  .  D  .  D  .  .  .  .
incident.read             D  D  D  D  D  D  D  .  .  .  .
console.view              T  .  .  .  .  .  .  T  .  .  .
token.read                T  .  .  .  .  .  .  .  T  .  .
token.write               T  .  .  .  .  .  .  .  T  .  .
certificate.read          T  .  .  .  .  .  .  .  .  T  .
certificate.write         T  .  .  .  .  .  .  .  .  T  .
audit.read                T  .  .  .  .  .  .  .  .  .  T
settings.read             T  .  .  .  .  .  .  .  .  .  T
settings.write            T  .  .  .  .  .  .  .  .  .  .
rbac.admin                T  .  .  .  .  .  .  .  .  .  .
"""


def _parse(table: str) -> dict[tuple[str, str], str]:
    header, *rows = [line.split() for line in table.strip().splitlines()]
    roles = [ROLES[code] for code in header[1:]]
    return {(role, row[0]): cell for row in rows for role, cell in zip(roles, row[1:], strict=True)}


EXPECTED = _parse(TABLE)
WHERE = ("in scope", "out of scope", "unscoped")
# What each cell means for each situation.
OUTCOME = {
    "D": {"in scope": True, "out of scope": False, "unscoped": True},
    "T": {"in scope": False, "out of scope": False, "unscoped": True},
    ".": {"in scope": False, "out of scope": False, "unscoped": False},
}
IN_DEVICE = DeviceScope("PC-IN", "London")
OUT_DEVICE = DeviceScope("PC-OUT", "Paris")
CASES = [(role, perm, where) for role in ROLES.values() for perm in PERMISSIONS for where in WHERE]


def _email(role: str, kind: str) -> str:
    return f"{role.lower().replace(' ', '-')}.{kind}@example.com"


async def _load_grants(url: str) -> dict[tuple[str, str], list[Grant]]:
    """Assign every system role twice (scoped to London, and unscoped), read the grants back."""
    db = Database(url)
    try:
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            rbac = uow.repo(RbacRepo)
            directory = uow.repo(DirectoryRepo)
            inventory = uow.repo(DeviceRepo)
            tenant = await uow.repo(TenantRepo).ensure("acme", "Acme")
            await ensure_system_roles(uow, tenant.id)
            for name in ("London", "Paris"):
                group = await inventory.ensure_group(tenant.id, name)
                await inventory.upsert(tenant.id, f"PC-{'IN' if name == 'London' else 'OUT'}",
                                       management_group_id=group.id)
            for role in ROLES.values():
                scoped = await directory.upsert_principal(tenant.id, _email(role, "scoped"), role)
                await rbac_admin.grant(uow, tenant.id, Granter("test"), role, email=scoped.email,
                                       scope=Scope(device_groups=["London"]))
                everywhere = await directory.upsert_principal(
                    tenant.id, _email(role, "unscoped"), role)
                row = await rbac.role_by_name(tenant.id, role)
                assert row is not None
                # Straight to the repository: grant() rightly refuses Remote Support unscoped,
                # but the decision itself must still follow the table.
                await rbac.add_assignment(RoleAssignment(
                    tenant_id=tenant.id, role_id=row.id, principal_id=everywhere.id, granted_by="test"))
            await uow.commit()
        grants: dict[tuple[str, str], list[Grant]] = {}
        async with db.uow() as uow:
            for role in ROLES.values():
                for kind in ("scoped", "unscoped"):
                    principal = await uow.repo(DirectoryRepo).principal_by_email(tenant.id,
                                                                                 _email(role, kind))
                    assert principal is not None
                    grants[role, kind] = await grants_of(uow, tenant.id, principal.id)
        return grants
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def grants(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[Grant]]:
    path: Path = tmp_path_factory.mktemp("rbac-table")
    return asyncio.run(_load_grants(sqlite_url(path)))


def test_table_covers_every_system_role_and_permission() -> None:
    assert set(ROLES.values()) == set(SYSTEM_ROLES)
    assert [row.split()[0] for row in TABLE.strip().splitlines()[1:]] == list(PERMISSIONS)


@pytest.mark.parametrize(("role", "permission", "where"), CASES,
                         ids=[f"{r}-{p}-{w}".replace(" ", "_") for r, p, w in CASES])
def test_decision(grants: dict[tuple[str, str], list[Grant]], role: str, permission: str,
                  where: str) -> None:
    cell = EXPECTED[role, permission]
    held = grants[role, "unscoped" if where == "unscoped" else "scoped"]
    device = IN_DEVICE if where == "in scope" else OUT_DEVICE
    decision = decide(held, permission, device=device)

    assert decision.allowed is OUTCOME[cell][where], decision.explain()
    explained = decision.explain()
    if decision.allowed:
        scope = "all devices" if where == "unscoped" else "groups London"
        assert explained == f"allowed: role {role} held directly, over {scope}"
    elif cell == ".":
        assert f"no role held grants {permission}" in explained
    elif cell == "T":
        assert "tenant-wide" in explained and f"{role} (groups London)" in explained
    else:
        assert "PC-OUT is in group Paris" in explained
        assert f"{role} (directly) covers groups London" in explained
