"""Reading an incident for a person: the incident, its caller and its device in our inventory.

`END_USERS` is the capability's `bot.tickets.TicketEndUsers` service: the caller of an incident,
which the device actions' email validation asks for a `for <incident>` (without importing us).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.capability import Service
from bot.context import Context
from bot.errors import NotFound
from bot.tickets import TicketEndUsers
from handlers.common import TICKET
from handlers.incidents import texts
from handlers.incidents.service import NotConfigured, servicenow
from integrations.servicenow.records import ConfigItem, Incident, User
from storage.devices import Device, DeviceRepo


def parse_number(value: str) -> str:
    """An incident number as typed (any case): INC0010023."""
    value = value.strip()
    if not TICKET.match(value) or not value.upper().startswith("INC"):
        raise ValueError(texts.NOT_A_NUMBER.format(value=value[:40]))
    return value.upper()


@dataclass(frozen=True)
class Found:
    incident: Incident
    caller: User | None
    ci: ConfigItem | None
    device: Device | None  # the CI in our inventory; None when it does not know it


async def incident(ctx: Context, number: str) -> Incident:
    """The incident, or NotFound saying ServiceNow has none by that number."""
    client = await servicenow(ctx.runtime, ctx.tenant_id)
    found = await client.incident(number, cid=ctx.correlation_id)
    if found is None:
        raise NotFound(texts.UNKNOWN.format(number=number.upper()), title=texts.UNKNOWN_TITLE)
    return found


async def incident_caller(ctx: Context, number: str) -> str | None:
    """The email of the person who called the incident in (from sys_user); None when the
    incident has no caller or the caller no email. An unknown incident raises NotFound."""
    found = await incident(ctx, number)
    client = await servicenow(ctx.runtime, ctx.tenant_id)
    return await client.caller_email(found, cid=ctx.correlation_id)


async def caller_of_ticket(ctx: Context, ticket: str) -> str | None:
    """The caller's email in lower case; None without one, or while ServiceNow is not set up
    for the tenant (the number is then only a reference). An unknown incident: NotFound."""
    try:
        caller = await incident_caller(ctx, ticket)
    except NotConfigured:
        return None
    return caller.strip().lower() if caller and caller.strip() else None


END_USERS = Service(TicketEndUsers, lambda runtime: TicketEndUsers(caller_of_ticket))


async def inventory_device(ctx: Context, ci: ConfigItem) -> Device | None:
    """Our device for the CI: by its name (or FQDN), else by its serial number."""
    async with ctx.runtime.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        for ref in filter(None, (ci.name, ci.serial_number)):
            device = await inventory.find(ctx.tenant_id, ref)
            if device is not None:
                return device
    return None


async def everything(ctx: Context, number: str) -> Found:
    """The incident with its caller, its CI and our device for it."""
    client = await servicenow(ctx.runtime, ctx.tenant_id)
    found = await incident(ctx, number)
    cid = ctx.correlation_id
    caller = await client.user(found.caller_id, cid=cid) if found.caller_id else None
    ci = await client.device(found, cid=cid)
    device = await inventory_device(ctx, ci) if ci is not None else None
    ctx.target = found.number
    return Found(found, caller, ci, device)
