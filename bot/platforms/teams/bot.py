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
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity

from bot.context import Reply
from bot.dispatch import Answer, Click
from bot.identity import EmailLookup
from bot.inbox import UNAVAILABLE, Replay
from bot.model import MessageRef, PlatformIdentity, ReplyTarget, new_correlation_id
from bot.platforms.teams.conversations import Inbound
from bot.platforms.teams.delivery import DeliveryError, connector_of, quiet
from bot.platforms.teams.messenger import card_activity
from bot.tenancy import Workspace
from cards.adaptive import CONTENT_TYPE, parse_action
from cards.model import Card, ChoiceInput, Table, TextInput

if TYPE_CHECKING:
    from bot.platforms.teams.adapter import TeamsAdapter

log = logging.getLogger("deskhand.teams")
REPLAY_WINDOW = timedelta(hours=1)  # a Bot Framework token lives at most about an hour
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


def replay_of(activity: Activity) -> Replay | None:
    """The Bot Framework's identity of an activity: delivered again (a retry, a replay to another
    replica within the token's life), it is not run twice."""
    if not activity.id or not activity.conversation or not activity.conversation.id:
        return None
    return Replay(f"teams:{activity.conversation.id}:{activity.id}", REPLAY_WINDOW)


def describe(kind: str, payload: dict[str, Any]) -> str:
    """The request as the person knows it, quoted (bot/inbox.Executor.describe)."""
    if kind == "command":
        return f"“{command_text(Activity().deserialize(payload['activity']))}”"
    return "your click on the card"


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
        answer = await super().on_invoke_activity(turn_context)
        if answer is None or answer.status == 501:  # botbuilder's "not implemented": the
            # manifest asks Teams for no other invokes, so this one is malformed, not a gap.
            name = str(turn_context.activity.name)[:80]
            log.warning("Teams request refused with 400: deskhand handles no %r invoke", name)
            return InvokeResponse(status=400, body=_failure(
                400, "BadRequest", f"deskhand does not handle {name!r} invokes"))
        return answer

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
            await self.rt.inbox.put("teams", kind, payload, replay_of(activity))
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

    @staticmethod
    def _door(inbound: Inbound) -> Workspace:
        return Workspace("teams", inbound.aad_tenant)

    @staticmethod
    def _who(inbound: Inbound) -> PlatformIdentity:
        # Anonymous meeting guests have no AAD object id: nobody to link, so no access.
        return PlatformIdentity("teams", inbound.aad_tenant, inbound.user_aad or "", inbound.user_name)

    def _lookup(self, ctx: TurnContext, inbound: Inbound) -> EmailLookup:
        async def email() -> list[str] | None:
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
            # email and UPN may differ: bot/identity.py links by whichever the directory knows,
            # and refuses when they name two different people
            return [e for e in (member.email, member.user_principal_name) if e]

        return email

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
            await self.rt.dispatch.command(messenger, self._door(inbound), self._who(inbound), text,
                                           inbound.reply_target(), lookup=self._lookup(ctx, inbound))

        await self.teams.with_turn(inbound.reference, work)

    async def _submitted(self, inbound: Inbound, click: tuple[str, str, dict[str, str]]) -> None:
        async def work(ctx: TurnContext) -> None:
            await self.rt.dispatch.click(self.teams.messenger, self._door(inbound), self._who(inbound),
                                         Click(*click), inbound.reply_target(),
                                         self._clicked(inbound), lookup=self._lookup(ctx, inbound))

        await self.teams.with_turn(inbound.reference, work)

    async def _execute(self, turn_context: TurnContext, action: dict[str, Any]) -> dict[str, Any]:
        click = parse_action(action.get("data"))
        verb = action.get("verb")
        if isinstance(verb, str) and verb:  # the verb names the action; data carries the rest
            click = (verb[:255], click[1], click[2]) if click else (verb[:255], "", {})
        if click is None:
            return _message("That button is not one of deskhand's.")
        replay = replay_of(turn_context.activity)
        if replay is not None and not await self.rt.inbox.first(replay):
            log.warning("a replayed Teams invoke was not run")
            return _message("That click was already handled.")
        inbound = Inbound.of(turn_context.activity)
        who, target, clicked = self._who(inbound), inbound.reply_target(), self._clicked(inbound)
        work = asyncio.ensure_future(self.rt.dispatch.answer_click(
            self.teams.messenger, self._door(inbound), who, Click(*click), target, clicked,
            lookup=self._lookup(turn_context, inbound)))
        try:
            answer = await asyncio.wait_for(asyncio.shield(work), INVOKE_BUDGET)
        except TimeoutError:
            self.teams.spawn(self._late(work, target, clicked))
            return _message("Working on it: the card updates when it's done.")
        return self._answer(answer, target, clicked)

    def _answer(self, answer: Answer, target: ReplyTarget, clicked: MessageRef | None) -> dict[str, Any]:
        """The invoke's body. Everything else (other copies, further cards, the handler's later
        work) goes after it, so the invoke answers within Teams' few seconds."""
        reply, dispatch = answer.reply, self.rt.dispatch
        cards = list(reply.cards)
        if reply.replace and cards and clicked is not None:
            rest = Reply(cards[1:], reply.visibility, later=reply.later)
            self.teams.spawn(self._spread(cards[0], rest, target, answer, clicked))
            return _card(cards[0])
        if reply.visibility == "private" and cards and all(_plain(c) for c in cards):
            # Shown to the clicker only: the nearest Teams has to an ephemeral reply.
            dispatch.finish(reply)
            return _message("\n\n".join(c.fallback_text(1000) for c in cards))
        self.teams.spawn(dispatch.deliver(self.teams.messenger, reply, target, answer.to, None,
                                          answer.cid))
        return _message(cards[0].title if cards else "Done.")

    async def _spread(self, card: Card, rest: Reply, target: ReplyTarget, answer: Answer,
                      clicked: MessageRef) -> None:
        # The invoke answer updates the clicker's view; update_activity updates everyone's.
        await self.teams.messenger.update(clicked, card)
        await self.rt.dispatch.deliver(self.teams.messenger, rest, target, answer.to, None, answer.cid)

    async def _late(self, work: asyncio.Future[Answer], target: ReplyTarget,
                    clicked: MessageRef | None) -> None:
        answer = await work
        await self.rt.dispatch.deliver(self.teams.messenger, answer.reply, target, answer.to, clicked,
                                       answer.cid)
