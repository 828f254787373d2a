"""What deactivating a person does, everywhere, in one place (SCIM, the CLI and chat call it).

The flag commits first: from then on every surface that checks it refuses the person at once,
on every replica (chat commands and clicks in bot/dispatch.py, console sessions in
bot/console_signin.session_of, data-access tokens at the Delta Sharing endpoint). Then what the
person left behind ends so that a reactivation brings none of it back: their console sessions
and unused sign-in links are revoked (same transaction as the flag), their pending approval
requests are cancelled with their subjects and every copy of the cards redrawn, and the
capabilities that hold something of theirs (data-access tokens) hear PERSON_DEACTIVATED.
Reactivating only sets the flag back. Both are audited and safe to repeat (an IdP retries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import approvals, console_signin
from bot.audit import Audit
from bot.events import publish
from bot.model import new_correlation_id
from storage.directory import DirectoryRepo, PrincipalRow
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.people")
PERSON_DEACTIVATED = "person.deactivated"
CANCELLED_REASON = "{email} was deactivated in the directory"


@dataclass(frozen=True)
class Deactivated:
    """The payload of PERSON_DEACTIVATED: whose things to end, and on whose word."""

    tenant_id: int
    principal_id: int
    email: str
    by: str


class UnknownPerson(LookupError):
    """No principal with that id in that tenant."""


async def _person(uow: UnitOfWork, tenant_id: int, principal_id: int) -> PrincipalRow:
    row = await uow.repo(DirectoryRepo).principal(principal_id)
    if row is None or row.tenant_id != tenant_id:  # never across tenants
        raise UnknownPerson(f"there is no person {principal_id} in this tenant")
    return row


async def deactivate(runtime: Runtime, tenant_id: int, principal_id: int, by: str) -> None:
    """Mark the principal inactive and end what they hold; raises UnknownPerson."""
    async with runtime.db.uow() as uow:
        person = await _person(uow, tenant_id, principal_id)
        was_active, email = person.active, person.email
        person.active = False
        await console_signin.sign_out_everywhere(uow, person, by=by)
        await Audit.add(uow, tenant_id, "directory", "person.deactivate", "ok",
                        correlation_id=new_correlation_id(), actor_label=by, target=email,
                        params={"was_active": was_active})
        await uow.commit()
    cancelled = await approvals.cancel_requests_of(
        runtime, tenant_id, principal_id, CANCELLED_REASON.format(email=email), by)
    await publish(runtime, PERSON_DEACTIVATED, Deactivated(tenant_id, principal_id, email, by))
    log.info("person %s deactivated by %s; %d approval request(s) cancelled",
             principal_id, by, cancelled)


async def reactivate(runtime: Runtime, tenant_id: int, principal_id: int, by: str) -> None:
    """Mark the principal active again: ended sessions, cancelled requests and revoked tokens
    stay ended. Raises UnknownPerson."""
    async with runtime.db.uow() as uow:
        person = await _person(uow, tenant_id, principal_id)
        was_active = person.active
        person.active = True
        await Audit.add(uow, tenant_id, "directory", "person.reactivate", "ok",
                        correlation_id=new_correlation_id(), actor_label=by, target=person.email,
                        params={"was_active": was_active})
        await uow.commit()
