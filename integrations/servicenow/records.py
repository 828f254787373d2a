"""What the Table and Attachment APIs answer, read tolerantly (integrations.md 4.2, 4.3).

A field comes back in one of several shapes depending on `sysparm_display_value` and
`sysparm_exclude_reference_link`, and the shapes vary by release: a plain string, a reference
`{"link", "value"}`, `{"display_value", "value"}` (`all`) or `{"display_value", "link"}`
(`true` on a reference). `field` reads any of them as (value, display).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.timestamps import utc_time

SYS_ID = re.compile(r"[0-9a-f]{32}")
# Out-of-box incident states; an instance may change them, so a display value wins when given.
STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
          "8": "Canceled"}
OPEN_STATES = ("1", "2", "3")


def field(record: dict[str, Any], name: str) -> tuple[str, str]:
    """(value, display value) of `name`, whatever shape it came back in; ("", "") if absent."""
    raw = record.get(name)
    if raw is None:
        return "", ""
    if isinstance(raw, dict):
        value = raw.get("value")
        if value is None:  # display_value=true on a reference: the sys_id is the link's tail
            value = str(raw.get("link") or "").rstrip("/").rsplit("/", 1)[-1]
        display = raw.get("display_value")
        return str(value or ""), str(value or "" if display is None else display)
    return str(raw), str(raw)


def reference_table(record: dict[str, Any], name: str) -> str | None:
    """The table a reference field points at, from its link (…/table/<table>/<sys_id>)."""
    raw = record.get(name)
    if not isinstance(raw, dict) or not raw.get("link"):
        return None
    parts = str(raw["link"]).rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and parts[-3:-2] == ["table"] else None


def is_sys_id(value: str) -> bool:
    return bool(SYS_ID.fullmatch(value))


@dataclass(frozen=True)
class Incident:
    sys_id: str
    number: str
    short_description: str
    description: str
    state: str  # the value ("2")
    state_label: str  # what the instance calls it ("In Progress")
    caller_id: str  # sys_user sys_id, "" when none
    caller_name: str
    device_field: str  # which field named the device (`cmdb_ci` unless configured)
    device_id: str  # the device field's value: a sys_id, or a name for a plain text field
    device_name: str
    device_table: str | None  # the device reference's table, from its link when it has one
    assigned_to: str
    assigned_to_name: str
    priority: str
    opened_at: datetime | None
    updated_at: datetime | None
    work_notes: str  # the journal as the instance shows it ("" unless display values)

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    @classmethod
    def from_api(cls, data: dict[str, Any], device_field: str = "cmdb_ci") -> Incident:
        state, state_label = field(data, "state")
        if not state.isdigit():  # display values only (`true`): the label stands for the value
            state = next((k for k, v in STATES.items() if v.lower() == state.lower()), state)
        if state_label == state:
            state_label = STATES.get(state, state)
        caller, caller_name = field(data, "caller_id")
        device, device_name = field(data, device_field)
        assigned, assigned_name = field(data, "assigned_to")
        return cls(
            sys_id=field(data, "sys_id")[0], number=field(data, "number")[1],
            short_description=field(data, "short_description")[1],
            description=field(data, "description")[1], state=state, state_label=state_label,
            caller_id=caller, caller_name=caller_name if caller_name != caller else "",
            device_field=device_field, device_id=device,
            device_name=device_name if device_name != device or not is_sys_id(device) else "",
            device_table=reference_table(data, device_field),
            assigned_to=assigned, assigned_to_name=assigned_name if assigned_name != assigned else "",
            priority=field(data, "priority")[1], opened_at=utc_time(field(data, "opened_at")[0]),
            updated_at=utc_time(field(data, "sys_updated_on")[0]),
            work_notes=field(data, "work_notes")[1])


@dataclass(frozen=True)
class User:
    sys_id: str
    user_name: str
    name: str
    email: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> User:
        return cls(sys_id=field(data, "sys_id")[0], user_name=field(data, "user_name")[1],
                   name=field(data, "name")[1], email=field(data, "email")[1])


@dataclass(frozen=True)
class ConfigItem:
    """The device an incident targets: a CI with its name and serial number."""

    sys_id: str
    name: str
    serial_number: str
    sys_class_name: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ConfigItem:
        return cls(sys_id=field(data, "sys_id")[0], name=field(data, "name")[1],
                   serial_number=field(data, "serial_number")[1],
                   sys_class_name=field(data, "sys_class_name")[0])


@dataclass(frozen=True)
class Attachment:
    sys_id: str
    file_name: str
    table_name: str
    table_sys_id: str
    content_type: str
    size_bytes: int
    download_link: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Attachment:
        size = field(data, "size_bytes")[0]
        return cls(sys_id=field(data, "sys_id")[0], file_name=field(data, "file_name")[1],
                   table_name=field(data, "table_name")[0],
                   table_sys_id=field(data, "table_sys_id")[0],
                   content_type=field(data, "content_type")[0],
                   size_bytes=int(size) if size.isdigit() else 0,
                   download_link=field(data, "download_link")[0])
