"""Run states, the moves between them (the RUNS workflow), and how 1E statuses map onto them.

Every move is `RUNS.move(...)`: a compare-and-set (`UPDATE ... WHERE state IN (:expected)`) in
the tenant, so a double click, a second replica or a restarted poller can never take the same
step twice, and a run can never skip a declared step.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.workflow import Workflow
from integrations.tachyon.status import Status
from storage.instructions import InstructionRun

# requested -> (awaiting_approval -> approved) -> sent -> in_progress -> terminal
REQUESTED, AWAITING, APPROVED, SENT, IN_PROGRESS = (
    "requested", "awaiting_approval", "approved", "sent", "in_progress")
COMPLETED, FAILED, EXPIRED, CANCELLED, DENIED = (
    "completed", "failed", "expired", "cancelled", "denied")

TO_ISSUE = (REQUESTED, APPROVED)  # nothing is in 1E yet (or a lost answer may have put it there)
IN_FLIGHT = (SENT, IN_PROGRESS)
ACTIVE = (*TO_ISSUE, *IN_FLIGHT)  # what the poller drives
OPEN = (*ACTIVE, AWAITING)  # may still be cancelled
FINISHED = (COMPLETED, FAILED, EXPIRED, CANCELLED, DENIED)

MOVES: dict[str, tuple[str, ...]] = {
    REQUESTED: (AWAITING, SENT, FAILED, CANCELLED),
    AWAITING: (APPROVED, DENIED, EXPIRED, CANCELLED),
    APPROVED: (SENT, FAILED, CANCELLED),
    SENT: (IN_PROGRESS, *FINISHED),
    IN_PROGRESS: FINISHED,
}

LABELS = {
    REQUESTED: "sending to 1E", AWAITING: "waiting for approval", APPROVED: "approved, sending",
    SENT: "sent", IN_PROGRESS: "in progress", COMPLETED: "completed", FAILED: "failed",
    EXPIRED: "expired", CANCELLED: "cancelled", DENIED: "denied",
}

RUNS = Workflow("instruction run", InstructionRun, MOVES, LABELS)

# A 1E status that ends the instruction, and the run state it ends in.
VENDOR_END = {
    Status.COMPLETED: COMPLETED, Status.EXPIRED: EXPIRED, Status.CANCELLED: CANCELLED,
    Status.FAILED: FAILED, Status.REJECTED: DENIED,
}


def vendor_end(status: Status | int) -> str | None:
    return VENDOR_END.get(status) if isinstance(status, Status) else None


# Announced (bot/events.py) when a run reaches a final state, for other capabilities to act on
# (e.g. attaching its results to the incident it was run for).
RUN_FINISHED = "instruction.run.finished"


@dataclass(frozen=True)
class RunFinished:
    tenant_id: int
    run_id: int
    state: str  # one of FINISHED
    incident: str | None
