"""`settings show|set`: every installed capability's per-tenant settings, with their ranges."""

from __future__ import annotations

from bot.capability import Capability
from handlers.settings import commands

CAPABILITY = Capability(name="settings", commands=commands.COMMANDS,
                        permissions=("settings.read", "settings.write"))
