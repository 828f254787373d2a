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
from integrations.workspace_one.models import Device as WS1Device


async def end_user_for(ctx: Context, email: str | None, ticket: str | None) -> str | None:
    """The email of the end user an action is for: `for <email>` itself, or the caller of `for
    <incident>` as ServiceNow has it ("" when the incident has no caller with an email); None
    without `for`. An unknown incident, or ServiceNow not set up, refuses (the incidents
    capability says which): an incident deskhand cannot read cannot vouch for anyone."""
    if email:
        return email.strip().lower()
    if ticket:
        return ((await incident_caller(ctx, ticket)) or "").strip().lower()
    return None


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
    if end_user and enrolled == end_user:
        return
    reason = ("the incident names no caller email" if not end_user else
              "the device has no enrolled user email" if not enrolled else
              "the end user's email is not the device's enrolled user's")
    await ctx.runtime.audit.record(
        ctx.tenant_id, "external", audit_action, "refused", actor=ctx.actor,
        correlation_id=ctx.correlation_id, target=device,
        params={"device": device, "for": email, "ticket": ticket, "end_user": end_user},
        detail=f"email validation: {reason}")
    text = texts.NO_CALLER if not end_user else \
        texts.MISMATCH if enrolled else texts.NO_ENROLLED_USER
    raise UserError(text.format(email=end_user, device=device, ticket=ticket),
                    title=texts.MISMATCH_TITLE)
