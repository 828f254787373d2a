"""`channel set admin <channel>`: where certificate expiry reminders go on this platform;
`channel id`: the current channel's id, for the approval and admin channel settings.

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
from bot.reminders import CHANNEL_PLATFORMS
from bot.tenant_settings import ReminderSettings
from cards.model import Card, Field, Fields, Text
from cards.model import Context as Small
from handlers.settings import texts
from storage.tenants import SettingsRepo

TEAMS_KINDS = {"personal": "1:1 chat", "groupChat": "group chat"}


def _here(cmd: Command, platform: str) -> str:
    """The channel the command was typed in (a Teams reply thread's id is its channel's)."""
    if platform == "teams" and cmd.reply_to.extra.get("conversation_type") not in (None, "channel"):
        raise UserError(texts.HERE_NOT_TEAMS_CHANNEL.format(allowed=texts.ALLOWED["teams"]),
                        title=texts.NOT_A_CHANNEL_TITLE)
    if platform == "slack" and (cmd.reply_to.extra.get("im") or cmd.reply_to.channel.startswith("D")):
        raise UserError(texts.HERE_IS_SLACK_DM.format(allowed=texts.ALLOWED["slack"]),
                        title=texts.NOT_A_CHANNEL_TITLE)
    return cmd.reply_to.channel.split(";messageid=", 1)[0]


def _channel(cmd: Command, platform: str, raw: str) -> str:
    if raw.lower() == "none":
        return ""
    if raw.lower() == "here":
        return _here(cmd, platform)
    if platform == "slack" and raw.startswith("#"):
        raise UserError(texts.SLACK_NAME_NOT_ID.format(raw=raw), title=texts.SLACK_NAME_TITLE)
    return raw


async def set_admin_channel(ctx: Context, cmd: Command) -> Reply:
    platform = cmd.reply_to.platform
    if platform not in CHANNEL_PLATFORMS:
        raise UserError(texts.NO_CHANNELS, title=texts.NO_CHANNELS_TITLE)
    raw = str(cmd.args["channel"]).strip()
    key = f"admin_channel_{platform}"
    try:
        value = tenant_settings.parse_value(ReminderSettings, key, _channel(cmd, platform, raw))
    except ValueError:
        raise UserError(texts.BAD_CHANNEL.format(platform=platform.title(), raw=raw,
                                                 allowed=texts.ALLOWED[platform]),
                        title=texts.BAD_CHANNEL_TITLE) from None
    async with ctx.runtime.db.uow() as uow:
        stored = await uow.repo(SettingsRepo).get(ctx.tenant_id)
        before = ReminderSettings.load(stored).admin_channel(platform)
        await uow.repo(SettingsRepo).put(ctx.tenant_id, {**stored, key: value},
                                         by=ctx.actor.principal.email)
        await uow.commit()
    ctx.target = key
    return Reply.private(Card(texts.ADMIN_SET_TITLE, [
        Fields((Field(key, f"{before or '(none)'} \u2192 {value or '(none)'}"),)),
        Text(texts.ADMIN_SET if value else texts.ADMIN_CLEARED),
        Small(f"ref {ctx.correlation_id}")], tone="good"))


async def channel_id(ctx: Context, cmd: Command) -> Reply:
    platform = cmd.reply_to.platform
    if platform not in CHANNEL_PLATFORMS:
        raise UserError(texts.ID_NO_CHANNELS, title=texts.NO_CHANNELS_TITLE)
    try:
        channel = _here(cmd, platform)
    except UserError:  # the same check as `here`, said for this command
        kind = TEAMS_KINDS.get(str(cmd.reply_to.extra.get("conversation_type")), "chat")
        raise UserError(texts.ID_NOT_CHANNEL[platform].format(kind=kind),
                        title=texts.NOT_A_CHANNEL_TITLE) from None
    ctx.target = channel
    return Reply.private(Card(texts.ID_TITLE, [
        Fields((Field(texts.ID_FIELD[platform], channel),)),
        Text(texts.ID_USE.format(platform=platform, channel=channel)),
        Small(texts.ID_INVITE[platform])]))


COMMANDS = (
    CommandSpec("channel set admin",
                "Set where certificate expiry reminders go on this platform.",
                set_admin_channel, permission="settings.write",
                args=(Arg("channel", "channel id, here or none"),),
                examples=("channel set admin here", "channel set admin C0123ABCD",
                          "channel set admin none"), menu=False),  # set once, by an admin
    CommandSpec("channel id",
                "Show this channel's id, for the approval and admin channel settings.",
                channel_id, permission="settings.read", examples=("channel id",),
                menu=False),  # an admin's tool, used once per channel
)
