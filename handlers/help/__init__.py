"""`help`: the commands each person may run, from the registry."""

from __future__ import annotations

from bot.capability import Capability
from handlers.help import commands

CAPABILITY = Capability(name="help", commands=commands.COMMANDS)
