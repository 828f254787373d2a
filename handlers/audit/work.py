"""What `audit` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.audit import commands

WORK = Work(
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    downloads={"audit.csv": commands.download_csv},
    permissions=("audit.read",),
)
