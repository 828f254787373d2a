"""`help`: the commands each person may run, from the registry."""

from __future__ import annotations

from bot.capability import Capability

CAPABILITY = Capability(name="help", work="handlers.help.work:WORK")
