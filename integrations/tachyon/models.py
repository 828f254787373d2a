"""What the Tachyon Consumer API returns, as frozen dataclasses (integrations.md 2.2-2.7).

The API speaks PascalCase JSON; `from_api` reads it leniently (a missing field gets a neutral
default, never a KeyError) because servers of different versions add and drop fields.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Literal

InstructionKind = Literal["question", "action"]
FIRST_START = "0;0"  # the Start token of the first page of responses


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


def parse_time(value: Any) -> datetime | None:
    """ISO timestamps; ASP.NET often omits the zone, and 1E's times are UTC."""
    if not isinstance(value, str) or not value:
        return None
    return _parse_time(value)


@functools.lru_cache(maxsize=4096)  # a page of responses repeats the same few timestamps
def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kind(value: Any) -> InstructionKind:
    # The SDK enum serialises as 0 = Question, 1 = Action; some servers send the name.
    return "action" if str(value).strip().lower() in ("1", "action") else "question"


def _int(value: Any, default: int = 0) -> int:
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _get(data: dict[str, Any], name: str, default: Any = None) -> Any:
    """A field by PascalCase name, or by any casing of it (DEX sends camelCase too)."""
    if name in data:
        return data[name]
    lower = name.lower()
    for key, value in data.items():
        if key.lower() == lower:
            return value
    return default


@dataclass(frozen=True)
class Parameter:
    """One parameter of a definition. `pattern` is the placeholder in the payload (`%fileName%`);
    `regex`, `max_length`, `allowed_values` and `required` are its `Validation`."""

    name: str
    pattern: str
    data_type: str = "string"
    required: bool = True
    default: str | None = None
    allowed_values: tuple[str, ...] = ()
    regex: str | None = None
    max_length: int | None = None
    hint: str = ""
    placeholder: str = ""
    control_type: str = "freeText"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Parameter:
        validation = _get(data, "Validation") or {}
        allowed = _get(validation, "AllowedValues") or []
        meta = _get(data, "ControlMetadata")
        if not allowed and isinstance(meta, dict):  # value pickers list their choices here
            allowed = [_get(v, "Value", v) if isinstance(v, dict) else v
                       for v in (_get(meta, "Values") or [])]
        default = _get(data, "DefaultValue")
        name = str(_get(data, "Name") or "")
        return cls(name=name, pattern=str(_get(data, "Pattern") or f"%{name}%"),
                   data_type=str(_get(data, "DataType") or "string").lower(),
                   required=bool(_get(validation, "NotNull", True)),
                   default=None if default in (None, "") else str(default),
                   allowed_values=tuple(str(v) for v in allowed),
                   regex=_get(validation, "Regex") or None,
                   max_length=_int(_get(validation, "MaxLength"), 0) or None,
                   hint=str(_get(data, "HintText") or ""),
                   placeholder=str(_get(data, "Placeholder") or ""),
                   control_type=str(_get(data, "ControlType") or "freeText"))

    def check(self, value: str | None) -> str | None:
        """Why `value` is not acceptable (one plain sentence), or None when it is."""
        if value is None or value == "":
            if self.required and self.default is None:
                return f"{self.name} is required" + (f" ({self.hint})" if self.hint else "") + "."
            return None
        if self.allowed_values and value not in self.allowed_values:
            return f"{self.name} must be one of: {', '.join(self.allowed_values)}."
        if self.data_type in ("int", "integer", "int64", "number") and not re.fullmatch(r"-?\d+", value):
            return f"{self.name} must be a whole number, not {value[:40]!r}."
        if self.max_length and len(value) > self.max_length:
            return f"{self.name} may be at most {self.max_length} characters long."
        if self.regex:
            try:
                matched = re.fullmatch(self.regex, value) is not None
            except re.error:  # a .NET-only construct: 1E still validates on its side
                matched = True
            if not matched:
                return f"{self.name} {value[:40]!r} does not match the allowed form {self.regex}."
        return None


@dataclass(frozen=True)
class SchemaColumn:
    name: str
    type: str = "string"
    length: int | None = None


