"""Slash commands come from the registry: `/deskhand <command>` plus one per command group.

`/role grant X to Y` arrives as command `/role`, text `grant X to Y`; it becomes `role grant X to Y`
for the router, so a new group (`/remote`, `/run`, `/device`) works as soon as it is registered
and listed in the app manifest (bot/manifests.py lists the slash commands).
"""

from __future__ import annotations

import re

UMBRELLA = "/deskhand"
_MENTION = re.compile(r"^\s*(<@[A-Z0-9]+(\|[^>]*)?>\s*)+")
_LINK = re.compile(r"<(mailto:|tel:|https?://|#|!subteam\^)?([^>|]*)(\|([^>]*))?>")


def command_text(command: str, text: str) -> str:
    """The router's text for a slash command: the umbrella passes text through, a group prefixes it."""
    name = command.strip().lstrip("/").lower()
    body = plain(text)
    if name in ("", UMBRELLA.lstrip("/")):
        return body
    return f"{name} {body}".strip()


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
