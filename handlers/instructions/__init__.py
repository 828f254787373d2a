"""1E instructions from chat: `instructions`, `run ... on ...`, `cancel`, `history`, `remote install`.

A run is a workflow row (states.RUNS) that may wait for an approval (approval.RunSubject), is
issued and polled by the driver (driver.py, pages.py), and keeps every copy of its card up to
date. Buttons on the run card carry ids only; each click re-reads the rows.
"""

from __future__ import annotations

from bot.capability import Capability, Service
from handlers.instructions import commands, exports, history, jobs
from handlers.instructions.approval import RunSubject
from handlers.instructions.config import InstructionSettings, TachyonConfig
from handlers.instructions.driver import Driver
from handlers.instructions.vendor import INTEGRATION

CAPABILITY = Capability(
    name="instructions",
    commands=(*commands.COMMANDS, *history.COMMANDS),
    actions=(*commands.ACTIONS, *history.ACTIONS),
    downloads={exports.KIND: exports.download},
    permissions=("instruction.read", "instruction.run.question", "instruction.run.action",
                 "instruction.approve", "remote.install", "settings.write", "rbac.admin"),
    subjects=(RunSubject(),),
    config=TachyonConfig,
    tenant_settings=InstructionSettings,
    integration=INTEGRATION,
    services=(Service(Driver, Driver, Driver.close),),
    jobs=jobs.JOBS,
    demo="handlers.instructions.demo:demo_part",
)
