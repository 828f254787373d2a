"""People and their directory groups from a CSV file (email, name, groups), for teams without
an IdP. `deskhand directory import` (bot/directory_cli.py) runs it.

The file is read and checked whole before anything is written: a bad row is reported by its
line with the reason, and then nothing is imported. The import runs in one transaction, so it
lands whole or not at all, and a dry run is the same work rolled back. It is idempotent: a
person's name and directory groups become what the file says (with a `groups` column, a person
leaves the groups their row does not list; without one, memberships are left as they are), so
importing the same file again changes nothing. People missing from the file are not touched,
and nobody is activated or deactivated by an import. Groups the IdP made over SCIM are the IdP's:
the import neither adds nor removes their members, and says which memberships it left to it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from storage.directory import DirectoryRepo
from storage.people import PeopleRepo
from storage.uow import UnitOfWork

COLUMNS = ("email", "name", "groups")
MAX_ROWS = 100_000
EMAIL = re.compile(r"[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]+")


class BadFile(ValueError):
    """The file as a whole cannot be read (no header, unknown columns)."""


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str
    groups: tuple[str, ...] | None  # None: the file has no groups column


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class Outcome:
    """What the import does (or, in a dry run, would do), line by line."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_groups: list[str] = field(default_factory=list)
    joins: int = 0
    leaves: int = 0
    scim_left: int = 0  # memberships the file would change in groups the IdP manages
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.created} to create, {self.updated} to update, {self.unchanged} unchanged; "
                f"{len(self.new_groups)} group(s) to create; {self.joins} membership(s) to add, "
                f"{self.leaves} to remove" + (
                    f"; {self.scim_left} membership(s) of SCIM groups left to the IdP"
                    if self.scim_left else ""))

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "groups_created": len(self.new_groups), "joins": self.joins, "leaves": self.leaves,
                "scim_left": self.scim_left}


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _check(line: int, raw: dict[str, str | None], seen: dict[str, int]) -> Row | BadRow:
    email = _text(raw.get("email")).lower()
    name = _text(raw.get("name"))
    groups: dict[str, str] = {}
    for piece in (raw.get("groups") or "").split(";"):
        group = _text(piece)
        if group:
            groups.setdefault(group.lower(), group)
    if not email:
        return BadRow(line, "the email is empty")
    if len(email) > 320 or not EMAIL.fullmatch(email):
        return BadRow(line, f"{email[:80]!r} is not an email address")
    if email in seen:
        return BadRow(line, f"{email} is also on line {seen[email]}; each person once")
    if not name:
        return BadRow(line, "the name is empty")
    if len(name) > 200 or not name.isprintable():
        return BadRow(line, "the name must be at most 200 printable characters")
    for group in groups.values():
        if len(group) > 200 or not group.isprintable():
            return BadRow(line, f"group {group[:40]!r} must be at most 200 printable characters")
    seen[email] = line
    return Row(line, email, name, tuple(groups.values()) if "groups" in raw else None)


def parse(text: str) -> tuple[list[Row], list[BadRow]]:
    """The rows of the file and its bad rows, by line; BadFile if the header is not usable."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [(_text(c)).lower() for c in reader.fieldnames or ()]
    if not header:
        raise BadFile("the file is empty: its first line must name the columns email, name, groups")
    unknown = [c for c in header if c not in COLUMNS]
    missing = [c for c in ("email", "name") if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise BadFile(f"the first line names the columns {', '.join(header) or 'none'}; it must "
                      "name email and name, and may name groups (semicolon-separated), once each")
    reader.fieldnames = header
    rows: list[Row] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if None in raw:
            bad.append(BadRow(line, f"more fields than the {len(header)} columns (quote values "
                                    "that hold commas)"))
            continue
        if not any(_text(v) for v in raw.values()):
            continue  # a blank line
        if len(rows) + len(bad) >= MAX_ROWS:
            raise BadFile(f"the file has more than {MAX_ROWS} rows; split it")
        checked = _check(line, raw, seen)
        (rows if isinstance(checked, Row) else bad).append(checked)  # type: ignore[arg-type]
    return rows, bad


async def apply(uow: UnitOfWork, tenant_id: int, rows: list[Row]) -> Outcome:
    """Make the directory match the rows, in the caller's transaction (it commits or not)."""
    directory, people = uow.repo(DirectoryRepo), uow.repo(PeopleRepo)
    existing = await people.all_by_email(tenant_id)
    groups = await people.groups_by_name(tenant_id)
    members = await people.memberships(tenant_id)
    names = {g.id: g.display_name for g in groups.values()}
    scim = {g.id for g in groups.values() if g.scim}
    out = Outcome()
    for row in rows:
        person = existing.get(row.email)
        changes: list[str] = []
        if person is None:
            person = existing[row.email] = await people.add_principal(tenant_id, row.email,
                                                                      row.name)
            changes.append(f"create {row.email} ({row.name})")
        elif person.display_name != row.name:
            changes.append(f"name {person.display_name!r} -> {row.name!r}")
            person.display_name = row.name
        have = members.setdefault(person.id, set())
        want: set[int] = set()
        for name in row.groups or ():
            group = groups.get(name.lower())
            if group is None:
                group = await directory.ensure_group(tenant_id, name)
                groups[name.lower()] = group
                names[group.id] = group.display_name
                out.new_groups.append(group.display_name)
            want.add(group.id)
        # The IdP owns the members of the groups it made: a join or leave there is left to it.
        skipped = sorted(((want - have) | ((have - want) if row.groups is not None else set()))
                         & scim)
        joins = sorted(want - have - scim)
        leaves = sorted(have - want - scim) if row.groups is not None else []
        for group_id in joins:
            await directory.add_member(group_id, person.id)
        for group_id in leaves:
            await people.remove_member(group_id, person.id)
        members[person.id] = (have | set(joins)) - set(leaves)
        if joins:
            changes.append("joins " + ", ".join(names[g] for g in joins))
        if leaves:
            changes.append("leaves " + ", ".join(names[g] for g in leaves))
        out.joins += len(joins)
        out.leaves += len(leaves)
        out.scim_left += len(skipped)
        created = changes and changes[0].startswith("create ")
        if created:
            out.created += 1
        elif changes:
            out.updated += 1
        else:
            out.unchanged += 1
        if changes or skipped or not person.active:
            note = "" if person.active else " (deactivated: stays so)"
            if skipped:
                note += ("; left to the IdP (SCIM group): "
                         + ", ".join(f"{names[g]} ({'join' if g in want else 'leave'})"
                                     for g in skipped))
            head = "" if created else f"update {row.email}: " if changes else f"{row.email}: unchanged"
            out.lines.append(f"line {row.line}: {head}{'; '.join(changes)}{note}")
    return out
