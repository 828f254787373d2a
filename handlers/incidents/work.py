"""What `incidents` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from bot.events import COMMAND_FINISHED, Listener
from handlers.incidents import commands
from handlers.incidents.attach import attach_results
from handlers.incidents.cards import RUNS
from handlers.incidents.lookup import END_USERS
from handlers.incidents.notes import write_note
from handlers.incidents.service import INTEGRATION
from handlers.instructions.states import RUN_FINISHED

WORK = Work(
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("incident.read", *RUNS),
    integration=INTEGRATION,
    services=(END_USERS,),
    listeners=(Listener(COMMAND_FINISHED, write_note), Listener(RUN_FINISHED, attach_results)),
)
