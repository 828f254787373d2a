"""One router for every platform: parse, check, run, audit; every failure becomes a plain card.

A `UserError` (bot/errors.py) is shown as its own title and text; a vendor's failure as what
the vendor said, by its cause; anything else as "Something went wrong on our side" with the
correlation id, and the traceback goes to the log. Button values are parsed here, once, from
the action's declaration, before any handler sees them. Every command and click that reached
its handler is announced to the listeners of `command.finished` after the answer (bot/events.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import logs
from bot.context import Context, Reply
from bot.errors import FAILED_TITLE, HANDLER_FAILED, DamagedButton, UserError
from bot.events import COMMAND_FINISHED, Finished, listening, publish
from bot.model import Actor, Command, Interaction, ReplyTarget, new_correlation_id
from bot.parser import ParseError, tokenize
from bot.rbac import Grant, decide_any, grants_of, may_see, permissions_held
from bot.registry import ActionSpec, CommandSpec, UnknownCommand, UsageError, bind
from cards.model import Card, Text, message_card
from cards.model import Context as CardContext
from integrations.http import Cause, VendorError

if TYPE_CHECKING:
    from bot.adapter import Messenger
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.router")
VENDOR_TITLES = {
    Cause.AUTH: "{vendor} refused deskhand's sign-in", Cause.NOT_FOUND: "{vendor} does not know that",
    Cause.RATE_LIMITED: "{vendor} is busy", Cause.UNAVAILABLE: "{vendor} did not answer",
    Cause.REJECTED: "{vendor} did not do it",
}


def error_card(title: str, text: str, correlation_id: str) -> Card:
    return message_card(title, text, tone="attention", context=f"ref {correlation_id}")


def usage_card(spec: CommandSpec, problem: str, correlation_id: str) -> Card:
    card = error_card("Check the command", f"{problem}.\nUsage: `{spec.usage}`", correlation_id)
    if spec.examples:
        card.sections.insert(1, Text("Example: " + ", ".join(f"`{e}`" for e in spec.examples)))
    return card


def visible(specs: list[CommandSpec], grants: list[Grant]) -> list[CommandSpec]:
    held = permissions_held(grants)
    return [s for s in specs if may_see(held, s.permission)]


def parse_click(action: ActionSpec, interaction: Interaction) -> Interaction:
    """The click with its action id's parts and its value's fields parsed as declared."""
    parts = interaction.action_id.split(":")[1:]
    fields = tuple(interaction.value.split("\x1f")) if action.fields else ()
    left_off = len(action.params) - len(parts)
    if not 0 <= left_off <= action.optional or len(fields) != action.fields:
        raise DamagedButton(action.damaged)
    try:
        args = tuple(param(part) for param, part in zip(action.params, parts, strict=False))
    except ValueError:
        raise DamagedButton(action.damaged) from None
    return dataclasses.replace(interaction, args=args + (None,) * left_off, fields=fields)


class Router:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def _grants(self, actor: Actor) -> list[Grant]:
        """The person's grants as of this request's access version (bot/access_cache.py)."""
        async def load() -> tuple[Grant, ...]:
            async with self.rt.db.uow() as uow:
                return tuple(await grants_of(uow, actor.tenant_id, actor.principal.id))

        key = (actor.tenant_id, actor.principal.id)
        return list(await self.rt.access.lookup("grants", key, load))

    async def handle_text(self, text: str, actor: Actor, reply_to: ReplyTarget,
                          messenger: Messenger, correlation_id: str | None = None) -> Reply:
        cid = correlation_id or new_correlation_id()
        started = time.perf_counter()
        name, outcome = "(unparsed)", "error"
        try:
            grants = await self._grants(actor)
            try:
                tokens = tokenize(text)
                if not tokens.words:
                    tokens.words = ["help"]
                spec, rest = self.rt.registry.resolve(tokens.words)
            except UnknownCommand as exc:
                outcome = "unknown"
                return Reply.private(self._unknown(exc, grants, cid))
            except ParseError as exc:
                outcome = "invalid"
                return Reply.private(error_card("I couldn't read that", f"{exc}.", cid))
            name = spec.name
            logs.name(command=name)
            if spec.permission is not None:
                decision = decide_any(grants, spec.permission, active=actor.principal.active)
                if not decision.allowed:
                    outcome = "denied"
                    await self.rt.audit.record(
                        actor.tenant_id, "denial", spec.name, "denied", actor=actor,
                        correlation_id=cid, params={"text": text}, detail=decision.explain())
                    return Reply.private(error_card(
                        "Not allowed", f"You may not run `{spec.name}`: {decision.explain()}.", cid))
            try:
                args = bind(spec, rest, tokens)
            except UsageError as exc:
                outcome = "invalid"
                return Reply.private(usage_card(spec, exc.problem, cid))
            ctx = Context(self.rt, actor, messenger, grants, cid)
            command = Command(spec.name, args, text, actor, reply_to, cid)
            reply, outcome, said = await self._run(ctx, spec.name, lambda: spec.handler(ctx, command))
            params = {**args, **ctx.audit_params}
            await self.rt.audit.record(
                actor.tenant_id, "command", spec.name, outcome, actor=actor, correlation_id=cid,
                target=ctx.target, params=params)
            self._announce(reply, Finished(actor.tenant_id, actor, "command", spec.name, text,
                                           params, outcome, said, cid))
            return reply
        finally:
            seconds = time.perf_counter() - started
            self.rt.metrics.observe_command(name, outcome, seconds)
            log.info("command %s: %s in %.0f ms", name, outcome, seconds * 1000)

    async def handle_action(self, interaction: Interaction, messenger: Messenger) -> Reply:
        cid = interaction.correlation_id
        action = self.rt.registry.action_for(interaction.action_id)
        actor = interaction.actor
        if action is None:
            return Reply.private(error_card(
                "This button no longer works", "It belongs to an older version of deskhand; "
                "run the command again for a fresh card.", cid))
        grants = await self._grants(actor)
        if action.permission is not None:
            decision = decide_any(grants, action.permission, active=actor.principal.active)
            if not decision.allowed:
                await self.rt.audit.record(
                    actor.tenant_id, "denial", action.prefix, "denied", actor=actor,
                    correlation_id=cid, params={"value": interaction.value},
                    detail=decision.explain())
                self.rt.metrics.observe_interaction(action.prefix, "denied")
                log.info("click %s: denied", action.prefix)
                return Reply.private(error_card(
                    "Not allowed", f"You may not do that: {decision.explain()}.", cid))
        ctx = Context(self.rt, actor, messenger, grants, cid)
        reply, outcome, said = await self._run(
            ctx, action.prefix, lambda: action.handler(ctx, parse_click(action, interaction)))
        params = {"action_id": interaction.action_id, **ctx.audit_params}
        await self.rt.audit.record(
            actor.tenant_id, "interaction", action.prefix, outcome, actor=actor,
            correlation_id=cid, target=ctx.target, params=params)
        self.rt.metrics.observe_interaction(action.prefix, outcome)
        log.info("click %s: %s", action.prefix, outcome)
        self._announce(reply, Finished(actor.tenant_id, actor, "interaction", action.prefix,
                                       interaction.action_id, params, outcome, said, cid))
        return reply

    def _announce(self, reply: Reply, finished: Finished) -> None:
        """Tell the listeners (e.g. an incident's work note) once the answer is out."""
        if listening(self.rt, COMMAND_FINISHED):
            reply.later.append(lambda: publish(self.rt, COMMAND_FINISHED, finished))

    async def _run(self, ctx: Context, name: str,
                   call: Callable[[], Awaitable[Reply]]) -> tuple[Reply, str, str]:
        """The reply, its audit outcome and, when it did not succeed, what the person read."""
        reply, outcome, said = await self._call(ctx, name, call)
        reply.later.extend(ctx.deferred)  # what moved before a failure is still redrawn
        return reply, outcome, said

    @staticmethod
    async def _call(ctx: Context, name: str,
                    call: Callable[[], Awaitable[Reply]]) -> tuple[Reply, str, str]:
        try:
            return await call(), "ok", ""
        except UserError as exc:
            card = error_card(exc.title, str(exc), ctx.correlation_id)
            return Reply.private(card), exc.outcome, str(exc)
        except VendorError as exc:
            log.warning("%s: %s answered %s (%s; ref %s)", name, exc.vendor, exc.status or "nothing",
                        exc.code, ctx.correlation_id)
            title = VENDOR_TITLES[exc.cause].format(vendor=exc.vendor)
            return (Reply.private(error_card(title, exc.message, ctx.correlation_id)), "failed",
                    f"{title}: {exc.message}")
        except Exception:
            log.exception("%s failed (ref %s)", name, ctx.correlation_id)
            card = error_card(FAILED_TITLE, HANDLER_FAILED, ctx.correlation_id)
            return Reply.private(card), "error", FAILED_TITLE

    def _unknown(self, exc: UnknownCommand, grants: list[Grant], cid: str) -> Card:
        mine = {s.name for s in visible(list(self.rt.registry.commands.values()), grants)}
        groups = {n.split(" ", 1)[0] for n in mine}
        if exc.subcommands:
            subs = [s for s in exc.subcommands if f"{exc.word.split()[0]} {s}" in mine]
            if subs:
                return error_card("Which one?", f"`{exc.word.split()[0]}` needs one of: "
                                  + ", ".join(f"`{s}`" for s in subs) + ".", cid)
        hints = [s for s in exc.suggestions if s in mine or s in groups]
        text = f"There is no command `{exc.word}`."
        if hints:
            text += " Did you mean " + " or ".join(f"`{h}`" for h in hints) + "?"
        card = error_card("Unknown command", text, cid)
        card.sections.insert(1, CardContext("Type `help` to see what you can run."))
        return card
