"""`devices`: the inventory the person may see, paged with a "More" button."""

from __future__ import annotations

from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.model import Command, Interaction
from bot.rbac import Grant
from bot.registry import ActionSpec, Arg, CommandSpec
from bot.tenant_settings import CoreTenantSettings
from cards.model import Button, Card, Table
from cards.model import Context as Small
from handlers.common import ago
from storage.devices import DeviceRepo
from storage.inventory import InventoryRepo

# How `devices` names each inventory source.
SOURCE_LABELS = {"1e": "1E", "teamviewer": "TeamViewer", "workspace-one": "Workspace ONE",
                 "import": "CSV import"}

MAX_QUERY = 100


def _readable_groups(grants: list[Grant], names: dict[str, int]) -> tuple[list[int] | None, set[str]]:
    """Management group ids and device names device.read covers; None ids means all."""
    ids: set[int] = set()
    devices: set[str] = set()
    for g in grants:
        if "device.read" not in g.role.permissions:
            continue
        if g.unscoped:
            return None, set()
        ids.update(names[n.lower()] for n in g.assignment.device_groups or () if n.lower() in names)
        devices.update(d.lower() for d in g.assignment.devices or ())
    return sorted(ids), devices


async def _page(ctx: Context, query: str | None, group: str | None, after: str | None) -> Card:
    async with ctx.runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        all_groups = await inventory.groups(ctx.tenant_id)
        groups = {g.name.lower(): g.id for g in all_groups}
        page_size = (await CoreTenantSettings.read(uow, ctx.tenant_id)).page_size
        allowed, named = _readable_groups(ctx.grants, groups)
        wanted: list[int] | None = allowed
        if group:
            gid = groups.get(group.lower())
            if gid is None:
                raise NotFound(f"There is no management group `{group}`. Groups: "
                                + ", ".join(g.name for g in all_groups), title="Unknown group")
            wanted = [gid] if allowed is None or gid in allowed else []
        rows = await inventory.page(ctx.tenant_id, query=query, group_ids=wanted,
                                    after=after, limit=page_size + 1)
        if named and not group:
            # Devices granted by name outside any readable group.
            extra = await inventory.page(ctx.tenant_id, query=query, group_ids=None,
                                         after=after, limit=10_000)
            seen = {d.id for d, _ in rows}
            rows = sorted([*rows, *[(d, g) for d, g in extra
                                    if d.name.lower() in named and d.id not in seen]],
                          key=lambda r: r[0].name)[: page_size + 1]
        sources = await uow.repo(InventoryRepo).sources_of(ctx.tenant_id,
                                                           [d.id for d, _ in rows[:page_size]])
    more = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1][0].name
        more = Button("More", "devices.more", f"{last}\x1f{query or ''}\x1f{group or ''}")
    table_rows = tuple((d.name, g or "", d.os, d.owner_email or "", ago(d.last_seen),
                        ", ".join(SOURCE_LABELS.get(s.source, s.source)
                                  for s in sources.get(d.id, ())) or "-")
                       for d, g in rows)
    caption = "No devices match." if not table_rows else (
        f"Devices{' matching ' + query if query else ''}{' in ' + group if group else ''}"
        + (f", after {after}" if after else ""))
    return Card(title="Devices", sections=[
        Table(columns=("name", "group", "os", "owner", "last seen", "sources"), rows=table_rows,
              caption=caption, more=more),
        Small("Only devices in your scope are listed."),
    ])


async def devices_command(ctx: Context, cmd: Command) -> Reply:
    query = cmd.args.get("search")
    if query and len(query) > MAX_QUERY:
        raise UserError(f"The search is {len(query)} characters; keep it under {MAX_QUERY}.")
    return Reply.private(await _page(ctx, query, cmd.args.get("group"), None))


async def more_clicked(ctx: Context, interaction: Interaction) -> Reply:
    after, query, group = interaction.fields
    return Reply.update(await _page(ctx, query or None, group or None, after or None))


COMMANDS = (CommandSpec(
    "devices", "List devices you may see, optionally searching by name or group.",
    devices_command, permission="device.read",
    args=(Arg("search", "part of a device name", required=False),
          Arg("group", "a management group", kind="option", required=False)),
    examples=("devices", "devices PC-00", "devices group=London")),)
ACTIONS = (ActionSpec("devices.more", more_clicked, permission="device.read", fields=3,
                      damaged="run `devices` again."),)
