"""`devices`: the inventory a person may see, and the device settings of the ITSM connector."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.capability import Capability
from bot.tenant_settings import TenantSection
from handlers.common import EMAIL

MAX_EXCEPTIONS = 200


class DeviceSettings(TenantSection):
    """Per tenant, with the Workspace ONE ITSM connector's defaults (for device actions)."""

    targeted_device_field: str = Field("cmdb_ci", pattern=r"^[a-z_][a-z0-9_]{0,79}$")
    email_validation: bool = True
    email_validation_exceptions: list[str] = Field(default_factory=list)
    device_note_after_action: bool = True

    @field_validator("email_validation_exceptions")
    @classmethod
    def _exceptions(cls, value: list[str]) -> list[str]:
        """Emails exempt from email validation: lower-cased, each once, at most MAX_EXCEPTIONS."""
        emails = list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))
        wrong = next((e for e in emails if not EMAIL.match(e) or len(e) > 254), None)
        if wrong is not None:
            raise ValueError(f"email_validation_exceptions takes email addresses; "
                             f"`{wrong[:60]}` is not one")
        if len(emails) > MAX_EXCEPTIONS:
            raise ValueError(f"email_validation_exceptions holds at most {MAX_EXCEPTIONS} emails; "
                             f"this has {len(emails)}")
        return emails


CAPABILITY = Capability(name="devices", work="handlers.devices.work:WORK",
                        tenant_settings=DeviceSettings)
