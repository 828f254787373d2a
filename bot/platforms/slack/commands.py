"""Slash commands come from the registry: `/deskhand <command>` plus (by default) one per group.

`/role grant X to Y` arrives as command `/role`, text `grant X to Y`; it becomes `role grant X to Y`
for the router, so a new group (`/remote`, `/run`, `/device`) works as soon as it is registered
and listed in the app manifest. The manifest (bot/manifests.py) and the listener both take the
names from `slash_commands`, so they agree on DESKHAND_SLACK_COMMAND_PREFIX (`dh-`: `/dh-run`) and
DESKHAND_SLACK_COMMANDS (`single`: `/deskhand` alone, so no generic name clashes with other apps).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.registry import Registry
    from bot.settings import CoreSettings

UMBRELLA = "/deskhand"
COMMAND_MAX = 32  # Slack's limit for a slash command, the leading / included
# Slack's own commands win over an app's: a group with one of these names is reached via /deskhand.
SLACK_BUILTINS = frozenset({
    "active", "apps", "archive", "away", "call", "close", "collapse", "dm", "dnd", "expand", "feed",
    "feedback", "invite", "kick", "leave", "me", "msg", "mute", "open", "part", "prefs", "remind",
    "remove", "rename", "search", "shortcuts", "shrug", "star", "status", "topic", "who"})
UNKNOWN = ("`{command}` is not one of deskhand's commands in this workspace: {use}. If Slack still "
           "offers `{command}`, the app's manifest is older than deskhand's settings; an admin "
           "regenerates it with `deskhand manifest slack` and pastes it under App Manifest.")
_MENTION = re.compile(r"^\s*(<@[A-Z0-9]+(\|[^>]*)?>\s*)+")
_LINK = re.compile(r"<(mailto:|tel:|https?://|#|!subteam\^)?([^>|]*)(\|([^>]*))?>")


def slash_commands(registry: Registry, settings: CoreSettings) -> dict[str, str | None]:
    """Slash command -> the group it stands for (None: the umbrella, whose text is the whole command)."""
    found: dict[str, str | None] = {UMBRELLA: None}
    if settings.slack_commands == "single":
        return found
    prefix = settings.slack_command_prefix
    for group in registry.groups():
        name = f"/{prefix}{group}"
        if name.lstrip("/") not in SLACK_BUILTINS and len(name) <= COMMAND_MAX and name != UMBRELLA:
            found[name] = group
    return found


def help_command(registry: Registry, settings: CoreSettings) -> str:
    """How a person asks for help with slash commands in this workspace: `/help` or `/deskhand help`."""
    help_slash = next((s for s, g in slash_commands(registry, settings).items() if g == "help"), None)
    return help_slash or f"{UMBRELLA} help"


def command_text(command: str, text: str, names: dict[str, str | None]) -> str | None:
    """The router's text for a slash command (None: not one of `names`, see `unknown`).

    The umbrella passes the text through; a group's command puts the group's name first."""
    slash = command.strip().lower()
    if slash not in names:
        return None
    group, body = names[slash], plain(text)
    return body if group is None else f"{group} {body}".strip()


def unknown(command: str, registry: Registry, settings: CoreSettings) -> str:
    """What to tell someone whose slash command this deployment does not take: the command they
    meant (`/run` when the prefix is `dh-`: `/dh-run`), or the umbrella."""
    slash = command.strip()[:COMMAND_MAX]
    bare = slash.lstrip("/").lower()
    meant = max((g for g in registry.groups() if bare.endswith(g)), key=len, default=None)
    ours = next((s for s, g in slash_commands(registry, settings).items() if g and g == meant), None)
    if ours is not None:
        use = f"type `{ours} …` or `{UMBRELLA} {meant} …`"
    elif meant is not None:
        use = f"type `{UMBRELLA} {meant} …`"
    else:
        use = f"type `{UMBRELLA} <command>` (`{UMBRELLA} help` lists them)"
    return UNKNOWN.format(command=slash, use=use)


def plain(text: str) -> str:
    """Undo Slack's message formatting: `<mailto:a@b|a@b>` -> a@b, `<#C1|ops>` -> #ops, &amp; -> &."""

    def link(match: re.Match[str]) -> str:
        kind, target, label = match.group(1) or "", match.group(2), match.group(4)
        if kind == "#":
            return "#" + (label or target)
        if kind.startswith("http") or kind in ("mailto:", "tel:"):
            return label or (kind + target if kind.startswith("http") else target)
        return match.group(0)  # user mentions and specials stay as Slack wrote them

    return _LINK.sub(link, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def strip_mention(text: str) -> str:
    """`<@U0BOT> devices` -> `devices` (the bot's own mention in an app_mention event)."""
    return _MENTION.sub("", text, count=1)
