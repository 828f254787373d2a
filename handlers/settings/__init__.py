"""`settings show|set`: every installed capability's per-tenant settings, with their ranges;
`channel set admin`: where certificate expiry reminders go on each platform."""

from __future__ import annotations

from bot.capability import Capability
from handlers.settings import channels, commands

CAPABILITY = Capability(name="settings", commands=(*commands.COMMANDS, *channels.COMMANDS),
                        permissions=("settings.read", "settings.write"))
