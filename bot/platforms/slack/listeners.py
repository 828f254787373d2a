"""Bolt listeners ack and store the request in the inbox; the work runs from the inbox.

Slash commands, block_actions, view_submission (form modals) and the Events API (app_mention,
message.im) are written to the inbox as Slack sent them (bot/inbox.py), so once stored (a few
milliseconds after the ack) a request survives a crash. `execute` runs them later, in this
process or in a worker process: it turns the payload into the neutral model and hands it to the
one dispatch path (bot/dispatch.py). Only opening a modal happens here, since its trigger_id
lives 3 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_sdk.errors import SlackApiError

from bot.dispatch import Click
from bot.inbox import UNAVAILABLE, Replay
from bot.model import MessageRef, PlatformIdentity, ReplyTarget, new_correlation_id
from bot.platforms.slack.commands import command_text, plain, slash_commands, strip_mention, unknown
from bot.tenancy import Workspace
from cards.blockkit import LINK_PREFIX, MODAL, decode_form, render_modal
from cards.model import message_card

if TYPE_CHECKING:
    from bot.platforms.slack.adapter import SlackAdapter

log = logging.getLogger("deskhand.slack")
SIGNED_WINDOW = timedelta(minutes=6)  # Slack's 5-minute signature window, and clock skew
EVENT_WINDOW = timedelta(hours=1)
Body = dict[str, Any]


def register(adapter: SlackAdapter) -> None:
    app = adapter.app

    @app.command(re.compile(r"^/.+"))
    async def on_command(ack: AsyncAck, body: Body, context: AsyncBoltContext) -> None:
        await enqueue(adapter, ack, "command", body, context)

    @app.block_action(re.compile(r".*"))
    async def on_action(ack: AsyncAck, body: Body, context: AsyncBoltContext) -> None:
        action = (body.get("actions") or [{}])[0]
        action_id = str(action.get("action_id", ""))
        if not action_id or action_id.startswith(LINK_PREFIX):
            await ack()
            return  # a link button: the browser opened the url, nothing to run
        if str(action.get("block_id", "")).startswith(MODAL):
            await ack()
            where = workspace(context.team_id or context.enterprise_id or "",
                              context.enterprise_id or "", *actor_of(body, context))
            who = _identity(_account_team(where), body.get("user") or {})
            clicked, target = _clicked(body, time.time(), where)
            adapter.spawn(open_form(adapter, body, action, who, clicked, target))
            return
        await enqueue(adapter, ack, "action", body, context)

    @app.view_submission(MODAL)
    async def on_view(ack: AsyncAck, body: Body, context: AsyncBoltContext) -> None:
        await enqueue(adapter, ack, "view", body, context)  # the ack closes the modal

    @app.event("app_mention")
    async def on_mention(body: Body, event: Body, context: AsyncBoltContext) -> None:
        if event.get("user") and not event.get("bot_id"):
            await enqueue(adapter, None, "event", body, context)

    @app.event("message")
    async def on_message(body: Body, event: Body, context: AsyncBoltContext) -> None:
        # Only commands typed in the bot's own DM; edits, joins and bot posts carry a subtype/bot_id.
        if event.get("channel_type") == "im" and not event.get("subtype") \
                and not event.get("bot_id") and event.get("user"):
            await enqueue(adapter, None, "event", body, context)


async def take_command(adapter: SlackAdapter, body: Body) -> None:
    """A slash command over HTTP, checked and read by the adapter (inbound.py), taken in without
    bolt's dispatch: it only needs what a command listener does, the ack (the adapter's 200) and
    its inbox row, and bolt's routing, context client and keyword arguments were a third of the
    listener's CPU per command (bench/README.md, slack_ack). Bolt's own context builder reads
    the workspace, so the row is the one a Socket Mode command gets through `on_command`."""
    await enqueue(adapter, _answered, "command", body, build_async_context(AsyncBoltContext({}), body))


async def _answered() -> None:
    """The ack of a request the adapter answers itself, with its HTTP 200."""


async def enqueue(adapter: SlackAdapter, ack: Callable[[], Awaitable[object]] | None, kind: str,
                  body: Body, context: AsyncBoltContext) -> None:
    """Ack, then write the request to the inbox; a failed write is told to the sender.

    The ack never waits on the database (Slack allows 3 s; with SQLite's single writer busy with
    the work's own writes, waiting cut the ack rate by half: bench/README.md). Events are the
    exception: they are written before the answer, so a failed write gets a 500 and Slack
    delivers the event again.
    """
    actor_team, actor_org = actor_of(body, context)
    payload = {"team": context.team_id or context.enterprise_id or "",
               "org": context.enterprise_id or "", "actor_team": actor_team,
               "actor_org": actor_org, "body": _trimmed(body)}
    replay = _replay(kind, body)
    if ack is None:
        await adapter.rt.inbox.put("slack", kind, payload, replay)
        return
    await ack()

    def stored(write: asyncio.Future[bool]) -> None:
        if write.cancelled() or write.exception() is None:
            return
        cid = new_correlation_id()
        log.error("Slack %s not stored; the sender is told (ref %s)", kind, cid,
                  exc_info=write.exception())  # the engine hides row values in its errors
        text = UNAVAILABLE.format(what=describe(kind, payload)[:200])
        adapter.spawn(notify(adapter, kind, payload, "That didn't work", f"{text} (ref {cid})",
                             time.time()))

    adapter.rt.inbox.submit("slack", kind, payload, replay).add_done_callback(stored)


def _replay(kind: str, body: Body) -> Replay | None:
    """Slack's own identity of a request: a resend (a replay to this process after a restart, or
    to another replica) is acked and not run. The signature window is 5 minutes; Slack retries
    an event for up to about an hour."""
    if kind == "event":
        return Replay(f"slack:event:{body['event_id']}", EVENT_WINDOW)
    trigger = body.get("trigger_id")
    return Replay(f"slack:trigger:{trigger}", SIGNED_WINDOW) if isinstance(trigger, str) else None


def _trimmed(body: Body) -> Body:
    """What the work needs: Slack's legacy verification token and a clicked card's blocks (up to
    50) stay out of the inbox."""
    kept = {k: v for k, v in body.items() if k != "token"}
    message = body.get("message")
    if isinstance(message, dict):
        kept["message"] = {k: message[k] for k in ("ts", "thread_ts") if k in message}
    return kept


# -- the work, run from the inbox --------------------------------------------------------------

async def execute(adapter: SlackAdapter, kind: str, payload: Body, received: datetime) -> None:
    body = payload.get("body") or {}
    where = _workspace(payload)
    who, clicked, target = _origin(kind, where, body, received.timestamp())
    if kind == "command":
        await run_command(adapter, where, str(body.get("command", "")), str(body.get("text", "")),
                          who, target)
    elif kind == "action":
        action = (body.get("actions") or [{}])[0]
        inputs = _state((body.get("state") or {}).get("values") or {})
        await run_action(adapter, where, who, str(action.get("action_id", "")),
                         str(action.get("value") or ""), inputs, clicked, target)
    elif kind == "view":
        view = body.get("view") or {}
        meta = _view_meta(view)
        inputs = _state((view.get("state") or {}).get("values") or {})
        await run_action(adapter, where, who, str(meta.get("a", "")), str(meta.get("v", "")),
                         inputs, clicked, target)
    elif kind == "event":
        # A redelivered event was not stored again (its event id is its replay key).
        await run_text(adapter, where,
                       plain(strip_mention((body.get("event") or {}).get("text", ""))), who, target)
    else:
        log.error("Slack inbox item of unknown kind %r skipped", kind)


def workspace(team: str, org: str, actor_team: str = "", actor_org: str = "") -> Workspace:
    """The workspace of a request: bolt's team id (or the org's id, for an org-wide install
    where Slack names no workspace) and its Enterprise Grid org, if any; and the acting
    person's own workspace and org where Slack names them."""
    return Workspace("slack", "" if team == org else team, org, actor_team, actor_org)


