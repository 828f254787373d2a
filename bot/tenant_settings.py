"""Per-tenant settings (DESIGN.md "Settings"): defaults, ranges and one-line refusals."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class TenantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    keep_answers_minutes: int = Field(120, ge=10, le=10080)
    gather_data_minutes: int = Field(60, ge=10, le=10080)
    response_keep_days: int = Field(5, ge=1, le=365)
    history_keep_months: int = Field(3, ge=1, le=60)
    status_wait_seconds: int = Field(3, ge=1, le=300)
    response_batch_size: int = Field(100, ge=10, le=10000)
    page_size: Literal[10, 25, 50, 100] = 10
    enable_approval: bool = True
    export_file_prefix: str = Field("deskhand", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    targeted_device_field: str = Field("cmdb_ci", pattern=r"^[a-z_][a-z0-9_]{0,79}$")
    email_validation: bool = True
    email_validation_exceptions: list[str] = Field(default_factory=list)
    device_note_after_action: bool = True
    # Instruction workflow (issue 5): approval expiry, approvers' channel per platform, fan-out cap.
    approval_expiry_minutes: int = Field(240, ge=5, le=10080)
    approval_channel_slack: str = Field("", pattern=r"^([CG][A-Z0-9]{2,30})?$")
    approval_channel_teams: str = Field("", pattern=r"^\S{0,300}$")
    max_targets: int = Field(500, ge=1, le=50000)


def describe_allowed(key: str) -> str:
    """The allowed values of one setting, in words, from its declared constraints."""
    field = TenantSettings.model_fields[key]
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
    return "a comma-separated list" if annotation == list[str] else "text"


def parse_value(key: str, raw: str) -> Any:
    """Turn chat text into the setting's value; raises ValueError with the allowed values."""
    if key not in TenantSettings.model_fields:
        raise ValueError(f"unknown setting `{key}`; settings: "
                         + ", ".join(TenantSettings.model_fields))
    annotation = TenantSettings.model_fields[key].annotation
    value: Any = raw
    if annotation is bool:
        lowered = raw.lower()
        if lowered not in ("on", "off", "true", "false", "yes", "no"):
            raise ValueError(f"{key} must be on or off, not `{raw}`")
        value = lowered in ("on", "true", "yes")
    elif annotation == list[str]:
        value = [v.strip() for v in raw.split(",") if v.strip()]
    elif getattr(annotation, "__origin__", None) is Literal:
        # Literal choices are not coerced from text ("25" is not 25), so match them by name.
        value = next((a for a in annotation.__args__ if str(a) == raw.strip()), raw)  # type: ignore[union-attr]
    try:
        checked = TenantSettings.model_validate({key: value})
    except ValidationError:
        raise ValueError(f"{key} must be {describe_allowed(key)}, not `{raw}`") from None
    return getattr(checked, key)


def load(values: dict[str, Any]) -> TenantSettings:
    """Stored values over defaults; a stored key this version no longer knows is ignored."""
    known = {k: v for k, v in values.items() if k in TenantSettings.model_fields}
    return TenantSettings.model_validate(known)
