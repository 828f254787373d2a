"""Slack: slash commands, buttons, modals and mentions over slack-bolt (HTTP or Socket Mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import CoreSettings


def configured(settings: CoreSettings) -> bool:
    s = settings
    return any(v is not None for v in (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token))
