"""`help`: built from the registry, showing each person only what they may run.

Commands' examples must work for whoever is shown them in the demo: they name PC-0001 and
PC-0005 (London: in every demo persona's scope), demo personas and directory groups, and
commands everyone may run (`tests/handlers/test_help_examples.py` runs each as each persona).
"""

from __future__ import annotations

from bot.context import Context, Reply
from bot.errors import NotFound
from bot.model import Command
from bot.registry import Arg, CommandSpec
from bot.router import visible
from cards.model import Card, Table, Text
from cards.model import Context as Small


async def help_command(ctx: Context, cmd: Command) -> Reply:
    specs = visible(list(ctx.runtime.registry.commands.values()), ctx.grants)
    topic = cmd.args.get("command")
    if topic:
        topic = topic.lower()
        matches = [s for s in specs if s.name == topic or s.group == topic]
        if not matches:
            raise NotFound(f"There is no command `{topic}` that you can run. "
                            "Type `help` for the list.", title="No such command")
        card = Card(title=f"Help: {topic}")
        for spec in matches:
            card.sections.append(Text(f"*{spec.usage}*\n{spec.summary}"))
            details = [f"`{a.usage()}`: {a.help}" for a in spec.args]
            if details:
                card.sections.append(Small("\n".join(details)))
            if spec.examples:
                card.sections.append(Small("e.g. " + ", ".join(f"`{e}`" for e in spec.examples)))
        return Reply.private(card)
    rows = tuple((spec.usage, spec.summary) for spec in sorted(specs, key=lambda s: s.name))
    return Reply.private(Card(
        title="What you can do",
        sections=[
            Text(f"Hi {ctx.actor.principal.display_name}. Type a command as shown; "
                 "`help <command>` gives details."),
            Table(columns=("command", "what it does"), rows=rows, markdown=True),
        ]))


COMMANDS = (CommandSpec(
    name="help", summary="List the commands you can run, or explain one.",
    handler=help_command, examples=("help", "help why"),
    args=(Arg("command", "a command name", required=False, kind="rest"),)),)
