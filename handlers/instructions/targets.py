"""`on <device | group:NAME | name,name,...>`: the devices a run goes to, checked against the
inventory, the tenant's target limit, and the person's rights on every one of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.context import Context
from bot.errors import NotFound, UserError
from bot.rbac import DeviceScope
from handlers.instructions.runs import Target
from handlers.instructions.vendor import tachyon_config
from integrations.tachyon.definitions import management_group_scope
from storage.devices import DeviceRepo

MAX_REFS_SHOWN = 5


@dataclass
class Resolved:
    targets: list[Target]
    label: str
    group: str | None = None  # `group:NAME` runs
    tachyon_id: str | None = None  # that group's id in 1E, when an administrator linked it


async def resolve(ctx: Context, spec: str, limit: int) -> Resolved:
    """The run's devices; a clear refusal for unknown devices or groups and for too many."""
    spec = spec.strip()
    if spec.lower().startswith("group:"):
        return await _group(ctx, spec[6:].strip(), limit)
    refs = list(dict.fromkeys(r.strip() for r in spec.split(",") if r.strip()))
    if not refs:
        raise UserError("Name a device, `group:NAME` or several devices separated by commas.")
    if len(refs) > limit:
        raise UserError(f"That is {len(refs)} devices; this workspace allows at most {limit} per run "
                        "(setting max_targets).", title="Too many devices")
    found: list[Target] = []
    missing: list[str] = []
    async with ctx.runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        groups = {g.id: g.name for g in await inventory.groups(ctx.tenant_id)}
        for ref in refs:
            device = await inventory.find(ctx.tenant_id, ref)
            if device is None:
                missing.append(ref)
                continue
            found.append(Target(device.name, device.fqdn or "", groups.get(device.management_group_id or 0)))
        hint = await inventory.suggest(ctx.tenant_id, missing[0]) if missing else []
    if missing:
        more = f" Did you mean {', '.join(f'`{h}`' for h in hint)}?" if hint else ""
        raise NotFound(f"Not in the inventory (by name, FQDN or serial): "
                        f"{', '.join(f'`{m}`' for m in missing[:MAX_REFS_SHOWN])}"
                        f"{' and more' if len(missing) > MAX_REFS_SHOWN else ''}.{more}",
                        title="Device not found")
    targets = list({t.name: t for t in found}.values())  # vendor_scope checks their FQDNs
    label = targets[0].name if len(targets) == 1 else (
        ", ".join(t.name for t in targets[:3]) + (f" +{len(targets) - 3} more" if len(targets) > 3 else ""))
    return Resolved(targets, label)


async def _group(ctx: Context, name: str, limit: int) -> Resolved:
    async with ctx.runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        groups = await inventory.groups(ctx.tenant_id)
        group = next((g for g in groups if g.name.lower() == name.lower()), None)
        if group is None:
            raise NotFound(f"There is no management group `{name}`. Groups: "
                            + ", ".join(g.name for g in groups), title="Unknown group")
        rows = await inventory.page(ctx.tenant_id, query=None, group_ids=[group.id], after=None,
                                    limit=limit + 1)
    if not rows:
        raise UserError(f"Group {group.name} has no devices.")
    if len(rows) > limit:
        raise UserError(f"Group {group.name} has more than {limit} devices, the most this workspace "
                        "allows per run (setting max_targets).", title="Too many devices")
    targets = [Target(d.name, d.fqdn or "", group.name) for d, _ in rows]
    return Resolved(targets, f"group {group.name}", group.name, group.tachyon_id)


async def vendor_scope(ctx: Context, resolved: Resolved, permission: str,
                 instruction_set: str | None) -> dict[str, Any] | None:
    """The 1E scope to issue with, or None to send the FQDN list.

    A linked group goes out as its 1E management group, but only when the person holds
    `permission` over the group as a whole: 1E may know devices our inventory does not yet, and
    a grant on named devices must not reach them.
    """
    group = resolved.group
    limit = (await tachyon_config(ctx.runtime, ctx.tenant_id)).tachyon_max_fqdns
    if group and resolved.tachyon_id and ctx.decide(
            permission, DeviceScope.whole_group(group), instruction_set).allowed:
        return management_group_scope(resolved.tachyon_id)
    _need_fqdns(resolved.targets)
    count = len(resolved.targets)
    if count <= limit:
        return None
    if group and resolved.tachyon_id:
        why = (f"your rights cover its devices one by one but not group {group} as a whole, which "
               "sending it as a 1E management group needs")
    elif group:
        why = (f"an administrator can link group {group} to its 1E management group "
               f"(`deskhand groups link \"{group}\" --tachyon-id <id>`) so it goes out as one scope")
    else:
        why = "name a group instead"
    raise UserError(f"That is {count} devices, and deskhand sends at most {limit} device names in "
                    f"one 1E instruction (DESKHAND_TACHYON_MAX_FQDNS); {why}.", title="Too many devices")


def _need_fqdns(targets: list[Target]) -> None:
    bare = [t.name for t in targets if not t.fqdn]
    if bare:
        raise UserError(f"1E addresses devices by FQDN, and the inventory has none for "
                        f"{', '.join(bare[:MAX_REFS_SHOWN])}.", title="Device without FQDN")


async def require_on_all(ctx: Context, permission: str, targets: list[Target], what: str,
                         instruction_set: str | None) -> None:
    """Every target must be in scope; the refusal names the first one out of it (and audits)."""
    denied = [t for t in targets if not ctx.decide(permission, DeviceScope(t.name, t.group),
                                                   instruction_set).allowed]
    if denied:
        first = denied[0]
        others = f" (and {len(denied) - 1} more of the {len(targets)} targets)" if len(denied) > 1 else ""
        await ctx.require(permission, f"{what} on {first.name}{others}",
                          device=DeviceScope(first.name, first.group), instruction_set=instruction_set)
