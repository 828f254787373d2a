"""Who is who and who may do what: `whoami`, `why`, `role list|grant|bind-group|revoke|create`."""

from __future__ import annotations

from bot.capability import Capability
from handlers.admin import commands

CAPABILITY = Capability(
    name="admin",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("rbac.admin", "audit.read"),
)
