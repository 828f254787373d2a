"""`channel set admin <channel>`: where certificate expiry reminders go on this platform.

Set per platform, from the platform itself: a Slack channel id, a Teams channel's conversation
id, `here` for the channel the command is typed in, or `none` to clear it (each certificate
admin is then told privately). Checked by the setting's own pattern, as the approval channels
are. A Slack `#channel` reaches deskhand as its name only, so it is refused with the way out.
"""

from __future__ import annotations

from bot import tenant_settings
from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Command
from bot.registry import Arg, CommandSpec
from bot.reminders import CHANNEL_PLATFORMS, ReminderSettings
from cards.model import Card, Field, Fields, Text
from cards.model import Context as Small
from storage.tenants import SettingsRepo

ALLOWED = {"slack": "a Slack channel id such as C0123ABCD (the channel's About tab), `here` or "
                    "`none`",
           "teams": "a Teams channel conversation id (19:…@thread.tacv2), `here` or `none`"}
NO_CHANNELS = ("The console has no channels: certificate reminders reach each certificate admin "
               "there privately. Set the admin channel from Slack or Teams.")


def _channel(cmd: Command, platform: str, raw: str) -> str:
    if raw.lower() == "none":
        return ""
    if raw.lower() == "here":
        if platform == "teams" and cmd.reply_to.extra.get("conversation_type") not in (None, "channel"):
            raise UserError("`here` is not a Teams channel: type the command in the channel, or "
                            f"give its id ({ALLOWED['teams']}).", title="Not a channel")
        if platform == "slack" and cmd.reply_to.extra.get("im"):
            raise UserError("`here` is a direct message, not a channel: type the command in the "
                            f"channel, or give {ALLOWED['slack']}.", title="Not a channel")
        return cmd.reply_to.channel.split(";messageid=", 1)[0]
    if platform == "slack" and raw.startswith("#"):
        raise UserError(f"Slack gave deskhand the channel's name ({raw}), not its id: type "
                        "`channel set admin here` in that channel, or give its id such as "
                        "C0123ABCD (the channel's About tab).", title="Which channel?")
    return raw


async def set_admin_channel(ctx: Context, cmd: Command) -> Reply:
    platform = cmd.reply_to.platform
    if platform not in CHANNEL_PLATFORMS:
        raise UserError(NO_CHANNELS, title="No channels here")
    raw = str(cmd.args["channel"]).strip()
    key = f"admin_channel_{platform}"
    try:
        value = tenant_settings.parse_value(ReminderSettings, key, _channel(cmd, platform, raw))
    except ValueError:
        raise UserError(f"The {platform.title()} admin channel must be {ALLOWED[platform]}, "
                        f"not `{raw}`. Nothing was changed.", title="Check the channel") from None
    async with ctx.runtime.db.uow() as uow:
        stored = await uow.repo(SettingsRepo).get(ctx.tenant_id)
        before = ReminderSettings.load(stored).admin_channel(platform)
        await uow.repo(SettingsRepo).put(ctx.tenant_id, {**stored, key: value},
                                         by=ctx.actor.principal.email)
        await uow.commit()
    ctx.target = key
    said = ("Certificate expiry reminders for this platform go to this channel; invite deskhand "
            "there." if value else "No admin channel: each certificate admin is told privately.")
    return Reply.private(Card("Admin channel set", [
        Fields((Field(key, f"{before or '(none)'} \u2192 {value or '(none)'}"),)), Text(said),
        Small(f"ref {ctx.correlation_id}")], tone="good"))


COMMANDS = (
    CommandSpec("channel set admin",
                "Set where certificate expiry reminders go on this platform.",
                set_admin_channel, permission="settings.write",
                args=(Arg("channel", "channel id, here or none"),),
                examples=("channel set admin here", "channel set admin C0123ABCD",
                          "channel set admin none"), menu=False),  # set once, by an admin
)
