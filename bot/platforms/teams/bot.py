"""The Teams turn: remember the conversation, answer at once, do the work after.

Typed commands and Action.Submit clicks (message activities) are stored in the inbox
(bot/inbox.py) before the HTTP answer and run from there, in this process or a worker process:
a typing indicator first, then the reply through the connector. Action.Execute clicks
(`adaptiveCard/action` invokes) must carry their answer in the HTTP response, so they run inside
the turn with a time budget: the updated card goes back in the invoke response and, through
update_activity, to everyone else who sees the card.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import TYPE_CHECKING, Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity

from bot.context import Reply
from bot.identity import NO_ACCESS, resolve_actor
from bot.inbox import UNAVAILABLE
from bot.messaging import deliver
from bot.model import Actor, Interaction, MessageRef, PlatformIdentity, ReplyTarget, new_correlation_id
from bot.platforms.teams.conversations import Inbound
from bot.platforms.teams.delivery import DeliveryError, connector_of, quiet
from bot.platforms.teams.messenger import card_activity
from cards.adaptive import CONTENT_TYPE, parse_action
from cards.model import Card, ChoiceInput, Table, TextInput, message_card
from storage.directory import DirectoryRepo

if TYPE_CHECKING:
    from bot.platforms.teams.adapter import TeamsAdapter

log = logging.getLogger("deskhand.teams")
INVOKE_BUDGET = 4.0  # seconds; Teams waits about 5 s for an invoke answer
MESSAGE = "application/vnd.microsoft.activity.message"
_TAG = re.compile(r"<[^>]*>")


def command_text(activity: Activity) -> str:
    """What the person typed, without the bot's @mention or any markup Teams added."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        if (entity.type or "").lower() == "mention" and mentioned.get("id") == bot_id:
            text = text.replace(str(props.get("text") or ""), " ") if props.get("text") else text
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def activity_json(activity: Activity) -> dict[str, Any]:
    """The activity as JSON for the inbox. msrest's serialize() drops what it keeps in
    additional_properties (a mention's `mentioned` and `text`, unknown top-level keys): put it back."""
    data: dict[str, Any] = {**(activity.additional_properties or {}), **activity.serialize()}
    if activity.entities:
        data["entities"] = [{**(e.additional_properties or {}), **e.serialize()}
                            for e in activity.entities]
    return data


def describe(kind: str, payload: dict[str, Any]) -> str:
    """The request as the person knows it, quoted (bot/inbox.Executor.describe)."""
    if kind == "command":
        return f"“{command_text(Activity().deserialize(payload['activity']))}”"
    return "your click on the card"


def no_access_card() -> Card:
    return message_card("You don't have access yet", NO_ACCESS, tone="warning")


def _message(text: str) -> dict[str, Any]:
    """A text Teams shows to the person who clicked; the card stays as it is."""
    return {"statusCode": 200, "type": MESSAGE, "value": text[:2000]}


def _card(card: Card) -> dict[str, Any]:
    """The card that replaces the clicked one."""
    return {"statusCode": 200, "type": CONTENT_TYPE,
            "value": card_activity(card).attachments[0].content}


def _failure(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "type": "application/vnd.microsoft.error",
            "value": {"code": code, "message": message}}


def _plain(card: Card) -> bool:
    return not card.buttons and not any(
        isinstance(s, TextInput | ChoiceInput) or (isinstance(s, Table) and s.more)
        for s in card.sections)


