"""Role management, shared by the chat commands and `deskhand rbac`.

The CLI runs with server access and acts as the system (`granted_by="cli"`); chat callers
are checked: rbac.admin, no escalation, and only a Full Administrator hands out the
Full Administrator and Remote Support roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.rbac import (
    ADMIN_ONLY_ROLES,
    FULL_ADMIN,
    PERMISSIONS,
    REMOTE_SUPPORT,
    SYSTEM_ROLES,
    Grant,
    decide,
    grants_of,
    permissions_held,
)
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.instructions import CatalogueRepo
from storage.rbac import RbacRepo, RoleAssignment, RoleRow
from storage.uow import UnitOfWork


class AdminError(ValueError):
    """A refused or impossible role change; the message is shown to the person as is."""


class AlreadyHeld(AdminError):
    """The same role over the same scope is assigned already: nothing was changed."""

    def __init__(self, message: str, assignment: RoleAssignment) -> None:
        super().__init__(message)
        self.assignment = assignment


@dataclass(frozen=True)
class Scope:
    device_groups: list[str] | None = None
    devices: list[str] | None = None
    instruction_sets: list[str] | None = None


@dataclass(frozen=True)
class Granter:
    """Who is changing roles: a principal from chat, or the CLI (principal_id None)."""

    label: str
    principal_id: int | None = None


async def _check_granter(uow: UnitOfWork, tenant_id: int, granter: Granter, role: RoleRow) -> None:
    if granter.principal_id is None:
        return
    grants = await grants_of(uow, tenant_id, granter.principal_id)
    if not decide(grants, "rbac.admin").allowed:
        raise AdminError("changing roles needs rbac.admin over all devices")
    if role.name in ADMIN_ONLY_ROLES and not _is_full_admin(grants):
        raise AdminError(f"only a Full Administrator may assign {role.name}")
    missing = sorted(set(role.permissions) - permissions_held(grants))
    if missing:
        raise AdminError(
            f"you cannot grant {role.name}: it includes {', '.join(missing)}, which you do not hold")


def _is_full_admin(grants: list[Grant]) -> bool:
    return any(g.role.name == FULL_ADMIN and g.role.system and g.unscoped for g in grants)


async def _role(uow: UnitOfWork, tenant_id: int, name: str) -> RoleRow:
    role = await uow.repo(RbacRepo).role_by_name(tenant_id, name)
    if role is None:
        names = ", ".join(r.name for r in await uow.repo(RbacRepo).roles(tenant_id))
        raise AdminError(f"there is no role `{name}`; roles: {names}")
    return role


async def _check_scope(uow: UnitOfWork, tenant_id: int, role: RoleRow, scope: Scope) -> None:
    if role.name == REMOTE_SUPPORT and not (scope.device_groups or scope.devices):
        raise AdminError("Remote Support must be limited to named management groups or devices: "
                         "add groups=NAME,... or devices=NAME,...")
    if scope.device_groups:
        known = {g.name.lower(): g.name for g in await uow.repo(DeviceRepo).groups(tenant_id)}
        unknown = [g for g in scope.device_groups if g.lower() not in known]
        if unknown:
            raise AdminError(f"unknown management group {', '.join(unknown)}; "
                             f"groups: {', '.join(sorted(known.values())) or 'none yet'}")
    if scope.instruction_sets:
        # The sets of the cached 1E catalogue (`instructions sync` refreshes it).
        sets = {s.lower(): s for s in await uow.repo(CatalogueRepo).instruction_sets(tenant_id)}
        unknown = [s for s in scope.instruction_sets if s.lower() not in sets]
        if unknown:
            listed = ", ".join(sets.values()) or "none yet (`instructions sync` loads them from 1E)"
            raise AdminError(f"unknown instruction set {', '.join(unknown)}; sets: {listed}")
    for name in scope.devices or ():
        if await uow.repo(DeviceRepo).find(tenant_id, name) is None:
            raise AdminError(f"unknown device `{name}`")


async def grant(
    uow: UnitOfWork, tenant_id: int, granter: Granter, role_name: str, *,
    email: str | None = None, group: str | None = None, scope: Scope = Scope(),
) -> RoleAssignment:
    role = await _role(uow, tenant_id, role_name)
    await _check_granter(uow, tenant_id, granter, role)
    await _check_scope(uow, tenant_id, role, scope)
    row = RoleAssignment(tenant_id=tenant_id, role_id=role.id, granted_by=granter.label,
                         device_groups=scope.device_groups, devices=scope.devices,
                         instruction_sets=scope.instruction_sets)
    if email is not None:
        principal = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, email)
        if principal is None:
            raise AdminError(f"nobody with the email {email} is in the directory")
        row.principal_id = principal.id
    elif group is not None:
        found = await uow.repo(DirectoryRepo).group_by_name(tenant_id, group)
        if found is None:
            raise AdminError(f"there is no directory group `{group}`")
        row.group_id = found.id
    else:
        raise AdminError("say who gets the role: a user's email or a directory group")
    same = await _same_assignment(uow, tenant_id, row)
    if same is not None:  # a second run of the same grant (a script, a retry) adds nothing
        who = email or f"group {group}"
        raise AlreadyHeld(f"{who} already has {role.name} over {Grant.of(same, role).scope_text()} "
                          f"(assignment #{same.id}); nothing changed", same)
    return await uow.repo(RbacRepo).add_assignment(row)


def _same_scope(a: list[str] | None, b: list[str] | None) -> bool:
    return (a is None) == (b is None) and sorted(x.lower() for x in a or ()) == sorted(
        x.lower() for x in b or ())


async def _same_assignment(uow: UnitOfWork, tenant_id: int,
                           row: RoleAssignment) -> RoleAssignment | None:
    for held, _ in await uow.repo(RbacRepo).assignments(tenant_id):
        if ((held.role_id, held.principal_id, held.group_id) == (row.role_id, row.principal_id,
                                                                  row.group_id)
                and _same_scope(held.device_groups, row.device_groups)
                and _same_scope(held.devices, row.devices)
                and _same_scope(held.instruction_sets, row.instruction_sets)):
            return held
    return None


async def revoke(uow: UnitOfWork, tenant_id: int, granter: Granter, assignment_id: int) -> str:
    rbac = uow.repo(RbacRepo)
    row = await rbac.assignment(tenant_id, assignment_id)
    if row is None:
        raise AdminError(f"there is no assignment #{assignment_id}; `role list` shows them")
    roles = {r.id: r for r in await rbac.roles(tenant_id)}
    role = roles[row.role_id]
    await _check_granter(uow, tenant_id, granter, role)
    if role.name == FULL_ADMIN and row.device_groups is None and row.devices is None:
        admins = [a for a, r in await rbac.assignments(tenant_id)
                  if r.name == FULL_ADMIN and a.device_groups is None and a.devices is None]
        if len(admins) <= 1:
            raise AdminError("this is the last Full Administrator; grant another one first")
    await rbac.delete_assignment(tenant_id, assignment_id)
    return role.name


async def create_role(
    uow: UnitOfWork, tenant_id: int, granter: Granter, name: str, permissions: list[str],
) -> RoleRow:
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise AdminError(f"unknown permission {', '.join(unknown)}; "
                         f"known: {', '.join(PERMISSIONS)}")
    if name in SYSTEM_ROLES or await uow.repo(RbacRepo).role_by_name(tenant_id, name) is not None:
        raise AdminError(f"a role named `{name}` already exists")
    await _check_granter(uow, tenant_id, granter, RoleRow(name=name, permissions=permissions))
    return await uow.repo(RbacRepo).add_role(tenant_id, name, permissions, "custom role")


async def bootstrap_admin(uow: UnitOfWork, tenant_id: int, email: str, name: str) -> RoleAssignment:
    """First Full Administrator, from the CLI (server access is the proof of authority).
    AlreadyHeld if the person is one already, over all devices."""
    await uow.repo(DirectoryRepo).upsert_principal(tenant_id, email, name)
    return await grant(uow, tenant_id, Granter("cli:bootstrap"), FULL_ADMIN, email=email)
