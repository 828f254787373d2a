"""Per-tenant settings (DESIGN.md "Settings"): sections with defaults, ranges and one-line refusals.

The core and each capability declare a section (a `TenantSection` with the ranges of its
fields); all of them live in one row per tenant. A section reads only its own keys, so a
capability never sees, and never breaks on, another's settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from storage.tenants import SettingsRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.access_cache import AccessCache


class TenantSection(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def load(cls, values: Mapping[str, Any]) -> Self:
        """Stored values over defaults; keys of other sections (or of older versions) ignored."""
        return cls.model_validate({k: v for k, v in values.items() if k in cls.model_fields})

    @classmethod
    async def read(cls, uow: UnitOfWork, tenant_id: int) -> Self:
        """The tenant's current values of this section."""
        return cls.load(await uow.repo(SettingsRepo).get(tenant_id))

    @classmethod
    async def cached(cls, access: AccessCache, tenant_id: int) -> Self:
        """As `read`, from the process's cache while no setting changed (bot/access_cache.py):
        for the command path, which reads the settings at every command."""
        async def load() -> dict[str, Any]:
            async with access.db.uow() as uow:
                return await uow.repo(SettingsRepo).get(tenant_id)

        return cls.load(await access.lookup("settings", tenant_id, load))


class CoreTenantSettings(TenantSection):
    page_size: Literal[10, 25, 50, 100] = 10  # rows per card: devices, results, lists


# The sections of the core's approval and reminder engines (bot/approvals.py, bot/reminders.py)
# live here, so a process that only lists them (a listener, for `settings`) imports neither engine.
class ApprovalSettings(TenantSection):
    enable_approval: bool = True  # actions (and destructive device actions) wait for an approver
    approval_expiry_minutes: int = Field(240, ge=5, le=10080)
    approval_channel_slack: str = Field("", pattern=r"^([CG][A-Z0-9]{2,30})?$")
    approval_channel_teams: str = Field("", pattern=r"^\S{0,300}$")


class ReminderSettings(TenantSection):
    reminder_days: list[int] = [14, 7, 3, 1]  # days before expiry; each posted once
    admin_channel_slack: str = Field("", pattern=r"^([CG][A-Z0-9]{2,30})?$")
    admin_channel_teams: str = Field("", pattern=r"^\S{0,300}$")

    @field_validator("reminder_days")
    @classmethod
    def _marks(cls, days: list[int]) -> list[int]:
        if not 1 <= len(days) <= 8 or len(set(days)) != len(days) \
                or any(not 1 <= d <= 365 for d in days):
            raise ValueError("reminder_days must be 1 to 8 different whole numbers of days, "
                             "each from 1 to 365")
        return sorted(days, reverse=True)

    def admin_channel(self, platform: str) -> str:
        return str(getattr(self, f"admin_channel_{platform}", ""))


def owner(sections: Sequence[type[TenantSection]], key: str) -> type[TenantSection]:
    for section in sections:
        if key in section.model_fields:
            return section
    raise ValueError(f"unknown setting `{key}`; settings: "
                     + ", ".join(k for s in sections for k in s.model_fields))


def describe_allowed(section: type[TenantSection], key: str) -> str:
    """The allowed values of one setting, in words, from its declared constraints."""
    field = section.model_fields[key]
    annotation = field.annotation
    if annotation is bool:
        return "on or off"
    if getattr(annotation, "__origin__", None) is Literal:
        return "one of " + ", ".join(str(a) for a in annotation.__args__)  # type: ignore[union-attr]
    low = high = None
    for meta in field.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
        if getattr(meta, "pattern", None):
            return f"text matching {meta.pattern}"
    if low is not None and high is not None:
        return f"a whole number from {low} to {high}"
    if annotation == list[int]:
        return "comma-separated whole numbers"
    return "a comma-separated list" if annotation == list[str] else "text"


def parse_value(section: type[TenantSection], key: str, raw: str) -> Any:
    """Turn chat text into the setting's value; raises ValueError with the allowed values."""
    annotation = section.model_fields[key].annotation
    value: Any = raw
    if annotation is bool:
        lowered = raw.lower()
        if lowered not in ("on", "off", "true", "false", "yes", "no"):
            raise ValueError(f"{key} must be on or off, not `{raw}`")
        value = lowered in ("on", "true", "yes")
    elif annotation == list[str]:
        value = [v.strip() for v in raw.split(",") if v.strip()]
    elif annotation == list[int]:
        try:
            value = [int(v) for v in raw.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"{key} must be {describe_allowed(section, key)}, not `{raw}`") from None
    elif getattr(annotation, "__origin__", None) is Literal:
        # Literal choices are not coerced from text ("25" is not 25), so match them by name.
        value = next((a for a in annotation.__args__ if str(a) == raw.strip()), raw)  # type: ignore[union-attr]
    try:
        checked = section.model_validate({key: value})
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        if exc.errors()[0]["type"] == "value_error":  # the section's own rule says it best
            raise ValueError(f"{reason}, not `{raw}`") from None
        raise ValueError(f"{key} must be {describe_allowed(section, key)}, not `{raw}`") from None
    return getattr(checked, key)

