"""The DESKHAND_CONFIG file's keys: each a setting's name in lower case, without DESKHAND_.

pydantic-settings passes over keys it does not know, so a typo, or a line copied from the
environment (`DESKHAND_DATABASE_URL = ...`), would leave the default in force without a word.
`unknown_keys` names each such key once, with the setting it most likely meant.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RULE = "keys are the settings of docs/operations.md in lower case, without DESKHAND_"


def unknown_keys(path: Path, fields: Iterable[str]) -> list[str]:
    """One line per key of the TOML file at `path` that is no setting (or its syntax error)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return [f"{exc} in {path}"]
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read {path}: {exc}"]
    known = sorted(fields)
    return [f"unknown key {key} in {path}: {_hint(key, value, known)}"
            for key, value in data.items() if key not in known]


def _hint(key: str, value: Any, known: list[str]) -> str:
    name = key.strip().lower().replace("-", "_").removeprefix("deskhand_")
    if name in known:
        return f"write it as {name} ({RULE})"
    if isinstance(value, dict):  # a [table]: settings are flat
        under = [k for k in known if k.startswith(f"{name}_")][:4]
        example = f", e.g. {', '.join(under)}" if under else ""
        return f"settings are top-level keys, not tables{example} ({RULE})"
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if near:
        return f"did you mean {' or '.join(near)}? ({RULE})"
    return RULE
