"""The simulator's instance: users, CIs, incidents, their work notes and attachments.

`seed_fleet` fills it from plain values (device name, serial, owner email; people's emails and
names), so the demo's `incident INC0010001` names a device and a caller deskhand also knows.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

REFS: dict[str, dict[str, str]] = {
    "incident": {"caller_id": "sys_user", "assigned_to": "sys_user", "cmdb_ci": "cmdb_ci",
                 "opened_by": "sys_user"},
    "cmdb_ci": {"assigned_to": "sys_user"},
    "cmdb_ci_computer": {"assigned_to": "sys_user"},
    "sys_user": {},
}
STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
          "8": "Canceled"}
JOURNAL = ("work_notes", "comments")
SUBJECTS = ("Laptop will not connect to VPN", "Outlook keeps asking for password",
            "Printer on 3rd floor not printing", "Disk almost full", "Teams crashes on start",
            "Slow after latest update", "Cannot open shared drive", "Blue screen twice today")


def new_sys_id() -> str:
    return uuid.uuid4().hex


def stamp(moment: datetime) -> str:
    """ServiceNow's value form of a date-time: UTC, `YYYY-MM-DD HH:MM:SS`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class JournalEntry:
    element_id: str
    element: str  # work_notes | comments
    value: str
    by: str
    at: str


@dataclass
class StoredFile:
    meta: dict[str, Any]
    content: bytes


class Instance:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in
                                                              ("incident", "sys_user", "cmdb_ci")}
        self.journal: list[JournalEntry] = []
        self.files: dict[str, StoredFile] = {}
        self.refs = {t: dict(r) for t, r in REFS.items()}
        self._number = 10000

    # --- records ---------------------------------------------------------------------------

    def rows(self, table: str) -> list[dict[str, Any]] | None:
        """A table's records; `cmdb_ci_computer` is the computer class of `cmdb_ci`."""
        if table == "cmdb_ci_computer":
            return [r for r in self.tables["cmdb_ci"].values()
                    if r.get("sys_class_name") == "cmdb_ci_computer"]
        found = self.tables.get(table)
        return None if found is None else list(found.values())

    def get(self, table: str, sys_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows(table) or [] if r["sys_id"] == sys_id), None)

    def insert(self, table: str, values: dict[str, Any], by: str = "system") -> dict[str, Any]:
        now = stamp(datetime.now(UTC))
        record: dict[str, Any] = {"sys_id": new_sys_id(), "sys_created_on": now,
                                  "sys_updated_on": now, "sys_created_by": by}
        if table == "incident":
            self._number += 1
            record.update({"number": f"INC{self._number:07d}", "state": "1", "priority": "4",
                           "opened_at": now, "short_description": "", "description": "",
                           "caller_id": "", "assigned_to": "", "cmdb_ci": ""})
        record.update({k: v for k, v in values.items() if k not in JOURNAL})
        self.tables["cmdb_ci" if table == "cmdb_ci_computer" else table][record["sys_id"]] = record
        self.write_journal(record, values, by)
        return record

    def update(self, record: dict[str, Any], values: dict[str, Any], by: str) -> None:
        record.update({k: v for k, v in values.items() if k not in JOURNAL and k != "sys_id"})
        record["sys_updated_on"] = stamp(datetime.now(UTC))
        self.write_journal(record, values, by)

    def write_journal(self, record: dict[str, Any], values: dict[str, Any], by: str) -> None:
        """Writing a journal field appends an entry; it never replaces the earlier ones."""
        for element in JOURNAL:
            text = values.get(element)
            if text:
                self.journal.append(JournalEntry(record["sys_id"], element, str(text), by,
                                                 stamp(datetime.now(UTC))))

    def notes(self, sys_id: str, element: str = "work_notes") -> list[str]:
        """The journal entries' texts, oldest first."""
        return [e.value for e in self.journal if e.element_id == sys_id and e.element == element]

    def journal_text(self, sys_id: str, element: str) -> str:
        """What the display value of a journal field shows: newest first, with who and when."""
        entries = [e for e in self.journal if e.element_id == sys_id and e.element == element]
        label = "Work notes" if element == "work_notes" else "Additional comments"
        return "\n\n".join(f"{e.at} - {e.by} ({label})\n{e.value}" for e in reversed(entries))

    def display(self, name: str, table: str, value: Any, *, record_id: str = "") -> str:
        if name in JOURNAL:
            return self.journal_text(record_id, name)
        if value in (None, ""):
            return ""
        if table:
            target = self.get(table, str(value))
            return str(target.get("name", "")) if target else ""
        if name == "state":
            return STATES.get(str(value), str(value))
        return str(value)

    def resolve(self, record: dict[str, Any], dotted: str, table: str) -> str:
        """A (dotted) field's raw value: `caller_id.email` follows the reference."""
        head, _, rest = dotted.partition(".")
        value = record.get(head)
        if not rest:
            return "" if value is None else str(value)
        target_table = self.refs.get(table, {}).get(head)
        target = self.get(target_table, str(value)) if target_table and value else None
        return self.resolve(target, rest, target_table or "") if target else ""

    # --- seeding ---------------------------------------------------------------------------

    def add_user(self, email: str, name: str = "") -> str:
        found = next((u for u in self.tables["sys_user"].values()
                      if str(u.get("email", "")).lower() == email.lower()), None)
        if found is not None:
            return str(found["sys_id"])
        name = name or email.split("@")[0].replace(".", " ").title()
        first, _, last = name.partition(" ")
        return str(self.insert("sys_user", {"email": email, "name": name, "first_name": first,
                                            "last_name": last, "user_name": email.split("@")[0],
                                            "active": "true"})["sys_id"])

    def add_ci(self, name: str, serial: str = "", owner_email: str = "") -> str:
        owner = self.add_user(owner_email) if owner_email else ""
        return str(self.insert("cmdb_ci", {"name": name, "serial_number": serial,
                                           "sys_class_name": "cmdb_ci_computer",
                                           "assigned_to": owner})["sys_id"])

    def ci_by_name(self, name: str) -> str:
        found = next((c for c in self.tables["cmdb_ci"].values()
                      if str(c.get("name", "")).lower() == name.lower()), None)
        return str(found["sys_id"]) if found else ""

    def seed_fleet(self, devices: Sequence[tuple[str, str, str]],
                   people: Sequence[tuple[str, str]] = (), *, incidents: int = 25,
                   seed: int = 15) -> None:
        """Users for `people` (email, name) and every device owner; a computer CI per device
        (name, serial, owner email); `incidents` incidents, each on a device, its owner the
        caller, assigned round-robin to `people`, over the last two weeks."""
        rng = random.Random(seed)
        agents = [self.add_user(email, name) for email, name in people]
        cis = [(self.add_ci(name, serial, owner), owner) for name, serial, owner in devices]
        now = datetime.now(UTC)
        for n in range(min(incidents, len(cis))):
            ci, owner = cis[(n * 7) % len(cis)]
            opened = now - timedelta(minutes=rng.randrange(10, 60 * 24 * 14))
            self.insert("incident", {
                "short_description": SUBJECTS[n % len(SUBJECTS)], "description": "",
                "state": rng.choice(("1", "1", "2", "2", "3", "6")), "priority": str(rng.randint(2, 4)),
                "caller_id": self.add_user(owner) if owner else "", "cmdb_ci": ci,
                "assigned_to": agents[n % len(agents)] if agents else "",
                "opened_at": stamp(opened), "sys_updated_on": stamp(opened + timedelta(minutes=5))})