class DeskhandTeamsBot(TeamsActivityHandler):
    def __init__(self, teams: TeamsAdapter) -> None:
        self.teams = teams
        self.rt = teams.rt

    async def on_turn(self, turn_context: TurnContext) -> None:
        quiet(connector_of(turn_context))
        try:
            await self.teams.conversations.capture(turn_context.activity)
        except Exception:  # a lost reference costs a proactive message, not this turn
            log.exception("could not store the Teams conversation reference")
        await super().on_turn(turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # adaptiveCard/action is answered here rather than in on_adaptive_card_invoke: botbuilder
        # serializes that answer as AdaptiveCardInvokeResponse, whose `value` cannot be the plain
        # string a message answer needs.
        if turn_context.activity.name == "adaptiveCard/action":
            action = (turn_context.activity.value or {}).get("action") if isinstance(
                turn_context.activity.value, dict) else None
            if not isinstance(action, dict) or action.get("type") != "Action.Execute":
                return InvokeResponse(status=400, body=_failure(
                    400, "BadRequest", "expected an Action.Execute action in the invoke value"))
            return InvokeResponse(status=200, body=await self._execute(turn_context, action))
        return await super().on_invoke_activity(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if parse_action(activity.value) is not None:
            kind = "submit"  # Action.Submit: the fallback for clients without Action.Execute
        elif activity.value is None or activity.text:
            kind = "command"
        else:
            return
        payload = {"activity": activity_json(activity)}
        try:  # stored before the turn answers: Teams gives a turn 15 s, a failure is said here
            await self.rt.inbox.put("teams", kind, payload)
        except Exception as exc:
            cid = new_correlation_id()
            log.error("Teams %s not stored (ref %s)", kind, cid, exc_info=exc)
            text = UNAVAILABLE.format(what=describe(kind, payload)[:200])
            await turn_context.send_activity(f"{text} (ref {cid})")

    async def execute(self, kind: str, payload: dict[str, Any]) -> None:
        """Run a stored message activity (the inbox's work, see TeamsAdapter.execute)."""
        activity = Activity().deserialize(payload["activity"])
        inbound = Inbound.of(activity)
        click = parse_action(activity.value)
        if kind == "submit" and click is not None:
            await self._submitted(inbound, click)
        elif kind == "command":
            await self._command(inbound, command_text(activity))
        else:
            log.error("Teams inbox item of kind %r skipped", kind)

    async def _actor(self, ctx: TurnContext, inbound: Inbound) -> Actor | None:
        if not inbound.user_aad:
            return None  # anonymous meeting guests have no directory identity
        identity = PlatformIdentity("teams", inbound.aad_tenant, inbound.user_aad, inbound.user_name)

        async def lookup() -> str | None:
            # TeamsInfo reads the team from channelData, which a proactive turn lacks, and
            # builds TeamsChannelData(**channelData), which warns on every key it does not know.
            original = ctx.activity.channel_data
            team = inbound.channel_data.get("team")
            ctx.activity.channel_data = {"team": team} if team else {}
            try:
                member = await self.teams.delivery.call(
                    "member lookup", lambda: TeamsInfo.get_member(ctx, inbound.user_mri))
            except DeliveryError as exc:
                log.warning("Teams member lookup failed: %s", exc)
                return None
            finally:
                ctx.activity.channel_data = original
            found = [e for e in (member.email, member.user_principal_name) if e]
            if len(found) > 1:  # email and UPN may differ: take the one the directory knows
                async with self.rt.db.uow() as uow:
                    for email in found:
                        if await uow.repo(DirectoryRepo).principal_by_email(self.rt.tenant_id, email):
                            return email
            return found[0] if found else None

        return await resolve_actor(self.rt.db, self.rt.tenant_id, identity, lookup)

    @staticmethod
    def _clicked(inbound: Inbound) -> MessageRef | None:
        if not inbound.reply_to_id:
            return None
        return MessageRef("teams", inbound.conversation_id, inbound.reply_to_id,
                          extra={"reference": inbound.reference})

    async def _command(self, inbound: Inbound, text: str) -> None:
        messenger = self.teams.messenger

        async def work(ctx: TurnContext) -> None:
            try:
                await messenger.typing(ctx, inbound.reference)
            except DeliveryError as exc:
                log.info("typing indicator not sent: %s", exc)
            target = inbound.reply_target()
            actor = await self._actor(ctx, inbound)
            if actor is None:
                await messenger.post(target, no_access_card())
                return
            reply = await self.rt.router.handle_text(text, actor, target, messenger)
            await deliver(messenger, reply, target, actor)

        await self.teams.with_turn(inbound.reference, work)

    async def _submitted(self, inbound: Inbound, click: tuple[str, str, dict[str, str]]) -> None:
        messenger = self.teams.messenger

        async def work(ctx: TurnContext) -> None:
            target = inbound.reply_target()
            actor = await self._actor(ctx, inbound)
            if actor is None:
                await messenger.post(target, no_access_card())
                return
            clicked = self._clicked(inbound)
            action_id, value, inputs = click
            interaction = Interaction(action_id, value, actor, clicked, target, inputs)
            reply = await self.rt.router.handle_action(interaction, messenger)
            await deliver(messenger, reply, target, actor, clicked)

        await self.teams.with_turn(inbound.reference, work)

    async def _execute(self, turn_context: TurnContext, action: dict[str, Any]) -> dict[str, Any]:
        click = parse_action(action.get("data"))
        verb = action.get("verb")
        if isinstance(verb, str) and verb:  # the verb names the action; data carries the rest
            click = (verb[:255], click[1], click[2]) if click else (verb[:255], "", {})
        if click is None:
            return _message("That button is not one of deskhand's.")
        inbound = Inbound.of(turn_context.activity)
        actor = await self._actor(turn_context, inbound)
        if actor is None:
            return _message(NO_ACCESS)
        target, clicked = inbound.reply_target(), self._clicked(inbound)
        interaction = Interaction(click[0], click[1], actor, clicked, target, click[2])
        work = asyncio.ensure_future(self.rt.router.handle_action(interaction, self.teams.messenger))
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), INVOKE_BUDGET)
        except TimeoutError:
            self.teams.spawn(self._late(work, target, actor, clicked))
            return _message("Working on it: the card updates when it's done.")
        return self._answer(reply, target, actor, clicked)

    def _answer(self, reply: Reply, target: ReplyTarget, actor: Actor,
                clicked: MessageRef | None) -> dict[str, Any]:
        messenger, cards = self.teams.messenger, list(reply.cards)
        if reply.replace and cards and clicked is not None:
            rest = Reply(cards[1:], reply.visibility)
            self.teams.spawn(self._spread(cards[0], rest, target, actor, clicked))
            return _card(cards[0])
        if reply.visibility == "private" and cards and all(_plain(c) for c in cards):
            # Shown to the clicker only: the nearest Teams has to an ephemeral reply.
            return _message("\n\n".join(c.fallback_text(1000) for c in cards))
        self.teams.spawn(deliver(messenger, reply, target, actor))
        return _message(cards[0].title if cards else "Done.")

    async def _spread(self, card: Card, rest: Reply, target: ReplyTarget, actor: Actor,
                      clicked: MessageRef) -> None:
        # The invoke answer updates the clicker's view; update_activity updates everyone's.
        await self.teams.messenger.update(clicked, card)
        await deliver(self.teams.messenger, rest, target, actor)

    async def _late(self, work: asyncio.Future[Reply], target: ReplyTarget, actor: Actor,
                    clicked: MessageRef | None) -> None:
        await deliver(self.teams.messenger, await work, target, actor, clicked)
