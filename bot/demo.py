"""The demo's seeded tenant: ~200 computers and a few phones and Linux machines in 4 management
groups, and one persona per role."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from storage.devices import Device, DeviceRepo
from storage.directory import DirectoryRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.settings import CoreSettings

GROUPS = {
    "London": "Head office, Windows desktops and company phones",
    "New York": "US office, Windows, macOS, Linux and phones",
    "Singapore": "APAC office",
    "Field Laptops": "Travelling staff, mostly off-network",
}
# (email, name, role, scope groups, directory groups)
PERSONAS: list[tuple[str, str, str | None, list[str] | None, list[str]]] = [
    ("alex.admin@example.com", "Alex Admin", "Full Administrator", None, ["IT Admins"]),
    ("riley.remote@example.com", "Riley Remote", "Remote Support", ["London"], ["Service Desk"]),
    ("avery.actioner@example.com", "Avery Actioner", "Actioner", None, ["Service Desk"]),
    ("pat.approver@example.com", "Pat Approver", None, None, ["Approvers"]),
    ("sam.standard@example.com", "Sam Standard", "Endpoint Standard", ["London", "New York"],
     ["Service Desk"]),
    ("audrey.auditor@example.com", "Audrey Auditor", "Auditor", None, ["Compliance"]),
    ("nina.new@example.com", "Nina New", None, None, []),
]
DEVICE_COUNT = 200  # the Windows and macOS computers (PC-, MAC-)
# Phones and Linux machines beside them (name, OS, group): every platform Workspace ONE acts on.
# Phones have no TeamViewer full client (QuickSupport on the phone) and no 1E agent.
OTHER_DEVICES = (
    ("IPH-0001", "iOS 18.1", "London"), ("AND-0001", "Android 15", "London"),
    ("IPH-0002", "iOS 17.6", "New York"), ("AND-0002", "Android 14", "New York"),
    ("LNX-0001", "Ubuntu 24.04 LTS", "New York"),
    ("IPH-0003", "iPadOS 18.1", "Field Laptops"), ("AND-0003", "Android 15", "Field Laptops"),
    ("LNX-0002", "Ubuntu 22.04 LTS", "Field Laptops"),
)
FLEET_SIZE = DEVICE_COUNT + len(OTHER_DEVICES)
MOBILE_OS = ("ios", "ipados", "android")


def mobile(device: Device) -> bool:
    """A phone or tablet (no 1E agent, no TeamViewer full client)."""
    return (device.os or "").lower().startswith(MOBILE_OS)


async def seed(uow: UnitOfWork, tenant_id: int, devices: int = DEVICE_COUNT) -> bool:
    """Fill an empty tenant; a tenant that already has devices is left alone."""
    inventory, directory = uow.repo(DeviceRepo), uow.repo(DirectoryRepo)
    if await inventory.count(tenant_id):
        return False
    rng = random.Random(42)
    groups = [await inventory.ensure_group(tenant_id, n, d) for n, d in GROUPS.items()]
    owners = [f"user{n:03d}@example.com" for n in range(1, 121)]
    now = datetime.now(UTC)
    fleet: list[dict[str, Any]] = []  # the tenant has none: added together, one flush
    for n in range(1, devices + 1):
        group = groups[(n - 1) % len(groups)]
        mac = group.name in ("New York", "Field Laptops") and rng.random() < 0.4
        name = f"{'MAC' if mac else 'PC'}-{n:04d}"
        fleet.append(dict(
            name=name, fqdn=f"{name.lower()}.corp.example.com",
            serial=f"SN{rng.randrange(10**9):09d}",
            os="macOS 15" if mac else rng.choice(["Windows 11 23H2", "Windows 11 24H2",
                                                  "Windows 10 22H2"]),
            management_group_id=group.id, owner_email=rng.choice(owners),
            last_seen=now - timedelta(minutes=rng.randrange(0, 60 * 24 * 10)),
            attributes={"teamviewer_full_client": rng.random() < 0.8}))
    by_name = {g.name: g for g in groups}
    others = random.Random(7)  # its own sequence: the computers above stay as they were
    for name, os_name, group_name in OTHER_DEVICES:
        phone = os_name.lower().startswith(MOBILE_OS)
        fleet.append(dict(
            name=name, fqdn=f"{name.lower()}.corp.example.com",
            serial=f"SN{others.randrange(10**9):09d}", os=os_name,
            management_group_id=by_name[group_name].id, owner_email=others.choice(owners),
            last_seen=now - timedelta(minutes=others.randrange(0, 60 * 24 * 3)),
            attributes={"teamviewer_full_client": not phone}))
    await inventory.add_new(tenant_id, fleet)
    for email, name, role, scope, dir_groups in PERSONAS:
        await directory.upsert_principal(tenant_id, email, name)
        principal = await directory.principal_by_email(tenant_id, email)
        assert principal is not None
        for group_name in dir_groups:
            directory_group = await directory.ensure_group(tenant_id, group_name)
            await directory.add_member(directory_group.id, principal.id)
        if role:
            await rbac_admin.grant(uow, tenant_id, Granter("demo seed"), role, email=email,
                                   scope=Scope(device_groups=scope))
    # Approvers hold their role through the directory group, as most companies set it up.
    await rbac_admin.grant(uow, tenant_id, Granter("demo seed"), "Approver", group="Approvers")
    return True


def listener_url(settings: CoreSettings, path: str) -> str:
    """Where a simulator mounted on the demo's own listener is reached from this machine."""
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.port}{path}"


def facts(device: Device) -> dict[str, Any]:
    """What a simulator answers about a device, taken from its inventory row, so that what 1E
    says of PC-0042 (its operating system, whether TeamViewer is installed) is what `devices`
    says: the inventory is the one source of the demo fleet."""
    return {**(device.attributes or {}), "os": device.os}


async def fleet(runtime: Runtime) -> Sequence[tuple[Device, str | None]]:
    """Every seeded device with its management group's name (the simulators' fleets)."""
    async with runtime.db.uow() as uow:
        return await uow.repo(DeviceRepo).page(runtime.tenant_id, query=None, group_ids=None,
                                               after=None, limit=100_000)
