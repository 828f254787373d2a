"""Role administration rules and the parts of RBAC that the role table cannot show:
non-delegable roles, no escalation, directory-group bindings, deny by default, deactivated
accounts and the last Full Administrator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import rbac_admin
from bot.rbac import PERMISSIONS, DeviceScope, decide, ensure_system_roles, grants_of
from bot.rbac_admin import AdminError, Granter, Scope
from storage import migrate
from storage.db import Database
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.instructions import CatalogueRepo
from storage.rbac import RbacRepo
from storage.tenants import TenantRepo
from storage.uow import UnitOfWork
from tests.conftest import sqlite_url

LONDON = DeviceScope("PC-L", "London")
PARIS = DeviceScope("PC-P", "Paris")
CLI = Granter("cli")


@dataclass
class World:
    db: Database
    tenant_id: int

    async def person(self, uow: UnitOfWork, email: str, *, active: bool = True) -> Granter:
        row = await uow.repo(DirectoryRepo).upsert_principal(self.tenant_id, email, email.split("@")[0],
                                                             active=active)
        return Granter(email, row.id)

    async def decide(self, email: str, permission: str, device: DeviceScope | None = None) -> str:
        async with self.db.uow() as uow:
            row = await uow.repo(DirectoryRepo).principal_by_email(self.tenant_id, email)
            assert row is not None
            grants = await grants_of(uow, self.tenant_id, row.id)
            return decide(grants, permission, active=row.active, device=device).explain()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = Database(sqlite_url(tmp_path))
    await migrate.upgrade(db.engine)
    async with db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("acme", "Acme")
        await ensure_system_roles(uow, tenant.id)
        for group, device in (("London", "PC-L"), ("Paris", "PC-P")):
            row = await uow.repo(DeviceRepo).ensure_group(tenant.id, group)
            await uow.repo(DeviceRepo).upsert(tenant.id, device, management_group_id=row.id)
        await uow.commit()
    yield World(db, tenant.id)
    await db.dispose()


async def test_only_a_full_administrator_assigns_remote_support_and_full_administrator(
        world: World) -> None:
    async with world.db.uow() as uow:
        t = world.tenant_id
        admin = await world.person(uow, "admin@example.com")
        await rbac_admin.grant(uow, t, CLI, "Full Administrator", email=admin.label)
        # A custom role holding every permission, rbac.admin included, is still not a
        # Full Administrator.
        await rbac_admin.create_role(uow, t, CLI, "Almost Admin", list(PERMISSIONS))
        deputy = await world.person(uow, "deputy@example.com")
        await rbac_admin.grant(uow, t, CLI, "Almost Admin", email=deputy.label)
        target = await world.person(uow, "tech@example.com")

        for role in ("Remote Support", "Full Administrator"):
            with pytest.raises(AdminError, match=f"only a Full Administrator may assign {role}"):
                await rbac_admin.grant(uow, t, deputy, role, email=target.label,
                                       scope=Scope(device_groups=["London"]))
        # The deputy may hand out what they hold.
        await rbac_admin.grant(uow, t, deputy, "Endpoint Advanced", email=target.label)

        with pytest.raises(AdminError, match="Remote Support must be limited"):
            await rbac_admin.grant(uow, t, admin, "Remote Support", email=target.label)
        with pytest.raises(AdminError, match="Remote Support must be limited"):
            await rbac_admin.grant(uow, t, CLI, "Remote Support", email=target.label)
        row = await rbac_admin.grant(uow, t, admin, "Remote Support", email=target.label,
                                     scope=Scope(device_groups=["London"]))
        assert row.device_groups == ["London"] and row.granted_by == "admin@example.com"
        await uow.commit()
    assert "allowed: role Remote Support held directly, over groups London" == \
        await world.decide("tech@example.com", "remote.session", LONDON)
    assert (await world.decide("tech@example.com", "remote.session", PARIS)).startswith("denied")


async def test_no_escalation_through_a_custom_rbac_admin_role(world: World) -> None:
    async with world.db.uow() as uow:
        t = world.tenant_id
        await rbac_admin.create_role(uow, t, CLI, "Desk Lead",
                                     ["rbac.admin", "device.read", "device.lock"])
        lead = await world.person(uow, "lead@example.com")
        await rbac_admin.grant(uow, t, CLI, "Desk Lead", email=lead.label)
        target = await world.person(uow, "tech@example.com")

        with pytest.raises(AdminError, match=r"cannot grant Endpoint Standard: it includes "
                                             r"device\.add, device\.find.*which you do not hold"):
            await rbac_admin.grant(uow, t, lead, "Endpoint Standard", email=target.label)
        with pytest.raises(AdminError, match=r"device\.wipe, which you do not hold"):
            await rbac_admin.create_role(uow, t, lead, "Wiper", ["device.read", "device.wipe"])
        with pytest.raises(AdminError, match=r"unknown permission device\.explode"):
            await rbac_admin.create_role(uow, t, lead, "Boom", ["device.explode"])
        # Within what the lead holds, delegation works.
        await rbac_admin.create_role(uow, t, lead, "Locker", ["device.read", "device.lock"])
        await rbac_admin.grant(uow, t, lead, "locker", email=target.label,
                               scope=Scope(device_groups=["London"]))

        # rbac.admin held only over some groups does not allow role changes at all.
        scoped = await world.person(uow, "scoped@example.com")
        await rbac_admin.grant(uow, t, CLI, "Full Administrator", email=scoped.label,
                               scope=Scope(device_groups=["London"]))
        with pytest.raises(AdminError, match=r"needs rbac\.admin over all devices"):
            await rbac_admin.grant(uow, t, scoped, "Auditor", email=target.label)
        with pytest.raises(AdminError, match="unknown management group Atlantis; groups: London, Paris"):
            await rbac_admin.grant(uow, t, CLI, "Auditor", email=target.label,
                                   scope=Scope(device_groups=["Atlantis"]))
        await uow.commit()
    assert (await world.decide("tech@example.com", "device.lock", LONDON)).startswith("allowed")


async def test_role_bound_to_a_directory_group_applies_to_members_only(world: World) -> None:
    async with world.db.uow() as uow:
        t = world.tenant_id
        member = await world.person(uow, "member@example.com")
        await world.person(uow, "outsider@example.com")
        group = await uow.repo(DirectoryRepo).ensure_group(t, "Service Desk")
        assert member.principal_id is not None
        await uow.repo(DirectoryRepo).add_member(group.id, member.principal_id)
        await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", group="service desk",
                               scope=Scope(device_groups=["London"]))
        with pytest.raises(AdminError, match="no directory group `Nobody`"):
            await rbac_admin.grant(uow, t, CLI, "Auditor", group="Nobody")
        await uow.commit()

    assert await world.decide("member@example.com", "device.lock", LONDON) == (
        "allowed: role Endpoint Standard held through group Service Desk, over groups London")
    out_of_scope = await world.decide("member@example.com", "device.lock", PARIS)
    assert out_of_scope.startswith("denied") and "through group Service Desk" in out_of_scope
    assert await world.decide("outsider@example.com", "device.lock", LONDON) == (
        "denied: no role held grants device.lock")


async def test_deny_by_default_and_deactivated_accounts(world: World) -> None:
    async with world.db.uow() as uow:
        await world.person(uow, "nobody@example.com")
        gone = await world.person(uow, "gone@example.com")
        await rbac_admin.grant(uow, world.tenant_id, CLI, "Full Administrator", email=gone.label)
        await world.person(uow, "gone@example.com", active=False)
        await uow.commit()
    for permission in PERMISSIONS:
        assert await world.decide("nobody@example.com", permission, LONDON) == (
            f"denied: no role held grants {permission}")
        assert await world.decide("gone@example.com", permission, LONDON) == (
            "denied: the account is deactivated in the directory")
    assert await world.decide("nobody@example.com", "device.teleport") == (
        "denied: `device.teleport` is not a known permission")


async def test_the_last_full_administrator_cannot_be_revoked(world: World) -> None:
    async with world.db.uow() as uow:
        t = world.tenant_id
        first = await rbac_admin.bootstrap_admin(uow, t, "first@example.com", "First")
        scoped_admin = await world.person(uow, "scoped@example.com")
        # A Full Administrator limited to a group does not count as a second one.
        await rbac_admin.grant(uow, t, CLI, "Full Administrator", email=scoped_admin.label,
                               scope=Scope(device_groups=["Paris"]))
        with pytest.raises(AdminError, match="last Full Administrator"):
            await rbac_admin.revoke(uow, t, CLI, first.id)
        with pytest.raises(AdminError, match="no assignment #999"):
            await rbac_admin.revoke(uow, t, CLI, 999)
        second = await world.person(uow, "second@example.com")
        await rbac_admin.grant(uow, t, CLI, "Full Administrator", email=second.label)
        assert await rbac_admin.revoke(uow, t, second, first.id) == "Full Administrator"
        await uow.commit()
    assert (await world.decide("first@example.com", "rbac.admin")).startswith("denied")
    assert (await world.decide("second@example.com", "rbac.admin")).startswith("allowed")


async def test_unknown_instruction_sets_are_refused_with_the_known_ones(world: World) -> None:
    async with world.db.uow() as uow:
        t = world.tenant_id
        target = await world.person(uow, "tech@example.com")
        with pytest.raises(AdminError, match=r"unknown instruction set Basics; sets: none yet"):
            await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", email=target.label,
                                   scope=Scope(instruction_sets=["Basics"]))
        await uow.repo(CatalogueRepo).replace(t, [
            {"vendor_id": n, "name": name, "kind": "question", "instruction_set": s}
            for n, (name, s) in enumerate((("Uptime", "Basics"), ("RestartService", "Ops"),
                                           ("Loose", "")))])
        with pytest.raises(AdminError, match=r"^unknown instruction set Nope; sets: Basics, Ops$"):
            await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", email=target.label,
                                   scope=Scope(instruction_sets=["ops", "Nope"]))
        row = await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", email=target.label,
                                     scope=Scope(instruction_sets=["ops", "BASICS"]))
        assert row.instruction_sets == ["ops", "BASICS"]


async def test_the_same_grant_twice_changes_nothing_and_says_which_assignment_holds(
        world: World) -> None:
    async with world.db.uow() as uow:
        t = world.tenant_id
        first = await rbac_admin.bootstrap_admin(uow, t, "first@example.com", "First")
        with pytest.raises(rbac_admin.AlreadyHeld) as held:
            await rbac_admin.bootstrap_admin(uow, t, "First@Example.com", "First")
        assert str(held.value) == ("First@Example.com already has Full Administrator over all "
                                   f"devices (assignment #{first.id}); nothing changed")
        assert held.value.assignment.id == first.id
        bob = await world.person(uow, "bob@example.com")
        london = await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", email=bob.label,
                                        scope=Scope(device_groups=["London", "Paris"]))
        with pytest.raises(rbac_admin.AlreadyHeld, match=f"assignment #{london.id}"):
            await rbac_admin.grant(uow, t, CLI, "endpoint-standard", email=bob.label,
                                   scope=Scope(device_groups=["paris", "london"]))
        # Another scope, or the same scope for a group, is another assignment.
        paris = await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", email=bob.label,
                                       scope=Scope(device_groups=["Paris"]))
        everywhere = await rbac_admin.grant(uow, t, CLI, "Endpoint Standard", email=bob.label)
        await uow.repo(DirectoryRepo).ensure_group(t, "Service Desk")
        desk = await rbac_admin.grant(uow, t, CLI, "Auditor", group="Service Desk")
        with pytest.raises(rbac_admin.AlreadyHeld, match=(
                r"^group service desk already has Auditor over all devices \(assignment #\d+\)")):
            await rbac_admin.grant(uow, t, CLI, "Auditor", group="service desk")
        await uow.commit()
    assert len({first.id, london.id, paris.id, everywhere.id, desk.id}) == 5
    async with world.db.uow() as uow:
        assert len(await uow.repo(RbacRepo).assignments(world.tenant_id)) == 5
