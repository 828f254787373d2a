"""`devices`: the inventory a person may see, and the device settings of the ITSM connector."""

from __future__ import annotations

from pydantic import Field

from bot.capability import Capability
from bot.tenant_settings import TenantSection
from handlers.devices import commands


class DeviceSettings(TenantSection):
    """Per tenant, with the Workspace ONE ITSM connector's defaults (for device actions)."""

    targeted_device_field: str = Field("cmdb_ci", pattern=r"^[a-z_][a-z0-9_]{0,79}$")
    email_validation: bool = True
    email_validation_exceptions: list[str] = Field(default_factory=list)
    device_note_after_action: bool = True


CAPABILITY = Capability(
    name="devices",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("device.read",),
    tenant_settings=DeviceSettings,
)
