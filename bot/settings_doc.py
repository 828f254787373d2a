"""`deskhand settings-doc [--write FILE]`: every DESKHAND_* setting as one Markdown table.

The table is made from the settings models themselves (the core's, then each capability's, in
bot/bootstrap.py's order): name, default, allowed values and the field's description. `--write`
puts it between the markers in docs/operations.md, and a test fails when the file there differs,
so the documentation cannot drift from the code.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from bot.bootstrap import CAPABILITIES
from bot.settings import CoreSettings

COMMANDS = ("settings-doc",)
START = "<!-- settings table: made by `deskhand settings-doc --write docs/operations.md` -->"
END = "<!-- end of settings table -->"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    doc = sub.add_parser("settings-doc", help="every DESKHAND_* setting as a Markdown table")
    doc.add_argument("--write", metavar="FILE",
                     help="replace the table between the settings-table markers in FILE")


def run(args: argparse.Namespace) -> int:
    table = render()
    if not args.write:
        sys.stdout.write(table)
        return 0
    path = Path(args.write)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    updated = replace_table(text, table)
    if updated == text:
        print(f"{path}: the settings table is current")
        return 0
    path.write_text(updated, encoding="utf-8")
    print(f"{path}: settings table written")
    return 0


def models() -> list[type[BaseModel]]:
    return [CoreSettings, *(c.config for c in CAPABILITIES if c.config is not None)]


def render() -> str:
    rows = ["| Setting | Default | Allowed | What it does |", "|---|---|---|---|"]
    for model in models():
        for name, field in model.model_fields.items():
            if not field.description:
                raise ValueError(f"settings: {model.__name__}.{name} has no description; "
                                 "docs/operations.md's table is made from it")
            cells = (f"`DESKHAND_{name.upper()}`", _default(field), _allowed(field),
                     field.description)
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


def replace_table(text: str, table: str) -> str:
    """`text` with what stands between START and END replaced by `table`."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the file has no settings-table markers: add the lines\n{START}\n{END}")
    return f"{head}{START}\n{table}{END}{tail}"


def current_table(text: str) -> str:
    """What stands between the markers of `text` now."""
    return text.partition(START)[2].partition(END)[0].removeprefix("\n")


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _allowed(field: FieldInfo) -> str:
    kind = _unoptional(field.annotation)
    if typing.get_origin(kind) is typing.Literal:
        return ", ".join(f"`{v}`" if v else "empty" for v in typing.get_args(kind))
    if kind is SecretStr:
        return "secret text"
    if kind is bool:
        return "`true`, `false`"
    limits = {k: getattr(m, k) for m in field.metadata for k in ("ge", "le", "pattern")
              if getattr(m, k, None) is not None}
    if kind is int:
        if "ge" in limits and "le" in limits:
            return f"{limits['ge']} to {limits['le']}"
        return "a whole number"
    if "pattern" in limits:
        return f"text matching `{limits['pattern']}`"
    return "text"


def _unoptional(kind: Any) -> Any:
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return args[0] if len(args) == 1 else kind
    return kind
