"""The one path from a platform's request to the person's answer, the same on every platform.

Resolve the tenant (the one the request's workspace maps to, bot/tenancy.py; an unmapped
workspace is refused and audited) -> the person in that tenant (the stored chat link, else the
platform's email lookup) -> an unknown person is told how to get access, and that is audited
-> the router runs the command or click -> the reply is delivered -> the work the handler left
for after the answer runs (e.g. redrawing every copy of a card on other platforms). Whatever
fails on the way (the identity lookup, the audit writer, a card renderer, a platform refusing a
post), the person gets a plain "something went wrong" answer with a reference and the log one
ERROR line with the traceback: never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import logs
from bot.adapter import PlatformRefused
from bot.context import Reply
from bot.errors import ANSWER_FAILED, FAILED_TITLE
from bot.identity import DEACTIVATED, NO_ACCESS, EmailLookup, Unlinked, identify
from bot.model import (
    Actor,
    Interaction,
    MessageRef,
    PlatformIdentity,
    Recipient,
    ReplyTarget,
    new_correlation_id,
)
from bot.router import error_card
from bot.tasks import Tasks
from bot.tenancy import Door, Refused, Workspace, tenant_of
from cards.model import message_card
from storage.tenants import TenantRepo

if TYPE_CHECKING:
    from bot.adapter import Messenger
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.dispatch")


@dataclass(frozen=True)
class Click:
    """A button or form as the platform reported it, before anyone is trusted."""

    action_id: str
    value: str = ""
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A click's reply, with whom it is for and its reference (a Teams invoke renders it)."""

    reply: Reply
    to: Recipient
    cid: str


def failure_reply(cid: str) -> Reply:
    return Reply.private(error_card(FAILED_TITLE, ANSWER_FAILED, cid))


def no_access_reply(cid: str, text: str = NO_ACCESS,
                    title: str = "You don't have access yet") -> Reply:
    return Reply.private(message_card(title, text, tone="warning", context=f"ref {cid}"))


def deactivated_reply(cid: str, email: str) -> Reply:
    return Reply.private(message_card("Your account is deactivated",
                                      DEACTIVATED.format(email=email), tone="attention",
                                      context=f"ref {cid}"))


