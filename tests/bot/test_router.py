"""The router with a real runtime: help per person, readable errors, role changes, buttons."""

from __future__ import annotations

from bot.context import Context, Reply
from bot.model import Command, Interaction, MessageRef
from bot.registry import CommandSpec
from bot.runtime import Runtime
from cards.model import Card, Table
from tests.bot.test_audit import REPLY_TO, ChatRoom, actor, events, say


def _table(card: Card) -> Table:
    return next(s for s in card.sections if isinstance(s, Table))


# The core's commands; capabilities added later bring their own and are checked there.
CORE = {"help", "whoami", "why", "role list", "role grant", "role bind-group", "role revoke",
        "role create", "devices", "audit"}


async def _help_names(rt: Runtime, email: str) -> set[str]:
    card = await say(rt, await actor(rt, email), "help", f"help-{email}")
    by_length = sorted(rt.registry.commands, key=len, reverse=True)
    shown = {next(n for n in by_length if usage.startswith(n)) for usage, _ in _table(card).rows}
    if email.startswith("nina."):  # no roles: only the commands anyone may run
        assert all(rt.registry.commands[n].permission is None for n in shown)
    return shown & CORE


async def test_help_shows_each_person_only_what_they_may_run(runtime: Runtime) -> None:
    everyone = {"help", "whoami", "why"}
    assert await _help_names(runtime, "nina.new@example.com") == everyone
    assert await _help_names(runtime, "audrey.auditor@example.com") == everyone | {"audit", "role list"}
    # Scoped device.read is enough to see `devices`; scoped roles give no tenant-wide command.
    assert await _help_names(runtime, "riley.remote@example.com") == everyone | {"devices"}
    assert await _help_names(runtime, "alex.admin@example.com") == CORE


async def test_unknown_commands_and_bad_arguments_get_readable_cards(runtime: Runtime) -> None:
    audrey = await actor(runtime, "audrey.auditor@example.com")
    unknown = await say(runtime, audrey, "audt since=7d", "c1")
    assert unknown.title == "Unknown command"
    assert "There is no command `audt`. Did you mean `audit`?" in unknown.fallback_text()
    which = await say(runtime, audrey, "role", "c2")
    assert which.title == "Which one?" and "`role` needs one of: `list`." in which.fallback_text()
    # Nina may not run `audit`, so it is not suggested to her.
    nina = await actor(runtime, "nina.new@example.com")
    assert "Did you mean" not in (await say(runtime, nina, "audt", "c3")).fallback_text()

    alex = await actor(runtime, "alex.admin@example.com")
    usage = await say(runtime, alex, "role revoke twelve", "c4")
    assert usage.title == "Check the command"
    text = usage.fallback_text()
    assert "assignment: `twelve` is not a whole number." in text
    assert "Usage: `role revoke <assignment>`" in text and "`role revoke 12`" in text
    unreadable = await say(runtime, alex, "devices \u201cLondon", "c5")
    assert unreadable.title == "I couldn't read that"
    assert "quote is never closed" in unreadable.fallback_text() and "ref c5" in unreadable.fallback_text()


async def test_grant_revoke_through_chat_and_the_button(runtime: Runtime) -> None:
    alex = await actor(runtime, "alex.admin@example.com")
    refused = await say(runtime, alex, "role grant Remote Support to sam.standard@example.com", "g0")
    assert refused.title == "Role not granted" and "must be limited" in refused.fallback_text()
    room = ChatRoom()
    reply = await runtime.router.handle_text(
        "role grant \u201cRemote Support\u201d to sam.standard@example.com groups=London",
        alex, REPLY_TO, room, correlation_id="g1")
    granted = reply.cards[0]
    assert reply.visibility == "public"
    assert granted.title == "Remote Support granted to sam.standard@example.com"
    [revoke] = granted.buttons
    assert revoke.style == "danger" and revoke.confirm is not None
    twice = await say(runtime, alex, "role grant Remote Support to sam.standard@example.com "
                                     "groups=london", "g1b")
    assert twice.title == "Role not granted" and twice.fallback_text().count(
        f"already has Remote Support over groups London (assignment #{revoke.value}); "
        "nothing changed") == 1

    posted = MessageRef("console", "room", "m1")
    nina = await actor(runtime, "nina.new@example.com")
    denied = await runtime.router.handle_action(
        Interaction(revoke.action_id, revoke.value, nina, posted, REPLY_TO, correlation_id="g2"), room)
    assert denied.cards[0].title == "Not allowed" and not denied.replace
    [denial] = await events(runtime, "g2")
    assert (denial.kind, denial.action, denial.outcome) == ("denial", "role.revoke", "denied")

    done = await runtime.router.handle_action(
        Interaction(revoke.action_id, revoke.value, alex, posted, REPLY_TO, correlation_id="g3"), room)
    assert done.replace and done.cards[0].title == "Remote Support revoked"
    [row] = await events(runtime, "g3")
    assert (row.kind, row.outcome, row.target) == ("interaction", "ok", f"assignment #{revoke.value}")
    again = await runtime.router.handle_action(
        Interaction(revoke.action_id, revoke.value, alex, posted, REPLY_TO), room)
    assert again.cards[0].title == "Not revoked" and "no assignment" in again.cards[0].fallback_text()

    stale = await runtime.router.handle_action(
        Interaction("gone.away:1", "", alex, posted, REPLY_TO), room)
    assert stale.cards[0].title == "This button no longer works"


async def test_a_failing_handler_gives_a_reference_not_a_trace(runtime: Runtime) -> None:
    async def explode(ctx: Context, cmd: Command) -> Reply:
        raise RuntimeError("connection to db failed, password=hunter2")

    runtime.registry.add(CommandSpec("explode", "Fails on purpose.", explode))
    alex = await actor(runtime, "alex.admin@example.com")
    card = await say(runtime, alex, "explode", "boom1")
    text = card.fallback_text()
    assert card.title == "Something went wrong on our side"
    assert "ref boom1" in text and "hunter2" not in text and "RuntimeError" not in text
    [row] = await events(runtime, "boom1")
    assert (row.kind, row.action, row.outcome) == ("command", "explode", "error")
