"""What `integration_admin` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.integration_admin.commands import COMMANDS, PERMISSION

WORK = Work(commands=COMMANDS, permissions=PERMISSION)
