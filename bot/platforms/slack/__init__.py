"""Slack: slash commands, buttons, modals and mentions over slack-bolt (HTTP or Socket Mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.runtime import Runtime


def configured(runtime: Runtime) -> bool:
    s = runtime.settings
    return any(v is not None for v in (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token))


def mount(runtime: Runtime, app: web.Application) -> None:
    """Add POST /slack/events (HTTP mode) and register the adapter so the runtime starts/stops it."""
    from bot.platforms.slack.adapter import SlackAdapter

    adapter = SlackAdapter(runtime)
    adapter.routes(app)
    runtime.platforms["slack"] = adapter
