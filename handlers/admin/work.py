"""What `admin` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.admin import commands

WORK = Work(commands=commands.COMMANDS, actions=commands.ACTIONS,
            permissions=("rbac.admin", "audit.read"))