def actor_of(body: Body, context: AsyncBoltContext) -> tuple[str, str]:
    """The acting person's own workspace and org, as far as Slack says. A click or form names
    the clicker's workspace in `user.team_id` (in a Slack Connect channel, not the host's
    `team.id`); their org is the request's only in their own workspace. An event in a shared
    channel: bolt's actor_team_id / actor_enterprise_id (from `event.user_team`)."""
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        team = str(user["team_id"])
        same = team == (context.team_id or "")
        return team, str(user.get("enterprise_id") or (context.enterprise_id if same else "") or "")
    return str(context.actor_team_id or ""), str(context.actor_enterprise_id or "")


def _workspace(payload: Body) -> Workspace:
    return workspace(str(payload.get("team", "")), str(payload.get("org", "")),
                     str(payload.get("actor_team", "")), str(payload.get("actor_org", "")))


def _account_team(where: Workspace) -> str:
    """The workspace a person's chat account is named by: their own (they may act in another's
    shared channel), else the request's (or its org's, for an org-wide install)."""
    actor = where.actor()
    return (actor.team or actor.org) if actor is not None else (where.team or where.org)


def _origin(kind: str, where: Workspace, body: Body,
            received: float) -> tuple[PlatformIdentity, MessageRef | None, ReplyTarget]:
    """Who sent a stored request, the card it was clicked on (if any) and where answers go
    (with its workspace, whose bot token answers)."""
    team = _account_team(where)
    if kind == "command":
        who = _identity(team, {"id": body.get("user_id", ""), "username": body.get("user_name", "")})
        return who, None, _target(body.get("channel_id", ""), received, where,
                                  response_url=body.get("response_url"))
    if kind == "event":
        event = body.get("event") or {}
        return (_identity(team, {"id": event.get("user", "")}), None,
                _event_target(event, received, where))
    who = _identity(team, body.get("user") or {})
    if kind == "view":
        meta = _view_meta(body.get("view") or {})
        clicked = MessageRef("slack", meta.get("c", ""), meta.get("ts", ""),
                             extra={"response_url": meta.get("r"), "ephemeral": bool(meta.get("e")),
                                    **where.keys()}) \
            if meta.get("c") else None
        return who, clicked, _target(meta.get("c", ""), received, where, thread=meta.get("th"),
                                     response_url=meta.get("r"))
    clicked, target = _clicked(body, received, where)
    return who, clicked, target


