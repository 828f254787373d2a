"""Instruction sets and definitions as the Consumer API describes them (integrations.md 2.2),
the parameter checks deskhand runs before it issues one, and the Scope expressions that target it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from integrations.tachyon.json_fields import as_int, pick

InstructionKind = Literal["question", "action"]


def as_kind(value: Any) -> InstructionKind:
    # The SDK enum serialises as 0 = Question, 1 = Action; some servers send the name.
    return "action" if str(value).strip().lower() in ("1", "action") else "question"


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
        validation = pick(data, "Validation") or {}
        allowed = pick(validation, "AllowedValues") or []
        meta = pick(data, "ControlMetadata")
        if not allowed and isinstance(meta, dict):  # value pickers list their choices here
            allowed = [pick(v, "Value", v) if isinstance(v, dict) else v
                       for v in (pick(meta, "Values") or [])]
        default = pick(data, "DefaultValue")
        name = str(pick(data, "Name") or "")
        return cls(name=name, pattern=str(pick(data, "Pattern") or f"%{name}%"),
                   data_type=str(pick(data, "DataType") or "string").lower(),
                   required=bool(pick(validation, "NotNull", True)),
                   default=None if default in (None, "") else str(default),
                   allowed_values=tuple(str(v) for v in allowed),
                   regex=pick(validation, "Regex") or None,
                   max_length=as_int(pick(validation, "MaxLength"), 0) or None,
                   hint=str(pick(data, "HintText") or ""),
                   placeholder=str(pick(data, "Placeholder") or ""),
                   control_type=str(pick(data, "ControlType") or "freeText"))

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
            id=as_int(pick(data, "Id")), name=str(pick(data, "Name") or ""),
            description=str(pick(data, "Description") or ""),
            readable_payload=str(pick(data, "ReadablePayload") or ""),
            type=as_kind(pick(data, "InstructionType")),
            instruction_set_id=as_int(pick(data, "InstructionSetId"), 0) or None,
            instruction_set_name=str(pick(data, "InstructionSetName") or ""),
            parameters=tuple(Parameter.from_api(p) for p in pick(data, "Parameters") or []),
            schema=tuple(SchemaColumn(str(pick(c, "Name")), str(pick(c, "Type") or "string"),
                                      as_int(pick(c, "Length"), 0) or None)
                         for c in pick(data, "Schema") or []),
            instruction_ttl_minutes=as_int(pick(data, "InstructionTtlMinutes"), 60),
            response_ttl_minutes=as_int(pick(data, "ResponseTtlMinutes"), 120),
            min_instruction_ttl_minutes=as_int(pick(data, "MinimumInstructionTtlMinutes"), 10),
            max_instruction_ttl_minutes=as_int(pick(data, "MaximumInstructionTtlMinutes"), 10080),
            min_response_ttl_minutes=as_int(pick(data, "MinimumResponseTtlMinutes"), 10),
            max_response_ttl_minutes=as_int(pick(data, "MaximumResponseTtlMinutes"), 10080),
            version=str(pick(data, "Version") or ""))


@dataclass(frozen=True)
class InstructionSet:
    id: int
    name: str
    description: str = ""

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> InstructionSet:
        return cls(as_int(pick(data, "Id")), str(pick(data, "Name") or ""),
                   str(pick(data, "Description") or ""))


def fqdn_scope(fqdn: str) -> dict[str, Any]:
    return {"Attribute": "FQDN", "Operator": "==", "Value": fqdn}


def management_group_scope(group: int | str) -> dict[str, Any]:
    """Devices of one management group (its id, or its name where the server accepts names)."""
    return {"Attribute": "managementgroup", "Operator": "==", "Value": str(group)}


def any_of(*scopes: dict[str, Any]) -> dict[str, Any]:
    return {"Operator": "OR", "Operands": list(scopes)}


def all_of(*scopes: dict[str, Any]) -> dict[str, Any]:
    return {"Operator": "AND", "Operands": list(scopes)}
