"""Email validation: an action done `for` an end user must be on that user's device.

With the tenant's `email_validation` on (the default), the end user an action names (`for
<email>`, or the caller of `for <incident>`) must be the user Workspace ONE has enrolled on the
device, compared case-insensitively, unless the end user's email is on the tenant's
`email_validation_exceptions`. Without `for`, there is nothing to check. A mismatch refuses the
action before anything is sent, is audited as refused, and says only that the email does not
match: the refusal does not name the enrolled user (the person may not be allowed to read the
device, and a guess-and-check oracle would leak who owns which device).

`for <incident>` reads the incident (its caller), so it needs `incident.read` over the device.
Who an incident names comes from whichever capability provides `bot.tickets.TicketEndUsers`
(the incidents capability, with ServiceNow); without one, a ticket names nobody.
"""

from __future__ import annotations

from bot.context import Context
from bot.errors import UserError
from bot.rbac import DeviceScope
from bot.tickets import end_user_of
from handlers.device_actions import texts
from handlers.devices import DeviceSettings
from integrations.workspace_one.models import Device as WS1Device

INCIDENT_READ = "incident.read"


async def end_user_for(ctx: Context, email: str | None, ticket: str | None) -> str | None:
    """The email of the end user an action is for: `for <email>` itself, or the caller of `for
    <incident>` as the ticket's provider has it; None when nothing names one (no `for`, an
    incident without a caller email, ServiceNow not set up for this tenant, no provider at all:
    the number is then only a reference, which names nobody, like no `for` at all). An incident
    ServiceNow does not know is refused (NotFound from the provider): most likely a typo."""
    if email:
        return email.strip().lower()
    if not ticket:
        return None
    return await end_user_of(ctx, ticket)


async def check_end_user(ctx: Context, audit_action: str, scope: DeviceScope, target: WS1Device,
                         email: str | None, ticket: str | None) -> None:
    """Refuse (UserError, audited as `audit_action` refused) when the end user named with `for`
    is not the device's enrolled user; every device action calls this before sending. `for
    <incident>` without `incident.read` over the device is refused first (Denied, audited)."""
    if not (email or ticket):
        return
    device = scope.name
    if ticket and not email:  # nothing is read about an incident the person may not read
        await ctx.require(INCIDENT_READ, texts.WHAT_TICKET.format(device=device, ticket=ticket),
                          device=scope)
    async with ctx.runtime.db.uow() as uow:
        settings = await DeviceSettings.read(uow, ctx.tenant_id)
    if not settings.email_validation:
        return  # nothing asked of ServiceNow either
    end_user = await end_user_for(ctx, email, ticket)
    if end_user is None or end_user in settings.email_validation_exceptions:
        return
    enrolled = target.user_email.strip().lower()
    if enrolled == end_user:
        return
    reason = "the device has no enrolled user email" if not enrolled else \
        "the end user's email is not the device's enrolled user's"
    await ctx.runtime.audit.record(
        ctx.tenant_id, "external", audit_action, "refused", actor=ctx.actor,
        correlation_id=ctx.correlation_id, target=device,
        params={"device": device, "for": email, "ticket": ticket, "end_user": end_user},
        detail=f"email validation: {reason}")
    text = texts.MISMATCH if enrolled else texts.NO_ENROLLED_USER
    raise UserError(text.format(email=end_user, device=device), title=texts.MISMATCH_TITLE)
