"""Who a ticket is about: the seam between work done `for <ticket>` and whatever knows tickets.

A device action run `for <incident>` checks the incident's caller against the device's enrolled
user (email validation). The device actions do not know where tickets live: a capability that
does (the incidents capability, with ServiceNow) provides a `TicketEndUsers` service
(bot/capability.Service), and `end_user_of` asks it. Without a provider a ticket names nobody:
it is only a reference, as when ServiceNow is not set up for the tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import Context


@dataclass(frozen=True)
class TicketEndUsers:
    """`email_of(ctx, ticket)`: the email (lower case) of the end user the ticket is about, an
    incident's caller; None when it names nobody (no caller email, the ticket system not set up
    for the tenant). A ticket the system does not know raises NotFound (most likely a typo)."""

    email_of: Callable[[Context, str], Awaitable[str | None]]


async def end_user_of(ctx: Context, ticket: str) -> str | None:
    """The ticket's end user as its provider has it; None when no capability provides one."""
    try:
        provider = ctx.runtime.services.get(TicketEndUsers)
    except LookupError:  # no capability knows tickets
        return None
    return await provider.email_of(ctx, ticket) if provider is not None else None
