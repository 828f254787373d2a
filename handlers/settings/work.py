"""What `settings` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.settings import channels, commands

WORK = Work(commands=(*commands.COMMANDS, *channels.COMMANDS),
            permissions=("settings.read", "settings.write"))