def describe(kind: str, payload: Body) -> str:
    """The request as the person knows it, quoted: what they typed, the button or form used."""
    body = payload.get("body") or {}
    if kind == "command":
        return f"“{body.get('command', '')} {body.get('text', '')}”".replace(" ”", "”")
    if kind == "action":
        action = (body.get("actions") or [{}])[0]
        label = (action.get("text") or {}).get("text")
        return f"the “{label}” button" if label else "your choice on the card"
    if kind == "view":
        title = ((body.get("view") or {}).get("title") or {}).get("text")
        return f"the “{title}” form" if title else "the form you sent"
    return f"“{plain(strip_mention((body.get('event') or {}).get('text', '')))}”"


async def notify(adapter: SlackAdapter, kind: str, payload: Body, title: str, text: str,
                 received: float) -> None:
    """A private note to the sender, where the request came from (no database needed)."""
    who, _, target = _origin(kind, _workspace(payload), payload.get("body") or {}, received)
    await adapter.messenger.post(target, message_card(title, text, tone="warning"), private_to=who)


def _identity(team: str | None, user: Body) -> PlatformIdentity:
    return PlatformIdentity("slack", team or "-", str(user.get("id", "")), str(user.get("username", "")))


def _target(channel: str, received: float, where: Workspace, *, thread: str | None = None,
            response_url: str | None = None, im: bool = False) -> ReplyTarget:
    # `received`: wall clock, since targets are stored and reused (a response_url lives 30 min)
    extra: dict[str, Any] = {"received": received, **where.keys()}
    if response_url:
        extra["response_url"] = response_url
    if im:
        extra["im"] = True
    return ReplyTarget("slack", channel, thread, extra)


def _event_target(event: Body, received: float, where: Workspace) -> ReplyTarget:
    if event.get("type") == "app_mention":
        return _target(event.get("channel", ""), received, where,
                       thread=event.get("thread_ts") or event.get("ts"))
    return _target(event.get("channel", ""), received, where, im=True)


def _view_meta(view: Body) -> Body:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _clicked(body: Body, received: float,
             where: Workspace) -> tuple[MessageRef | None, ReplyTarget]:
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    url = body.get("response_url")
    thread = message.get("thread_ts")
    target = _target(channel, received, where, thread=thread, response_url=url)
    if container.get("type") != "message":
        return None, target
    ephemeral = bool(container.get("is_ephemeral"))
    ref = MessageRef("slack", channel, str(container.get("message_ts") or message.get("ts") or ""),
                     extra={"response_url": url, "ephemeral": ephemeral, "thread_ts": thread,
                            **where.keys()})
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


async def run_command(adapter: SlackAdapter, where: Workspace, command: str, text: str,
                      who: PlatformIdentity, target: ReplyTarget) -> None:
    """A slash command under this deployment's names (prefix, single mode); another is refused."""
    registry, settings = adapter.rt.registry, adapter.rt.settings
    routed = command_text(command, text, slash_commands(registry, settings))
    if routed is None:
        log.info("Slack slash command %s refused: not one of this deployment's", command[:40])
        card = message_card("Unknown command", unknown(command, registry, settings), tone="attention")
        await adapter.messenger.post(target, card, private_to=who)
        return
    await run_text(adapter, where, routed, who, target)


async def run_text(adapter: SlackAdapter, where: Workspace, text: str, who: PlatformIdentity,
                   target: ReplyTarget) -> None:
    await adapter.rt.dispatch.command(adapter.messenger, where, who, text, target,
                                      lookup=adapter.identity.lookup(who, where))


async def run_action(adapter: SlackAdapter, where: Workspace, who: PlatformIdentity,
                     action_id: str, value: str, inputs: dict[str, str],
                     clicked: MessageRef | None, target: ReplyTarget) -> None:
    await adapter.rt.dispatch.click(adapter.messenger, where, who, Click(action_id, value, inputs),
                                    target, clicked, lookup=adapter.identity.lookup(who, where))


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
            client = await adapter.clients.of(target.extra)
            await client.views_open(trigger_id=body.get("trigger_id", ""),
                                    view=render_modal(form, json.dumps(meta)))
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error") if exc.response else exc)
            problem = "The form could not open in time; click the button again."
    if problem:
        card = message_card("That didn't work", problem, tone="attention")
        await adapter.messenger.post(target, card, private_to=who)
