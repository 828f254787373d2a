"""Reading and checking a `deskhand devices import` file (docs/inventory.md#importing-devices).

The whole file is checked before anything is written: a file that cannot be read as CSV is
refused with the line at fault (`BadFile`), and every bad row is listed by line with what is
wrong and what is allowed. Limits are the inventory's columns (storage/inventory.LIMITS): the
import refuses what a vendor sync would cut.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from bot.directory_import import EMAIL
from handlers.inventory import texts
from storage.inventory_records import LIMITS, OS_LIMIT

COLUMNS = ("name", "fqdn", "serial", "os", "group", "owner")
ALIASES = {"platform": "os"}
MAX_ROWS = 200_000
HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*"
                  r"[A-Za-z0-9_])?)*\.?")
WIDTH = {"os": OS_LIMIT, "group": 200, "serial": LIMITS["serial"], "name": LIMITS["name"]}


class BadFile(ValueError):
    """The file as a whole cannot be read (no header, unknown columns, not CSV)."""


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    fqdn: str | None
    serial: str | None
    os: str
    group: str | None  # None: the file has no group column; "": no group
    owner: str | None


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _header(reader: csv.DictReader[str], first: str) -> list[str]:
    header = [ALIASES.get(_text(c).lower(), _text(c).lower()) for c in reader.fieldnames or ()]
    if not header:
        raise BadFile(texts.IMPORT_EMPTY)
    if len(header) == 1 and any(sep in first for sep in ";\t|"):
        raise BadFile(texts.IMPORT_DELIMITER.format(header=first[:80]))
    if "name" not in header or any(c not in COLUMNS for c in header) or \
            len(set(header)) != len(header):
        raise BadFile(texts.IMPORT_HEADER.format(header=", ".join(header)[:200]))
    return header


def _check(line: int, raw: dict[str, str | None], seen: dict[str, dict[str, int]]) -> Row | BadRow:
    values = {c: _text(raw.get(c)) for c in COLUMNS}
    if not values["name"]:
        return BadRow(line, texts.IMPORT_NO_NAME)
    for column, width in WIDTH.items():
        if len(values[column]) > width or not values[column].isprintable():
            return BadRow(line, texts.IMPORT_TOO_LONG.format(column=column, n=len(values[column]),
                                                              width=width))
    fqdn, owner = values["fqdn"].lower(), values["owner"].lower()
    if fqdn and (len(fqdn) > LIMITS["fqdn"] or not HOST.fullmatch(fqdn)):
        return BadRow(line, texts.IMPORT_FQDN.format(value=fqdn[:80], width=LIMITS["fqdn"]))
    if owner and (len(owner) > LIMITS["owner_email"] or not EMAIL.fullmatch(owner)):
        return BadRow(line, texts.IMPORT_OWNER.format(value=owner[:80]))
    # One device a row: a second row with the same name, FQDN or serial would be merged into it.
    for column, value in (("name", values["name"].lower()), ("fqdn", fqdn),
                          ("serial", values["serial"].lower())):
        if value and value in seen[column]:
            return BadRow(line, texts.IMPORT_TWICE.format(column=column, value=value[:80],
                                                          other=seen[column][value]))
    for column, value in (("name", values["name"].lower()), ("fqdn", fqdn),
                          ("serial", values["serial"].lower())):
        if value:
            seen[column][value] = line
    return Row(line, values["name"], fqdn or None, values["serial"] or None, values["os"],
               values["group"] if "group" in raw else None, owner or None)


def parse(text: str) -> tuple[list[Row], list[BadRow]]:
    """The rows of the file and its bad rows, by line; BadFile if it cannot be read as CSV."""
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    bad: list[BadRow] = []
    seen: dict[str, dict[str, int]] = {"name": {}, "fqdn": {}, "serial": {}}
    try:
        header = _header(reader, text.split("\n", 1)[0].strip())
        reader.fieldnames = header
        for raw in reader:
            line = reader.line_num
            if None in raw:
                bad.append(BadRow(line, texts.IMPORT_FIELDS.format(n=len(header))))
                continue
            if not any(_text(v) for v in raw.values()):
                continue  # a blank line
            if len(rows) + len(bad) >= MAX_ROWS:
                raise BadFile(texts.IMPORT_TOO_MANY.format(n=MAX_ROWS))
            checked = _check(line, raw, seen)
            (rows if isinstance(checked, Row) else bad).append(checked)  # type: ignore[arg-type]
    except csv.Error as exc:
        # the reader counts a line once it is read whole: the fault is on the next one
        raise BadFile(texts.IMPORT_NOT_CSV.format(line=reader.line_num + 1, error=exc)) from None
    return rows, bad
