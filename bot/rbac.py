"""Role-based access: deny by default, decided on the principal, every decision explainable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storage.rbac import RbacRepo, RoleAssignment, RoleRow
from storage.uow import UnitOfWork

DEVICE_ACTIONS = (
    "device.lock", "device.sync", "device.soft_reset", "device.find", "device.message",
    "device.passcode", "device.log", "device.recovery_key", "device.add",
)
WIPES = ("device.wipe", "device.enterprise_wipe")
# Approving a wipe is its own right, per kind, so approvers need not be able to wipe themselves.
WIPE_APPROVALS = ("device.wipe.approve", "device.enterprise_wipe.approve")
PERMISSIONS: tuple[str, ...] = (
    "remote.session", "remote.install", "remote.manage",
    "instruction.read", "instruction.run.question", "instruction.run.action", "instruction.approve",
    "device.read", *DEVICE_ACTIONS, *WIPES, *WIPE_APPROVALS, "incident.read",
    "console.view", "token.read", "token.write", "certificate.read", "certificate.write",
    "audit.read", "settings.read", "settings.write", "rbac.admin",
)
# Decided per device (management group or device name) and, for instructions, per set.
# `incident.read` is held through any assignment, scoped or not: an incident is no device, and
# the device buttons on its card are decided over the device's group.
DEVICE_SCOPED = frozenset(
    p for p in PERMISSIONS if p.startswith(("remote.", "device.", "instruction.", "incident.")))
SET_SCOPED = frozenset(p for p in PERMISSIONS if p.startswith("instruction."))

FULL_ADMIN = "Full Administrator"
REMOTE_SUPPORT = "Remote Support"
# Only a Full Administrator may assign these.
ADMIN_ONLY_ROLES = frozenset({FULL_ADMIN, REMOTE_SUPPORT})

SYSTEM_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    FULL_ADMIN: ("Everything, including role management.", PERMISSIONS),
    REMOTE_SUPPORT: (
        "Remote sessions and the TeamViewer install, on assigned groups or devices only.",
        ("remote.session", "remote.install", "device.read", "incident.read")),
    "Actioner": ("Runs questions and actions.",
                 ("instruction.read", "instruction.run.question", "instruction.run.action",
                  "device.read", "incident.read")),
    "Questioner": ("Runs questions only.",
                   ("instruction.read", "instruction.run.question", "device.read",
                    "incident.read")),
    "Approver": ("Approves or denies instruction and device-action requests.",
                 ("instruction.read", "instruction.approve", "device.read", *WIPE_APPROVALS,
                  "incident.read")),
    "Endpoint Standard": ("All device actions except the two wipes.",
                          ("device.read", *DEVICE_ACTIONS, "incident.read")),
    "Endpoint Advanced": ("All device actions, wipes included.",
                          ("device.read", *DEVICE_ACTIONS, *WIPES, *WIPE_APPROVALS,
                           "incident.read")),
    "Console Viewer": ("Reads devices, instructions and the console.",
                       ("console.view", "device.read", "instruction.read")),
    "Data Access Admin": ("Creates and revokes data-access tokens.", ("token.read", "token.write")),
    "Infrastructure Admin": ("Manages IdP certificates.",
                             ("certificate.read", "certificate.write")),
    "Auditor": ("Reads the audit log and settings.", ("audit.read", "settings.read")),
}


@dataclass(frozen=True)
class DeviceScope:
    """What RBAC needs to know about a target device."""

    name: str
    group: str | None

    @classmethod
    def whole_group(cls, group: str) -> DeviceScope:
        """Every device of `group`, known or not: only group-wide (or unscoped) grants cover it."""
        return cls(f"group {group}", group)


@dataclass
class Decision:
    allowed: bool
    permission: str
    reasons: list[str] = field(default_factory=list)

    def explain(self) -> str:
        verdict = "allowed" if self.allowed else "denied"
        return f"{verdict}: " + "; ".join(self.reasons)


@dataclass(frozen=True)
class RoleInfo:
    name: str
    permissions: frozenset[str]
    system: bool


@dataclass(frozen=True)
class AssignmentInfo:
    id: int
    principal_id: int | None
    group_id: int | None
    device_groups: tuple[str, ...] | None
    devices: tuple[str, ...] | None
    instruction_sets: tuple[str, ...] | None
    granted_by: str


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


@dataclass(frozen=True)
class Grant:
    """One assignment as RBAC sees it (plain values, safe outside a session)."""

    assignment: AssignmentInfo
    role: RoleInfo
    via: str  # "directly" or "through group X"

    @classmethod
    def of(cls, a: RoleAssignment, r: RoleRow, via: str = "") -> Grant:
        return cls(
            AssignmentInfo(a.id, a.principal_id, a.group_id, _tuple(a.device_groups),
                           _tuple(a.devices), _tuple(a.instruction_sets), a.granted_by),
            RoleInfo(r.name, frozenset(r.permissions), r.system), via)

    @property
    def unscoped(self) -> bool:
        return self.assignment.device_groups is None and self.assignment.devices is None

    def scope_text(self) -> str:
        a = self.assignment
        if self.unscoped:
            parts = ["all devices"]
        else:
            parts = [f"groups {', '.join(a.device_groups)}"] if a.device_groups else []
            parts += [f"devices {', '.join(a.devices)}"] if a.devices else []
        if a.instruction_sets is not None:
            parts.append(f"instruction sets {', '.join(a.instruction_sets)}")
        return "; ".join(parts)

    def covers_device(self, device: DeviceScope) -> bool:
        a = self.assignment
        if self.unscoped:
            return True
        groups = {g.lower() for g in a.device_groups or ()}
        names = {d.lower() for d in a.devices or ()}
        return device.name.lower() in names or (device.group or "").lower() in groups

    def covers_set(self, instruction_set: str) -> bool:
        sets = self.assignment.instruction_sets
        return sets is None or instruction_set.lower() in {s.lower() for s in sets}


async def grants_of(uow: UnitOfWork, tenant_id: int, principal_id: int) -> list[Grant]:
    return [
        Grant.of(a, r, "directly" if a.principal_id == principal_id else f"through group {group}")
        for a, r, group in await uow.repo(RbacRepo).assignments_for(tenant_id, principal_id)
    ]


def decide(
    grants: Sequence[Grant], permission: str, *, active: bool = True,
    device: DeviceScope | None = None, instruction_set: str | None = None,
) -> Decision:
    """Pure decision over the principal's grants; the caller audits denials."""
    if permission not in PERMISSIONS:
        return Decision(False, permission, [f"`{permission}` is not a known permission"])
    if not active:
        return Decision(False, permission, ["the account is deactivated in the directory"])
    holding = [g for g in grants if permission in g.role.permissions]
    if not holding:
        return Decision(False, permission, [f"no role held grants {permission}"])
    if permission not in DEVICE_SCOPED:
        # Tenant-wide powers only come from assignments over all devices.
        for g in holding:
            if g.unscoped:
                return Decision(True, permission, [_held(g)])
        return Decision(False, permission, [
            f"{permission} is tenant-wide and is held only through scoped assignments: "
            + ", ".join(f"{g.role.name} ({g.scope_text()})" for g in holding)])
    misses: list[str] = []
    for g in holding:
        if device is not None and not g.covers_device(device):
            misses.append(f"{g.role.name} ({g.via}) covers {g.scope_text()}")
            continue
        if instruction_set is not None and not g.covers_set(instruction_set):
            misses.append(f"{g.role.name} ({g.via}) covers {g.scope_text()}")
            continue
        return Decision(True, permission, [_held(g)])
    target = []
    if device is not None:
        target.append(f"{device.name} is in group {device.group or '(none)'}")
    if instruction_set is not None:
        target.append(f"the instruction is in set {instruction_set}")
    return Decision(False, permission, [*target, "out of scope: " + "; ".join(misses)])


