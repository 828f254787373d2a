"""What the Consumer API says of an issued instruction: its Status code, the status object
(integrations.md 2.4), its statistics, and pages of them from Search (2.7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from integrations.tachyon.definitions import InstructionKind, SchemaColumn, as_kind
from integrations.tachyon.json_fields import as_int, parse_time, pick


class Status(IntEnum):
    """`Status` of an instruction, as the official DEX sample decodes it (2.4)."""

    CREATED = 0
    IN_APPROVAL = 1
    REJECTED = 2
    APPROVED = 3
    SENT = 4
    IN_PROGRESS = 5
    COMPLETED = 6
    EXPIRED = 7
    CANCELLING = 8  # responses still available
    CANCELLED = 9
    FAILED = 10
    SUSPENDED = 11
    AWAITING_AUTHENTICATION = 12  # an action waiting for its 2FA code
    EVALUATING_CONDITION = 13

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


TERMINAL = frozenset({Status.REJECTED, Status.COMPLETED, Status.EXPIRED, Status.CANCELLED, Status.FAILED})


@dataclass(frozen=True)
class InstructionStatus:
    """An issued instruction as `GET Instructions/{id}` (and Search) describe it (2.4)."""

    id: int
    name: str
    definition_id: int
    type: InstructionKind
    status: Status | int  # an int when a newer server sends a code this client does not know
    workflow_state: int
    consumer_custom_data: str
    created_by: str
    requested_for: str
    created_at: datetime | None
    sent_at: datetime | None
    status_at: datetime | None
    instruction_ttl_minutes: int
    response_ttl_minutes: int
    readable_payload: str = ""
    parameters: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    schema: tuple[SchemaColumn, ...] = ()
    actioned_by: str = ""
    action_reason: str = ""

    @property
    def status_name(self) -> str:
        return self.status.label if isinstance(self.status, Status) else f"Status {self.status}"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def awaiting_approval(self) -> bool:
        return self.status == Status.IN_APPROVAL

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> InstructionStatus:
        code = as_int(pick(data, "Status"))
        try:
            status: Status | int = Status(code)
        except ValueError:
            status = code
        params: dict[str, str] = {}
        raw = pick(data, "ParameterJson")
        try:
            for p in json.loads(raw) if isinstance(raw, str) and raw else []:
                params[str(pick(p, "Name"))] = str(pick(p, "Value", ""))
        except (ValueError, TypeError, AttributeError):
            params = {}
        return cls(
            id=as_int(pick(data, "Id")), name=str(pick(data, "Name") or ""),
            definition_id=as_int(pick(data, "InstructionDefinitionId")),
            type=as_kind(pick(data, "InstructionType")), status=status,
            workflow_state=as_int(pick(data, "WorkflowState")),
            consumer_custom_data=str(pick(data, "ConsumerCustomData") or ""),
            created_by=str(pick(data, "CreatedBy") or ""),
            requested_for=str(pick(data, "RequestedFor") or ""),
            created_at=parse_time(pick(data, "CreatedTimestampUtc")),
            sent_at=parse_time(pick(data, "SentTimestampUtc")),
            status_at=parse_time(pick(data, "StatusTimestampUtc")),
            instruction_ttl_minutes=as_int(pick(data, "InstructionTtlMinutes"), 60),
            response_ttl_minutes=as_int(pick(data, "ResponseTtlMinutes"), 120),
            readable_payload=str(pick(data, "ReadablePayload") or ""), parameters=params,
            schema=tuple(SchemaColumn(str(pick(c, "Name")), str(pick(c, "Type") or "string"))
                         for c in pick(data, "Schema") or [] if isinstance(c, dict)),
            actioned_by=str(pick(data, "ActionedBy") or ""),
            action_reason=str(pick(data, "ActionReason") or ""))


@dataclass(frozen=True)
class Statistics:
    """`InstructionStatistics/Combined/{id}` Summary: how far an instruction has got."""

    sent: int
    received: int  # devices that answered, with data, without data or with an error
    outstanding: int
    success: int
    success_no_data: int
    errors: int
    not_implemented: int
    rows: int  # response rows stored so far (TotalRowInserts)
    online_devices: int

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Statistics:
        s = pick(data, "Summary") or data
        return cls(sent=as_int(pick(s, "SentCount")), received=as_int(pick(s, "ReceivedCount")),
                   outstanding=as_int(pick(s, "OutstandingResponsesCount")),
                   success=as_int(pick(s, "TotalSuccessRespondents")),
                   success_no_data=as_int(pick(s, "TotalSuccessNoDataRespondents")),
                   errors=as_int(pick(s, "TotalErrorRespondents")),
                   not_implemented=as_int(pick(s, "TotalNotImplementedRespondents")),
                   rows=as_int(pick(s, "TotalRowInserts")),
                   online_devices=as_int(pick(s, "OnlineDeviceCount")))


@dataclass(frozen=True)
class SearchPage:
    items: tuple[InstructionStatus, ...]
    total: int
