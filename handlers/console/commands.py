"""`console`: how to open the web console; in production, a sign-in link only you can see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import console_signin
from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Command
from bot.registry import CommandSpec
from cards.model import Button, Card, Text
from cards.model import Context as Small
from storage.directory import DirectoryRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

SWEEP_SECONDS = 6 * 3600
OFF = ("The web console is turned off here. Your deskhand administrator can turn it on with "
       "DESKHAND_CONSOLE_ENABLED=true.")
NOWHERE_PRIVATE = ("A sign-in link must reach you alone, and this conversation is shared. "
                   "Open a 1:1 chat with deskhand and type `console` there.")
HERE_ALREADY = "You are signed in to the console already: this is it."
DEMO = ("In demo and dev mode the console needs no sign-in: open it and choose whom to act as. "
        "Do not run this mode where others can reach it.")


async def console_command(ctx: Context, cmd: Command) -> Reply:
    settings = ctx.runtime.settings
    console = f"{settings.public_url.rstrip('/')}/console"
    if not settings.console_on:
        raise UserError(OFF, title="The console is off")
    if not settings.console_signs_in:
        return Reply.private(Card("The deskhand console", [Text(DEMO)],
                                  [Button("Open the console", "console.open", url=console)]))
    if ctx.actor.identity.platform == "console":
        return Reply.private(Card("The deskhand console", [Text(HERE_ALREADY)]))
    if await ctx.messenger.private_place(cmd.reply_to, ctx.actor) is None:
        raise UserError(NOWHERE_PRIVATE, title="Ask me in a private chat")
    minutes = settings.console_link_minutes
    async with ctx.runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal(ctx.actor.principal.id)
        if person is None:
            raise UserError("You are no longer in the directory.", title="No sign-in link")
        try:
            link = await console_signin.issue_link(uow, person, settings.public_url, minutes,
                                                   by=person.email)
        except console_signin.SignInRefused as exc:
            raise UserError(str(exc), title="No sign-in link") from None
        await uow.commit()
    ctx.target = person.email
    return Reply.private(Card("Sign in to the deskhand console", [
        Text(f"This link is for you alone: it signs in one browser, once, within {minutes} "
             f"minutes. Do not forward it. The session lasts "
             f"{settings.console_session_hours} hours."),
        Small(f"ref {ctx.correlation_id}"),
    ], [Button("Sign in to the console", "console.signin", url=link.url, style="primary")]))


async def sweep(runtime: Runtime) -> None:
    await console_signin.sweep(runtime.db)


COMMANDS = (CommandSpec(
    "console", "Open the web console: in production, a private single-use sign-in link.",
    console_command, menu=False),)  # asked for rarely: Teams' short menu keeps `run`
