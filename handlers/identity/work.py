"""What `identity` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.identity import commands

WORK = Work(commands=commands.COMMANDS, permissions=("rbac.admin",))
