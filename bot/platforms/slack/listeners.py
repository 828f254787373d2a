"""Bolt listeners: ack first, then turn the payload into the neutral model and run it as a task.

Slash commands, block_actions, view_submission (form modals) and the Events API (app_mention,
message.im) all end in Router.handle_text / handle_action and `deliver`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError

from bot.identity import NO_ACCESS
from bot.messaging import deliver
from bot.model import Interaction, MessageRef, PlatformIdentity, ReplyTarget, new_correlation_id
from bot.platforms.slack.commands import command_text, plain, strip_mention
from cards.blockkit import LINK_PREFIX, MODAL, decode_form, render, render_modal
from cards.model import message_card

if TYPE_CHECKING:
    from bot.platforms.slack.adapter import SlackAdapter

log = logging.getLogger("deskhand.slack")
Body = dict[str, Any]


def register(adapter: SlackAdapter) -> None:
    app = adapter.app

    @app.command(re.compile(r"^/.+"))
    async def on_command(ack: AsyncAck, body: Body, context: AsyncBoltContext) -> None:
        await ack()
        who = _identity(adapter, context, body.get("user_id", ""), body.get("user_name", ""))
        target = _target(body.get("channel_id", ""), response_url=body.get("response_url"))
        text = command_text(body.get("command", ""), body.get("text", ""))
        adapter.spawn(run_text(adapter, text, who, target))

    @app.block_action(re.compile(r".*"))
    async def on_action(ack: AsyncAck, body: Body, context: AsyncBoltContext) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        action_id = str(action.get("action_id", ""))
        if not action_id or action_id.startswith(LINK_PREFIX):
            return  # a link button: the browser opened the url, nothing to run
        user = body.get("user") or {}
        who = _identity(adapter, context, user.get("id", ""), user.get("username", ""))
        clicked, target = _clicked(body)
        if str(action.get("block_id", "")).startswith(MODAL):
            adapter.spawn(open_form(adapter, body, action, who, clicked, target), urgent=True)
            return
        inputs = _state((body.get("state") or {}).get("values") or {})
        adapter.spawn(run_action(adapter, who, action_id, str(action.get("value") or ""), inputs,
                                 clicked, target))

    @app.view_submission(MODAL)
    async def on_view(ack: AsyncAck, body: Body, context: AsyncBoltContext) -> None:
        await ack()  # closes the modal; the result arrives as a message
        view = body.get("view") or {}
        user = body.get("user") or {}
        who = _identity(adapter, context, user.get("id", ""), user.get("username", ""))
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        clicked = MessageRef("slack", meta.get("c", ""), meta.get("ts", ""),
                             extra={"response_url": meta.get("r"), "ephemeral": bool(meta.get("e"))}) \
            if meta.get("c") else None
        target = _target(meta.get("c", ""), thread=meta.get("th"), response_url=meta.get("r"))
        inputs = _state((view.get("state") or {}).get("values") or {})
        adapter.spawn(run_action(adapter, who, str(meta.get("a", "")), str(meta.get("v", "")), inputs,
                                 clicked, target))

    @app.event("app_mention")
    async def on_mention(body: Body, event: Body, context: AsyncBoltContext) -> None:
        if not event.get("user") or event.get("bot_id"):
            return
        who = _identity(adapter, context, event["user"])
        target = _target(event.get("channel", ""), thread=event.get("thread_ts") or event.get("ts"))
        text = plain(strip_mention(event.get("text", "")))
        adapter.spawn(run_event(adapter, str(body.get("event_id", "")), text, who, target))

    @app.event("message")
    async def on_message(body: Body, event: Body, context: AsyncBoltContext) -> None:
        # Only commands typed in the bot's own DM; edits, joins and bot posts carry a subtype/bot_id.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") \
                or not event.get("user"):
            return
        who = _identity(adapter, context, event["user"])
        target = _target(event.get("channel", ""), im=True)
        text = plain(strip_mention(event.get("text", "")))
        adapter.spawn(run_event(adapter, str(body.get("event_id", "")), text, who, target))


def _identity(adapter: SlackAdapter, context: AsyncBoltContext, user_id: str,
              display: str = "") -> PlatformIdentity:
    return adapter.identity.identity(context.team_id or context.enterprise_id, user_id, display)


def _target(channel: str, *, thread: str | None = None, response_url: str | None = None,
            im: bool = False) -> ReplyTarget:
    extra: dict[str, Any] = {"received": time.time()}  # wall clock: targets may be stored and reused
    if response_url:
        extra["response_url"] = response_url
    if im:
        extra["im"] = True
    return ReplyTarget("slack", channel, thread, extra)


def _clicked(body: Body) -> tuple[MessageRef | None, ReplyTarget]:
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    url = body.get("response_url")
    thread = message.get("thread_ts")
    target = _target(channel, thread=thread, response_url=url)
    if container.get("type") != "message":
        return None, target
    ephemeral = bool(container.get("is_ephemeral"))
    ref = MessageRef("slack", channel, str(container.get("message_ts") or message.get("ts") or ""),
                     extra={"response_url": url, "ephemeral": ephemeral, "thread_ts": thread})
    return ref, target


def _state(values: dict[str, dict[str, Any]]) -> dict[str, str]:
    """view.state.values / state.values -> {input id: text or chosen value}."""
    out: dict[str, str] = {}
    for block in values.values():
        for action_id, field in (block or {}).items():
            chosen = field.get("selected_option") or {}
            value = field.get("value") if "value" in field else chosen.get("value")
            out[str(action_id)[:255]] = str(value or "")[:3000]
    return out


async def run_text(adapter: SlackAdapter, text: str, who: PlatformIdentity, target: ReplyTarget) -> None:
    actor = await adapter.identity.actor(who)
    if actor is None:
        await no_access(adapter, who, target, text.split(" ", 1)[0] or "help")
        return
    reply = await adapter.rt.router.handle_text(text, actor, target, adapter.messenger)
    await deliver(adapter.messenger, reply, target, actor)


async def run_event(adapter: SlackAdapter, event_id: str, text: str, who: PlatformIdentity,
                    target: ReplyTarget) -> None:
    # Slack retries a delivery it thinks failed; the claim makes the second one a no-op on any replica.
    if not event_id or not await adapter.rt.scheduler.claims.once("slack.event", event_id):
        log.info("Slack event %s already handled; skipped", event_id or "(no id)")
        return
    await run_text(adapter, text, who, target)


async def run_action(adapter: SlackAdapter, who: PlatformIdentity, action_id: str, value: str,
                     inputs: dict[str, str], clicked: MessageRef | None, target: ReplyTarget) -> None:
    actor = await adapter.identity.actor(who)
    if actor is None:
        await no_access(adapter, who, target, action_id.split(":", 1)[0])
        return
    interaction = Interaction(action_id[:255], value[:2000], actor, clicked, target, inputs)
    reply = await adapter.rt.router.handle_action(interaction, adapter.messenger)
    await deliver(adapter.messenger, reply, target, actor, clicked)


async def open_form(adapter: SlackAdapter, body: Body, action: Body, who: PlatformIdentity,
                    clicked: MessageRef | None, target: ReplyTarget) -> None:
    """views.open right away (the trigger_id lives 3 s); the router checks rights on submit."""
    form = decode_form(str(action.get("value") or ""))
    problem = "This button is damaged; run the command again for a fresh card." if form is None else ""
    if form is not None:
        meta: dict[str, Any] = {"a": action.get("action_id"), "v": form.value, "c": target.channel,
                                "ts": clicked.message_id if clicked else "", "th": target.thread,
                                "e": int(bool(clicked and clicked.extra.get("ephemeral"))),
                                "r": target.extra.get("response_url")}
        if len(json.dumps(meta)) > 3000:
            meta.pop("r")
        try:
            await adapter.client.views_open(trigger_id=body.get("trigger_id", ""),
                                            view=render_modal(form, json.dumps(meta)))
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error") if exc.response else exc)
            problem = "The form could not open in time; click the button again."
    if problem:
        card = message_card("That didn't work", problem, tone="attention")
        await adapter.messenger.post_private(target, who.user_id, render(card))


async def no_access(adapter: SlackAdapter, who: PlatformIdentity, target: ReplyTarget, what: str) -> None:
    """An unlinked Slack account: say how to get access, privately, and leave an audit trail."""
    cid = new_correlation_id()
    await adapter.rt.audit.record(adapter.rt.tenant_id, "denial", what[:100], "unknown_user",
                                  actor_label=str(who), correlation_id=cid,
                                  detail="chat account not linked to a directory user")
    message = render(message_card("You don't have access yet", NO_ACCESS, tone="warning",
                                  context=f"ref {cid}"))
    if target.extra.get("im"):
        await adapter.messenger.post_public(target, message)
    else:
        await adapter.messenger.post_private(target, who.user_id, message)
