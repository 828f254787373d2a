"""Small helpers several handlers share: device lookup with suggestions, time parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.context import Context
from bot.errors import NotFound
from bot.rbac import DeviceScope
from storage.devices import Device, DeviceRepo


async def find_device(ctx: Context, ref: str | int) -> tuple[Device, DeviceScope]:
    """The device by name, FQDN or serial (typed), or by its id (a button); with its scope."""
    async with ctx.runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        if isinstance(ref, int):
            device = await inventory.by_id(ctx.tenant_id, ref)
            if device is None:
                raise NotFound("That device is no longer in the inventory.",
                               title="Device not found")
        else:
            device = await inventory.find(ctx.tenant_id, ref)
        if device is None:
            hints = await inventory.suggest(ctx.tenant_id, str(ref))
            more = f" Did you mean {', '.join(f'`{h}`' for h in hints)}?" if hints else ""
            raise NotFound(f"No device is called `{ref}` (by name, FQDN or serial).{more}",
                            title="Device not found")
        group = await inventory.group(device.management_group_id) \
            if device.management_group_id else None
    ctx.target = device.name
    return device, DeviceScope(device.name, group.name if group else None)


_REL = re.compile(r"^(\d+)\s*([mhdw])$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TICKET = re.compile(r"^[A-Za-z]{2,6}\d{3,12}$")  # INC0012345, RITM0010001, CHG0000042


def parse_for(value: str) -> tuple[str | None, str | None]:
    """`for` takes a user's email or an incident number; returns (email, ticket)."""
    value = value.strip()
    if EMAIL.match(value) and len(value) <= 254:
        return value.lower(), None
    if TICKET.match(value):
        return None, value.upper()
    raise ValueError(f"`{value}` is neither an email address nor an incident number like INC0012345")


def a_ticket(value: str) -> str:
    """A button's incident number (INC0012345): the same shape `for` takes."""
    if not TICKET.match(value):
        raise ValueError(f"{value[:40]!r} is not an incident number")
    return value.upper()


def parse_since(value: str) -> datetime:
    """`30m`, `12h`, `7d`, `2w`, or an ISO date/time (UTC when no zone is given)."""
    match = _REL.match(value.strip().lower())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        minutes = {"m": 1, "h": 60, "d": 1440, "w": 10080}[unit] * amount
        try:
            return datetime.now(UTC) - timedelta(minutes=minutes)
        except OverflowError:  # e.g. 99999999999d: before year 1
            raise ValueError(f"`{value}` reaches back before any date; use a smaller number") from None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"`{value}` is not a time; use 30m, 12h, 7d, 2w or 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"
