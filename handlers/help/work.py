"""What `help` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.help import commands

WORK = Work(commands=commands.COMMANDS)
