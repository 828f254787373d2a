"""1E instructions from chat: `instructions`, `run ... on ...`, `cancel`, `history`, `remote install`.

A run is a workflow row (states.RUNS) that may wait for an approval (approval.RunSubject), is
issued and polled by the driver (driver.py, pages.py), and keeps every copy of its card up to
date. Buttons on the run card carry ids only; each click re-reads the rows.
"""

from __future__ import annotations

from bot.capability import Capability
from handlers.instructions.config import InstructionSettings, TachyonConfig

CAPABILITY = Capability(
    name="instructions",
    work="handlers.instructions.work:WORK",
    config=TachyonConfig,
    tenant_settings=InstructionSettings,
    demo="handlers.instructions.demo:demo_part",
)
