"""`settings show` and `settings set key=value ...`: the tenant's settings (DESIGN.md "Settings").

The settings come from every installed capability's section (bot/tenant_settings.py). Every
value is checked against its declared range before anything is stored; a refusal names the
allowed values, and nothing is half-applied.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bot import tenant_settings
from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Command
from bot.registry import Arg, CommandSpec
from bot.reminders import CHANNEL_PLATFORMS, channel_platforms
from bot.tenant_settings import ReminderSettings, TenantSection
from cards.model import Card, Field, Fields, Table, Text
from cards.model import Context as Small
from storage.tenants import SettingsRepo

HINTS = {
    "approval_channel_slack": "a Slack channel id such as C0123ABCD (empty: none)",
    "approval_channel_teams": "a Teams channel conversation id (empty: none)",
    "admin_channel_slack": "a Slack channel id such as C0123ABCD (empty: none); "
                           "`channel set admin` sets it",
    "admin_channel_teams": "a Teams channel conversation id (empty: none); "
                           "`channel set admin` sets it",
    "reminder_days": "1 to 8 different numbers of days before expiry, 1-365, e.g. 14,7,3,1",
}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value) if value != "" else "(none)"


def _allowed(section: type[TenantSection], key: str) -> str:
    return HINTS.get(key) or tenant_settings.describe_allowed(section, key)


async def show_command(ctx: Context, cmd: Command) -> Reply:
    async with ctx.runtime.db.uow() as uow:
        stored = await uow.repo(SettingsRepo).get(ctx.tenant_id)
    rows = tuple((key, _shown(getattr(current, key)), _allowed(section, key),
                  "" if key in stored else "default")
                 for section in ctx.runtime.registry.sections
                 for current in (section.load(stored),) for key in section.model_fields)
    warnings = [Text(w) for w in _warnings(ctx, cmd, stored)]
    return Reply.private(Card("Settings", [
        Table(("setting", "value", "allowed", ""), rows), *warnings,
        Small("Change with `settings set key=value` (several pairs at once are fine)."),
    ], tone="warning" if warnings else "info"))


def _warnings(ctx: Context, cmd: Command, stored: dict[str, Any]) -> list[str]:
    """What is missing that someone will notice too late: an admin channel per chat platform."""
    if ReminderSettings not in ctx.runtime.registry.sections:
        return []
    settings = ReminderSettings.load(stored)
    served = {*channel_platforms(ctx.runtime), cmd.reply_to.platform}
    missing = [p.title() for p in CHANNEL_PLATFORMS
               if p in served and not settings.admin_channel(p)]
    return [f"⚠ No admin channel on {', '.join(missing)}: certificate expiry reminders go to "
            "each certificate admin privately there. Set one with `channel set admin` in the "
            "channel."] if missing else []


async def set_command(ctx: Context, cmd: Command) -> Reply:
    given: dict[str, str] = cmd.args.get("values") or {}
    if not given:
        raise UserError("Give at least one `key=value`, e.g. `settings set page_size=25`. "
                        "`settings show` lists the keys.", title="Nothing to set")
    sections = ctx.runtime.registry.sections
    changes: dict[str, Any] = {}
    owners: dict[str, type[TenantSection]] = {}
    problems = []
    for key, raw in given.items():
        try:
            owners[key] = tenant_settings.owner(sections, key)
            changes[key] = tenant_settings.parse_value(owners[key], key, raw)
        except ValueError as exc:
            problems.append(str(exc) if key not in HINTS else f"{key} must be {HINTS[key]}, not `{raw}`")
    if problems:
        raise UserError("Nothing was changed. " + "; ".join(problems) + ".", title="Check the settings")
    async with ctx.runtime.db.uow() as uow:
        stored = await uow.repo(SettingsRepo).get(ctx.tenant_id)
        before = {k: getattr(owners[k].load(stored), k) for k in changes}
        try:
            for section in set(owners.values()):  # a combination no single check catches
                section.model_validate({**section.load(stored).model_dump(), **{
                    k: v for k, v in changes.items() if owners[k] is section}})
        except ValidationError as exc:
            raise UserError(f"Nothing was changed: {exc.errors()[0]['msg']}.") from None
        await uow.repo(SettingsRepo).put(ctx.tenant_id, {**stored, **changes}, by=ctx.actor.principal.email)
        await uow.commit()
    ctx.target = "settings"
    items = tuple(Field(k, f"{_shown(before[k])} \u2192 {_shown(v)}") for k, v in changes.items())
    return Reply.private(Card("Settings changed", [Fields(items), Text("They apply from the next run on."),
                                                   Small(f"ref {ctx.correlation_id}")], tone="good"))


COMMANDS = (
    CommandSpec("settings show", "Show this workspace's settings and their allowed values.",
                show_command, permission="settings.read"),
    CommandSpec(
        "settings set", "Change settings: `settings set key=value ...`.", set_command,
        permission="settings.write",
        args=(Arg("values", "setting", kind="options", required=False),),
        examples=("settings set page_size=25",
                  "settings set enable_approval=on approval_expiry_minutes=60")),
)