def _held(g: Grant) -> str:
    return f"role {g.role.name} held {g.via}, over {g.scope_text()}"


def permissions_held(grants: Iterable[Grant]) -> set[str]:
    """Permissions held over at least some scope: enough to see a command in help."""
    held: set[str] = set()
    for g in grants:
        for p in g.role.permissions:
            if p in DEVICE_SCOPED or g.unscoped:
                held.add(p)
    return held


async def ensure_system_roles(uow: UnitOfWork, tenant_id: int) -> None:
    """Create the system roles, and keep their permissions in step with this code."""
    await uow.repo(RbacRepo).keep_system_roles(tenant_id, SYSTEM_ROLES)


def decide_any(grants: Sequence[Grant], permissions: str | tuple[str, ...], *,
               active: bool = True) -> Decision:
    """Command-level gate: allowed when any one of the permissions is held."""
    options = (permissions,) if isinstance(permissions, str) else permissions
    decisions = [decide(grants, p, active=active) for p in options]
    for d in decisions:
        if d.allowed:
            return d
    if len(decisions) == 1:
        return decisions[0]
    return Decision(False, " or ".join(options), [r for d in decisions for r in d.reasons])


def may_see(held: set[str], permissions: str | tuple[str, ...] | None) -> bool:
    if permissions is None:
        return True
    options = (permissions,) if isinstance(permissions, str) else permissions
    return any(p in held for p in options)
