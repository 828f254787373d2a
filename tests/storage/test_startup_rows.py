"""What every process writes at start: its tenant and the system roles (TenantRepo.ensure_id,
RbacRepo.keep_system_roles), in Core statements, on both backends."""

from __future__ import annotations

import asyncio

from bot.rbac import SYSTEM_ROLES, ensure_system_roles
from storage.db import Database
from storage.rbac import RbacRepo
from storage.tenants import TenantRepo


async def _start(db: Database) -> int:
    async with db.uow() as uow:
        tenant_id = await uow.repo(TenantRepo).ensure_id("acme", "Acme")
        await ensure_system_roles(uow, tenant_id)
        await uow.commit()
    return tenant_id


async def test_processes_starting_together_make_one_tenant_and_one_set_of_roles(
        database: Database) -> None:
    ids = await asyncio.gather(*(_start(database) for _ in range(4)))
    assert len(set(ids)) == 1
    async with database.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("acme", "Other name")
        roles = await uow.repo(RbacRepo).roles(ids[0])
    assert (tenant.id, tenant.name) == (ids[0], "Acme")  # found, not renamed
    assert sorted(r.name for r in roles) == sorted(SYSTEM_ROLES)
    assert all(r.system and r.permissions == sorted(SYSTEM_ROLES[r.name][1]) for r in roles)


async def test_a_start_puts_system_roles_back_in_step_and_leaves_custom_roles(
        database: Database) -> None:
    tenant_id = await _start(database)
    name = next(iter(SYSTEM_ROLES))
    async with database.uow() as uow:
        rbac = uow.repo(RbacRepo)
        row = await rbac.role_by_name(tenant_id, name)
        assert row is not None
        row.permissions, row.system = ["audit.read"], False  # an older deskhand's, say
        await rbac.add_role(tenant_id, "Night shift", ["audit.read"])
        await uow.commit()
    await _start(database)
    async with database.uow() as uow:
        roles = {r.name: r for r in await uow.repo(RbacRepo).roles(tenant_id)}
    assert roles[name].system and roles[name].permissions == sorted(SYSTEM_ROLES[name][1])
    custom = roles["Night shift"]
    assert not custom.system and custom.permissions == ["audit.read"]
