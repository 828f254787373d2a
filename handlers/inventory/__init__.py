"""Device inventory sync: the managed devices of TeamViewer, Workspace ONE and 1E merged into one
inventory with their management groups, on a schedule and with `devices sync` (docs/inventory.md)."""

from __future__ import annotations

from bot.capability import Capability, Job
from handlers.inventory import commands
from handlers.inventory.config import InventoryConfig, InventorySettings
from handlers.inventory.sync import JOB, sync_due

CAPABILITY = Capability(
    name="inventory",
    commands=commands.COMMANDS,
    permissions=commands.PERMISSION,
    config=InventoryConfig,
    tenant_settings=InventorySettings,
    # Wakes when the next period begins, and every 10 minutes for a tenant added meanwhile.
    jobs=(Job(JOB, 60, sync_due, idle=600),),
)
