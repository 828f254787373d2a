"""What `inventory` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Job, Work
from handlers.inventory import commands
from handlers.inventory.sync import JOB, sync_due

WORK = Work(
    commands=commands.COMMANDS,
    permissions=commands.PERMISSION,
    # Wakes when the next period begins, and every 10 minutes for a tenant added meanwhile.
    jobs=(Job(JOB, 60, sync_due, idle=600),),
)
