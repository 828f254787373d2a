"""The simulator's encoded queries and field rendering (integrations.md 4.2).

Queries: terms joined by `^`, `^OR` joining a term to the one before, `ORDERBY<field>` and
`ORDERBYDESC<field>`, the operators `=`, `!=`, `IN`, `NOT IN`, `LIKE`, `NOTLIKE`, `STARTSWITH`,
`ENDSWITH`, `ISEMPTY`, `ISNOTEMPTY`, `<`, `>`, `<=`, `>=`, and dotted reference fields
(`caller_id.email`). A term the simulator cannot read matches nothing (an instance can be set to
ignore it instead; returning no rows is the safer stand-in).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TERM = re.compile(r"^([a-z0-9_.]+?)(ISNOTEMPTY|ISEMPTY|NOT IN|NOTLIKE|STARTSWITH|ENDSWITH|LIKE|IN|"
                  r"!=|>=|<=|=|>|<)(.*)$", re.S)
Resolve = Callable[[dict[str, Any], str], str]  # (record, dotted field) -> raw value


@dataclass(frozen=True)
class Query:
    groups: tuple[tuple[tuple[str, str, str], ...], ...]  # AND of ORs of (field, op, value)
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    valid: bool = True


def parse(text: str) -> Query:
    groups: list[list[tuple[str, str, str]]] = []
    order: list[tuple[str, bool]] = []
    valid = True
    for raw in text.split("^") if text else []:
        term = raw.strip()
        if not term or term == "EQ":
            continue
        if term.startswith("ORDERBYDESC"):
            order.append((term[11:], True))
            continue
        if term.startswith("ORDERBY"):
            order.append((term[7:], False))
            continue
        joins = term.startswith("OR") and bool(groups)
        match = TERM.match(term[2:] if joins else term)
        if match is None:
            valid = False
            continue
        condition = (match.group(1), match.group(2), match.group(3))
        if joins:
            groups[-1].append(condition)
        else:
            groups.append([condition])
    return Query(tuple(tuple(g) for g in groups), tuple(order), valid)


def _test(value: str, op: str, wanted: str) -> bool:
    low, want = value.lower(), wanted.lower()
    choices = [w.strip().lower() for w in wanted.split(",")]
    tests: dict[str, Callable[[], bool]] = {  # string matches ignore case, as on instances
        "=": lambda: low == want, "!=": lambda: low != want,
        "IN": lambda: low in choices, "NOT IN": lambda: low not in choices,
        "LIKE": lambda: want in low, "NOTLIKE": lambda: want not in low,
        "STARTSWITH": lambda: low.startswith(want), "ENDSWITH": lambda: low.endswith(want),
        "ISEMPTY": lambda: value == "", "ISNOTEMPTY": lambda: value != "",
        "<": lambda: value < wanted, ">": lambda: value > wanted,
        "<=": lambda: value <= wanted, ">=": lambda: value >= wanted,
    }
    return tests[op]()


def select(rows: list[dict[str, Any]], query: Query, resolve: Resolve) -> list[dict[str, Any]]:
    """The rows matching `query`, in its order (insertion order otherwise)."""
    if not query.valid:
        return []
    out = [r for r in rows if all(any(_test(resolve(r, f), op, v) for f, op, v in group)
                                  for group in query.groups)]
    for name, descending in reversed(query.order):
        out.sort(key=lambda r, n=name: resolve(r, n), reverse=descending)  # type: ignore[misc]
    return out


def render(record: dict[str, Any], fields: list[str] | None, refs: dict[str, str],
           display: Callable[[str, str, Any], str], link: Callable[[str, str], str], *,
           mode: str, exclude_links: bool) -> dict[str, Any]:
    """A record as the Table API shows it for `sysparm_display_value` = `mode`.

    `refs` maps reference fields to their tables; `display(field, table, value)` is a field's
    display value; `link(table, sys_id)` a reference's link."""
    out: dict[str, Any] = {}
    for name in fields or list(record):
        value = "" if record.get(name) is None else str(record.get(name))
        shown = display(name, refs.get(name, ""), record.get(name))
        table = refs.get(name)
        if mode == "all":
            cell: dict[str, Any] = {"display_value": shown, "value": value}
            if table and value and not exclude_links:
                cell["link"] = link(table, value)
            out[name] = cell
        elif table and value and not exclude_links:
            out[name] = ({"display_value": shown, "link": link(table, value)} if mode == "true"
                         else {"link": link(table, value), "value": value})
        else:
            out[name] = shown if mode == "true" else value
    return out
