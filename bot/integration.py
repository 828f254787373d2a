"""What a capability declares about its vendor: an `Integration` (name, config model, how to
build a client, how to check it), and how a tenant's record maps onto that model.

The config model is the capability's DESKHAND_* section (e.g. `ws1_url`, `ws1_password`); an
admin names its fields without the prefix (`url`, `password`). Fields typed `SecretStr` are
secrets: sealed at rest, never shown, only said to be set or not set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from bot.secrets import SecretBox

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass(frozen=True)
class Finding:
    """One plain line of a check: `ok`, a `problem` to fix, or `off` (not set up: not an error)."""

    status: Literal["ok", "problem", "off"]
    text: str


def ok(text: str) -> Finding:
    return Finding("ok", text)


def problem(text: str) -> Finding:
    return Finding("problem", text)


def off(text: str) -> Finding:
    return Finding("off", text)


@dataclass(frozen=True)
class Integration:
    name: str  # what admins type: `integrations set workspace-one ...`
    title: str  # what people read: "Workspace ONE"
    config: type[BaseModel]  # the capability's DESKHAND_* section; a record holds its fields
    prefix: str  # dropped from field names to make the keys admins type ("ws1_")
    build: Callable[..., Any]  # (runtime, tenant_id, config, **options) -> a client or None
    check: Callable[[Runtime, int], Awaitable[list[Finding]]]  # test the tenant's connection
    missing: Callable[[Any], list[str]]  # the keys a config still needs before it can work
    close: Callable[[Any], Awaitable[None]] | None = None


def keys(integration: Integration) -> dict[str, str]:
    """Key admins type -> the config model's field name, in declaration order."""
    return {name.removeprefix(integration.prefix): name for name in integration.config.model_fields}


def is_secret(integration: Integration, key: str) -> bool:
    annotation = integration.config.model_fields[keys(integration)[key]].annotation
    return annotation is SecretStr or SecretStr in get_args(annotation)


def allowed(integration: Integration, key: str) -> str:
    """What a key takes, in words, from the field's declared type and constraints."""
    if is_secret(integration, key):
        return "a secret"
    field = integration.config.model_fields[keys(integration)[key]]
    low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    if field.annotation is int:
        return f"a whole number from {low} to {high}" if low is not None else "a whole number"
    return "an http(s) URL" if key.endswith("url") else "text"


def shown(integration: Integration, config: BaseModel, key: str) -> str:
    """A value as `integrations list` shows it: secrets only as set / not set."""
    value = getattr(config, keys(integration)[key])
    if is_secret(integration, key):
        return "set" if value is not None and value.get_secret_value() else "not set"
    return str(value) if value not in ("", None) else "(empty)"


def parse(integration: Integration, current: Mapping[str, Any], given: Mapping[str, str]
          ) -> dict[str, Any]:
    """The record after `given` (chat text) is applied to `current` (plain values by key);
    raises ValueError naming every bad key or value and what is allowed. An empty value
    removes the key (its default applies); a changed URL removes the stored secrets."""
    known = keys(integration)
    unknown = [k for k in given if k not in known]
    if unknown:
        raise ValueError(f"{integration.name} has no {', '.join(f'`{k}`' for k in unknown)}; "
                         f"its keys are {', '.join(known)}")
    kept = dict(current)
    if any(k.endswith("url") and given[k] != current.get(k) for k in given):
        # A secret stored for one host never goes to another: a new URL drops the stored
        # secrets, and any needed must be typed again in the same command.
        kept = {k: v for k, v in kept.items() if not is_secret(integration, k)}
    merged = {k: v for k, v in {**kept, **given}.items() if v not in ("", None)}
    try:
        checked = integration.config.model_validate({known[k]: v for k, v in merged.items()})
    except ValidationError as exc:
        reasons = []
        for error in exc.errors():
            key = str(error["loc"][0]).removeprefix(integration.prefix) if error["loc"] else "?"
            said = "" if is_secret(integration, key) else f", not `{merged.get(key)}`"
            reasons.append(f"{key} must be {allowed(integration, key)}{said} "
                           f"({error['msg'].removeprefix('Value error, ')})")
        raise ValueError("; ".join(reasons)) from None
    return {k: plain(getattr(checked, known[k])) for k in merged}


def plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def secret_text(value: SecretStr | None) -> str:
    """A secret setting's text; "" when it is not set (what a client's build checks)."""
    return value.get_secret_value() if value is not None else ""


def seal(integration: Integration, box: SecretBox, record: Mapping[str, Any]
         ) -> tuple[dict[str, Any], dict[str, str]]:
    """(plain values, sealed secrets) to store."""
    values = {k: v for k, v in record.items() if not is_secret(integration, k)}
    return values, {k: box.seal(str(v)) for k, v in record.items() if is_secret(integration, k)}


def unseal(integration: Integration, box: SecretBox, values: Mapping[str, Any],
           sealed: Mapping[str, str]) -> dict[str, Any]:
    """The record's values by key, secrets opened (ValueError when the key changed); keys the
    model no longer has are left out."""
    known = keys(integration)
    opened = {k: box.open(v) for k, v in sealed.items()}
    return {k: v for k, v in {**values, **opened}.items() if k in known}


def config_of(integration: Integration, record: Mapping[str, Any]) -> BaseModel:
    known = keys(integration)
    return integration.config.model_validate({known[k]: v for k, v in record.items()})
