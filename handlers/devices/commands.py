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
from storage.device_pages import DevicePageRepo

# How `devices` names each inventory source.
SOURCE_LABELS = {"1e": "1E", "teamviewer": "TeamViewer", "workspace-one": "Workspace ONE",
                 "import": "CSV import"}

MAX_QUERY = 100


def _readable(grants: list[Grant]) -> tuple[list[str] | None, list[str]]:
    """The management group names and device names device.read covers (lower-cased); None
    names means every device."""
    groups: set[str] = set()
    devices: set[str] = set()
    for g in grants:
        if "device.read" not in g.role.permissions:
            continue
        if g.unscoped:
            return None, []
        groups.update(n.lower() for n in g.assignment.device_groups or ())
        devices.update(d.lower() for d in g.assignment.devices or ())
    return sorted(groups), sorted(devices)


async def _page(ctx: Context, query: str | None, group: str | None, after: str | None) -> Card:
    page_size = (await CoreTenantSettings.cached(ctx.runtime.access, ctx.tenant_id)).page_size
    groups, names = _readable(ctx.grants)
    async with ctx.runtime.db.reads() as uow:
        pages = uow.repo(DevicePageRepo)
        rows = await pages.listing(ctx.tenant_id, query=query, group=group, groups=groups,
                                   names=names, after=after, limit=page_size + 1)
        if not rows and group:  # only then does it matter whether the group exists
            known = await pages.group_names(ctx.tenant_id)
            if group.lower() not in {n.lower() for n in known}:
                raise NotFound(f"There is no management group `{group}`. Groups: "
                               + ", ".join(known), title="Unknown group")
    more = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1].name
        more = Button("More", "devices.more", f"{last}\x1f{query or ''}\x1f{group or ''}")
    table_rows = tuple((d.name, d.group or "", d.os, d.owner_email or "", ago(d.last_seen),
                        ", ".join(SOURCE_LABELS.get(s, s) for s in d.sources) or "-")
                       for d in rows)
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