@dataclass(frozen=True)
class InstructionDefinition:
    id: int
    name: str
    description: str
    readable_payload: str  # "What is the status of %serviceName%?": parameters in their patterns
    type: InstructionKind
    instruction_set_id: int | None
    instruction_set_name: str
    parameters: tuple[Parameter, ...] = ()
    schema: tuple[SchemaColumn, ...] = ()
    instruction_ttl_minutes: int = 60
    response_ttl_minutes: int = 120
    min_instruction_ttl_minutes: int = 10
    max_instruction_ttl_minutes: int = 10080
    min_response_ttl_minutes: int = 10
    max_response_ttl_minutes: int = 10080
    version: str = ""

    @property
    def approval_required(self) -> bool:
        """1E's workflow puts actions (never questions) through approval; there is no per-definition flag."""
        return self.type == "action"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema)

    def readable(self, values: dict[str, str] | None = None) -> str:
        """The readable payload with parameter patterns replaced by `values` (or defaults)."""
        text = self.readable_payload or self.description or self.name
        for p in self.parameters:
            value = (values or {}).get(p.name) or p.default
            if value:
                text = text.replace(p.pattern, value)
        return text

    def check_parameters(self, values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """(values with defaults filled in, problems); unknown names are problems too."""
        known = {p.name.lower(): p for p in self.parameters}
        problems = [f"{self.name} has no parameter {k!r}; it takes: "
                    f"{', '.join(p.name for p in self.parameters) or 'none'}."
                    for k in values if k.lower() not in known]
        given = {k.lower(): v for k, v in values.items()}
        out: dict[str, str] = {}
        for p in self.parameters:
            value = given.get(p.name.lower())
            problem = p.check(value)
            if problem:
                problems.append(problem)
            elif value not in (None, ""):
                out[p.name] = str(value)
            elif p.default is not None:
                out[p.name] = p.default
        return out, problems

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> InstructionDefinition:
        return cls(
            id=_int(_get(data, "Id")), name=str(_get(data, "Name") or ""),
            description=str(_get(data, "Description") or ""),
            readable_payload=str(_get(data, "ReadablePayload") or ""),
            type=_kind(_get(data, "InstructionType")),
            instruction_set_id=_int(_get(data, "InstructionSetId"), 0) or None,
            instruction_set_name=str(_get(data, "InstructionSetName") or ""),
            parameters=tuple(Parameter.from_api(p) for p in _get(data, "Parameters") or []),
            schema=tuple(SchemaColumn(str(_get(c, "Name")), str(_get(c, "Type") or "string"),
                                      _int(_get(c, "Length"), 0) or None)
                         for c in _get(data, "Schema") or []),
            instruction_ttl_minutes=_int(_get(data, "InstructionTtlMinutes"), 60),
            response_ttl_minutes=_int(_get(data, "ResponseTtlMinutes"), 120),
            min_instruction_ttl_minutes=_int(_get(data, "MinimumInstructionTtlMinutes"), 10),
            max_instruction_ttl_minutes=_int(_get(data, "MaximumInstructionTtlMinutes"), 10080),
            min_response_ttl_minutes=_int(_get(data, "MinimumResponseTtlMinutes"), 10),
            max_response_ttl_minutes=_int(_get(data, "MaximumResponseTtlMinutes"), 10080),
            version=str(_get(data, "Version") or ""))


@dataclass(frozen=True)
class InstructionSet:
    id: int
    name: str
    description: str = ""

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> InstructionSet:
        return cls(_int(_get(data, "Id")), str(_get(data, "Name") or ""),
                   str(_get(data, "Description") or ""))


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
        code = _int(_get(data, "Status"))
        try:
            status: Status | int = Status(code)
        except ValueError:
            status = code
        params: dict[str, str] = {}
        raw = _get(data, "ParameterJson")
        try:
            for p in json.loads(raw) if isinstance(raw, str) and raw else []:
                params[str(_get(p, "Name"))] = str(_get(p, "Value", ""))
        except (ValueError, TypeError, AttributeError):
            params = {}
        return cls(
            id=_int(_get(data, "Id")), name=str(_get(data, "Name") or ""),
            definition_id=_int(_get(data, "InstructionDefinitionId")),
            type=_kind(_get(data, "InstructionType")), status=status,
            workflow_state=_int(_get(data, "WorkflowState")),
            consumer_custom_data=str(_get(data, "ConsumerCustomData") or ""),
            created_by=str(_get(data, "CreatedBy") or ""),
            requested_for=str(_get(data, "RequestedFor") or ""),
            created_at=parse_time(_get(data, "CreatedTimestampUtc")),
            sent_at=parse_time(_get(data, "SentTimestampUtc")),
            status_at=parse_time(_get(data, "StatusTimestampUtc")),
            instruction_ttl_minutes=_int(_get(data, "InstructionTtlMinutes"), 60),
            response_ttl_minutes=_int(_get(data, "ResponseTtlMinutes"), 120),
            readable_payload=str(_get(data, "ReadablePayload") or ""), parameters=params,
            schema=tuple(SchemaColumn(str(_get(c, "Name")), str(_get(c, "Type") or "string"))
                         for c in _get(data, "Schema") or [] if isinstance(c, dict)),
            actioned_by=str(_get(data, "ActionedBy") or ""),
            action_reason=str(_get(data, "ActionReason") or ""))


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
        s = _get(data, "Summary") or data
        return cls(sent=_int(_get(s, "SentCount")), received=_int(_get(s, "ReceivedCount")),
                   outstanding=_int(_get(s, "OutstandingResponsesCount")),
                   success=_int(_get(s, "TotalSuccessRespondents")),
                   success_no_data=_int(_get(s, "TotalSuccessNoDataRespondents")),
                   errors=_int(_get(s, "TotalErrorRespondents")),
                   not_implemented=_int(_get(s, "TotalNotImplementedRespondents")),
                   rows=_int(_get(s, "TotalRowInserts")),
                   online_devices=_int(_get(s, "OnlineDeviceCount")))


_ROW_FIELDS = {k.lower(): k for k in ("Id", "ShardId", "Fqdn", "Values", "ExecTime", "CreatedTimestampUtc",
                                      "ResponseTimestampUtc", "Blob")}


@dataclass(frozen=True, slots=True)
class ResponseRow:
    id: int
    shard_id: int
    fqdn: str
    values: dict[str, Any] = field(hash=False)  # keyed by the instruction's schema column names
    exec_time: int = 0  # milliseconds on the device
    created_at: datetime | None = None
    response_at: datetime | None = None
    blob: str | None = None  # raw text of a schema-less instruction

    def record(self) -> dict[str, Any]:
        """The row as one flat dict: `Fqdn` then the schema columns."""
        return {"Fqdn": self.fqdn, **self.values}

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ResponseRow:
        # Pages hold up to 10,000 rows: read PascalCase directly, re-key other casings once.
        if "Fqdn" not in data:
            data = {_ROW_FIELDS.get(k.lower(), k): v for k, v in data.items()}
        get = data.get
        values, fqdn = get("Values"), get("Fqdn")
        return cls(_int(get("Id")), _int(get("ShardId")), fqdn if isinstance(fqdn, str) else str(fqdn or ""),
                   values if isinstance(values, dict) else {}, _int(get("ExecTime")),
                   parse_time(get("CreatedTimestampUtc")), parse_time(get("ResponseTimestampUtc")),
                   get("Blob"))


@dataclass(frozen=True)
class ResponseError:
    """A device that answered with an error instead of data (`ResponseErrors/{id}` rows)."""

    id: int
    shard_id: int
    fqdn: str
    status: int
    error: str  # ErrorData: the device's own words
    exec_time: int = 0
    created_at: datetime | None = None
    response_at: datetime | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ResponseError:
        return cls(id=_int(_get(data, "Id")), shard_id=_int(_get(data, "ShardId")),
                   fqdn=str(_get(data, "Fqdn") or ""), status=_int(_get(data, "Status")),
                   error=str(_get(data, "ErrorData") or ""), exec_time=_int(_get(data, "ExecTime")),
                   created_at=parse_time(_get(data, "CreatedTimestampUtc")),
                   response_at=parse_time(_get(data, "ResponseTimestampUtc")))


@dataclass(frozen=True)
class ResponsePage:
    """One Start/Range page. Keep `cursor` to continue later: while devices still answer, an
    empty page only means "nothing new yet". `next_start` is None when this page was empty.

    Rows are parsed on first use of `rows`, so a caller can ask for the next page (the cursor
    needs no parsing) before it spends time on this one's 10,000 rows.
    """

    raw: tuple[dict[str, Any], ...] = field(repr=False, compare=False)  # as 1E sent them
    start: str  # the Start this page was asked with
    cursor: str  # the server's Range: where the next page starts

    @functools.cached_property
    def rows(self) -> tuple[ResponseRow, ...]:
        return tuple(ResponseRow.from_api(r) for r in self.raw)

    @property
    def next_start(self) -> str | None:
        return self.cursor if self.raw else None


@dataclass(frozen=True)
class ResponseErrorPage:
    raw: tuple[dict[str, Any], ...] = field(repr=False, compare=False)
    start: str
    cursor: str

    @functools.cached_property
    def rows(self) -> tuple[ResponseError, ...]:
        return tuple(ResponseError.from_api(r) for r in self.raw)

    @property
    def next_start(self) -> str | None:
        return self.cursor if self.raw else None


@dataclass(frozen=True)
class SearchPage:
    items: tuple[InstructionStatus, ...]
    total: int


def fqdn_scope(fqdn: str) -> dict[str, Any]:
    return {"Attribute": "FQDN", "Operator": "==", "Value": fqdn}


def management_group_scope(group: int | str) -> dict[str, Any]:
    """Devices of one management group (its id, or its name where the server accepts names)."""
    return {"Attribute": "managementgroup", "Operator": "==", "Value": str(group)}


def any_of(*scopes: dict[str, Any]) -> dict[str, Any]:
    return {"Operator": "OR", "Operands": list(scopes)}


def all_of(*scopes: dict[str, Any]) -> dict[str, Any]:
    return {"Operator": "AND", "Operands": list(scopes)}
