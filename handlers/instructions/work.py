"""What `instructions` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Service, Work
from handlers.instructions import commands, exports, history, jobs
from handlers.instructions.approval import RunSubject
from handlers.instructions.driver import Driver
from handlers.instructions.vendor import INTEGRATION

WORK = Work(
    commands=(*commands.COMMANDS, *history.COMMANDS),
    actions=(*commands.ACTIONS, *history.ACTIONS),
    downloads={exports.KIND: exports.download},
    permissions=("instruction.read", "instruction.run.question", "instruction.run.action",
                 "instruction.approve", "remote.install", "settings.write", "rbac.admin"),
    subjects=(RunSubject(),),
    integration=INTEGRATION,
    services=(Service(Driver, Driver, Driver.close),),
    jobs=jobs.JOBS,
)
