"""What `console` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Job, Work
from handlers.console import commands

WORK = Work(commands=commands.COMMANDS,
            jobs=(Job("console.sweep", commands.SWEEP_SECONDS, commands.sweep),))
