"""Email validation: an action done `for` an end user must be on that user's device.

With the tenant's `email_validation` on (the default), the end user an action names (`for
<email>`, or the caller of `for <incident>`) must be the user Workspace ONE has enrolled on the
device, compared case-insensitively, unless the end user's email is on the tenant's
`email_validation_exceptions`. Without `for`, there is nothing to check. A mismatch refuses the
action before anything is sent, is audited as refused, and says only that the email does not
match: the refusal does not name the enrolled user (the person may not be allowed to read the
device, and a guess-and-check oracle would leak who owns which device).
"""

from __future__ import annotations

from bot.context import Context
from bot.errors import UserError
from handlers.device_actions import texts
from handlers.devices import DeviceSettings
from handlers.incidents.lookup import incident_caller
from handlers.incidents.service import NotConfigured
from integrations.workspace_one.models import Device as WS1Device


async def end_user_for(ctx: Context, email: str | None, ticket: str | None) -> str | None:
    """The email of the end user an action is for: `for <email>` itself, or the caller of `for
    <incident>` as ServiceNow has it; None when nothing names one (no `for`, an incident without
    a caller email, or no ServiceNow for this tenant: the number is then only a reference, which
    names nobody, like no `for` at all). An incident ServiceNow does not know is refused
    (NotFound from the incidents capability): most likely a typo in the number."""
    if email:
        return email.strip().lower()
    if not ticket:
        return None
    try:
        caller = await incident_caller(ctx, ticket)
    except NotConfigured:
        return None
    return caller.strip().lower() if caller else None


async def check_end_user(ctx: Context, audit_action: str, device: str, target: WS1Device,
                         email: str | None, ticket: str | None) -> None:
    """Refuse (UserError, audited as `audit_action` refused) when the end user named with `for`
    is not the device's enrolled user; every device action calls this before sending."""
    if not (email or ticket):
        return
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
