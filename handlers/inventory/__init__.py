"""Device inventory sync: the managed devices of TeamViewer, Workspace ONE and 1E merged into one
inventory with their management groups, on a schedule and with `devices sync` (docs/inventory.md)."""

from __future__ import annotations

from bot.capability import Capability
from handlers.inventory.config import InventoryConfig, InventorySettings

CAPABILITY = Capability(
    name="inventory",
    work="handlers.inventory.work:WORK",
    config=InventoryConfig,
    tenant_settings=InventorySettings,
)
