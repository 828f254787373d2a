"""What `approvals` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Job, Work
from handlers.approvals import commands

WORK = Work(
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=commands.DECIDERS,
    jobs=(Job("approvals.expire", commands.EXPIRY_SECONDS, commands.expire, exclusive=False,
              idle=commands.EXPIRY_IDLE_SECONDS),),
)