class Dispatch:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.later = Tasks("dispatch")  # after-answer work, drained when the runtime stops
        self._slugs: dict[int, str] = {}

    async def command(self, messenger: Messenger, door: Door, who: PlatformIdentity, text: str,
                      target: ReplyTarget, *, lookup: EmailLookup | None = None) -> None:
        """A typed command through `door` (its workspace; bot/tenancy.py): run it and deliver
        the answer."""
        cid = new_correlation_id()
        word = text.split(" ", 1)[0] or "help"

        def route(actor: Actor) -> Awaitable[Reply]:
            return self.rt.router.handle_text(text, actor, target, messenger, cid)

        with self._logged(who, cid, word if self.rt.registry.knows(word) else None):
            reply, actor = await self._answer(door, who, lookup, word, cid, route)
            await self.deliver(messenger, reply, target, actor or who, None, cid)

    async def click(self, messenger: Messenger, door: Door, who: PlatformIdentity, click: Click,
                    target: ReplyTarget, clicked: MessageRef | None, *,
                    lookup: EmailLookup | None = None) -> None:
        """A click or form submission: run it and deliver the answer."""
        cid = new_correlation_id()
        with self._logged(who, cid, self._action(click)):
            reply, actor = await self._click(messenger, door, who, click, target, clicked,
                                             lookup, cid)
            await self.deliver(messenger, reply, target, actor or who, clicked, cid)

    async def answer_click(self, messenger: Messenger, door: Door, who: PlatformIdentity,
                           click: Click, target: ReplyTarget, clicked: MessageRef | None, *,
                           lookup: EmailLookup | None = None) -> Answer:
        """A click whose answer the platform carries itself (a Teams invoke response).

        The caller renders the reply, then delivers what remains (`deliver`) or calls `finish`,
        so nothing slow (updating the card's other copies) happens before the answer leaves.
        """
        cid = new_correlation_id()
        with self._logged(who, cid, self._action(click)):
            reply, actor = await self._click(messenger, door, who, click, target, clicked,
                                             lookup, cid)
        return Answer(reply, actor or who, cid)

    def _logged(self, who: PlatformIdentity, cid: str, command: str | None) -> AbstractContextManager[None]:
        """Every line logged while this request is handled names it (bot/logs.py). The command is
        ours or "(unknown)": what someone typed instead is not the log's to keep."""
        return logs.request(correlation_id=cid, platform=who.platform,
                            command=(command or "(unknown)").lower())

    async def _slug(self, tenant_id: int) -> str:
        # slugs never change, so each process asks once per tenant
        if tenant_id not in self._slugs:
            async with self.rt.db.uow() as uow:
                self._slugs = await uow.repo(TenantRepo).slugs()
        return self._slugs.get(tenant_id, str(tenant_id))

    def _action(self, click: Click) -> str | None:
        action = self.rt.registry.action_for(click.action_id)
        return action.prefix if action is not None else None

    def finish(self, reply: Reply) -> None:
        """Start what the handler left for after the answer."""
        for work in reply.later:
            self.later.spawn(work())

    async def deliver(self, messenger: Messenger, reply: Reply, target: ReplyTarget,
                      to: Recipient, clicked: MessageRef | None, cid: str) -> None:
        """Put the reply where it belongs; a failure is answered once with the reference."""
        try:
            await put(messenger, reply, target, to, clicked)
        except Exception as exc:
            _failed(exc, "delivering the answer failed (ref %s)", cid)
            try:
                await put(messenger, failure_reply(cid), target, to, None)
            except Exception as again:
                _failed(again, "telling the person about ref %s failed too", cid)
            return
        self.finish(reply)

    async def _click(self, messenger: Messenger, door: Door, who: PlatformIdentity, click: Click,
                     target: ReplyTarget, clicked: MessageRef | None,
                     lookup: EmailLookup | None, cid: str) -> tuple[Reply, Actor | None]:
        def route(actor: Actor) -> Awaitable[Reply]:
            inputs = {str(k)[:255]: str(v)[:3000] for k, v in click.inputs.items()}
            interaction = Interaction(click.action_id[:255], click.value[:2000], actor, clicked,
                                      target, inputs, cid)
            return self.rt.router.handle_action(interaction, messenger)

        return await self._answer(door, who, lookup, click.action_id.split(":", 1)[0], cid, route)

    async def _answer(self, door: Door, who: PlatformIdentity, lookup: EmailLookup | None,
                      what: str, cid: str, route: Callable[[Actor], Awaitable[Reply]]
                      ) -> tuple[Reply, Actor | None]:
        actor, seen = None, None
        try:
            seen = await self.rt.access.begin()  # what follows reads as of this access version
            tenant = await tenant_of(self.rt, door)
            if isinstance(tenant, Refused):  # an unmapped workspace: where the deployment's
                # admins look; someone of another tenant's workspace: the host tenant's trail
                await self.rt.audit.record(
                    self.rt.tenant_id if tenant.tenant is None else tenant.tenant, "denial",
                    what[:100], tenant.outcome, actor_label=str(who), correlation_id=cid,
                    params=tenant.params(), detail=DENIED[tenant.outcome])
                return no_access_reply(cid, tenant.text, REFUSED_TITLE[tenant.outcome]), None
            logs.name(tenant=await self._slug(tenant))
            found = await self._identify(tenant, who, lookup, _org(door))
            if isinstance(found, Unlinked):
                await self.rt.audit.record(
                    tenant, "denial", what[:100], "unknown_user", actor_label=str(who),
                    correlation_id=cid, params={"reason": found.reason, "emails": list(found.emails)},
                    detail="chat account not linked to a directory user")
                return no_access_reply(cid, found.text), None
            actor = found
            if not actor.principal.active:  # refused before any command or button runs
                await self.rt.audit.record(
                    tenant, "denial", what[:100], "inactive_user", actor=actor,
                    correlation_id=cid, detail="the person is deactivated in the directory")
                return deactivated_reply(cid, actor.principal.email), actor
            return await route(actor), actor
        except Exception:
            log.exception("answering %s from %s failed (ref %s)", what[:100], who, cid)
            return failure_reply(cid), actor
        finally:
            if seen is not None:
                self.rt.access.end(seen)

    async def _identify(self, tenant: int, who: PlatformIdentity, lookup: EmailLookup | None,
                        org: str | None) -> Actor | Unlinked:
        """The person behind the chat account; a linked one is cached until a link or a person
        changes (bot/access_cache.py). An account nobody links to is looked up every time."""
        found = await self.rt.access.lookup(
            "actor", (tenant, who.platform, who.platform_tenant, who.user_id, org),
            lambda: identify(self.rt.db, tenant, who, lookup, org),
            keep=lambda found: isinstance(found, Actor))
        return Actor(found.principal, who) if isinstance(found, Actor) else found


DENIED = {"unmapped_workspace": "the chat workspace is not connected to a deskhand tenant",
          "foreign_actor": "the person's own chat workspace belongs to another deskhand tenant "
                           "or to none"}
REFUSED_TITLE = {"unmapped_workspace": "This workspace isn't connected",
                 "foreign_actor": "Not for your workspace"}


def _org(door: Door) -> str | None:
    """The Enterprise Grid org a Slack request carried for the person's own workspace ("" for
    none), kept with their link; None where it says nothing about it."""
    if isinstance(door, Workspace) and door.platform == "slack" and door.actor() is None:
        return door.org
    return None


def _failed(exc: Exception, message: str, cid: str) -> None:
    """A platform's refusal is a WARNING with its reason; anything else a bug, with its trace."""
    if isinstance(exc, PlatformRefused):
        log.warning(message + ": %s", cid, exc)
    else:
        log.exception(message, cid, exc_info=exc)


async def put(messenger: Messenger, reply: Reply, target: ReplyTarget,
              to: Recipient, clicked: MessageRef | None = None) -> list[MessageRef]:
    """Post or update a reply's cards: the first in place of the clicked card if it says so."""
    refs: list[MessageRef] = []
    cards = list(reply.cards)
    if reply.replace and clicked is not None and cards:
        await messenger.update(clicked, cards.pop(0))
        refs.append(clicked)
    for card in cards:
        private_to = to if reply.visibility == "private" else None
        refs.append(await messenger.post(target, card, private_to=private_to))
    return refs
