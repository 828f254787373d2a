"""What `devices` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from handlers.devices import commands

WORK = Work(commands=commands.COMMANDS, actions=commands.ACTIONS, permissions=("device.read",))
