"""Reading a request body from outside: a JSON object of a bounded depth, fields of known types.

Both chat platforms' endpoints check what they are sent with these before any SDK parses it, so
a malformed body is a 400 with a short reason, never an exception deep inside a library.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # Slack and Bot Framework nest about 10 deep
Body = dict[str, Any]


class BadBody(ValueError):
    """The body is not what the platform sends; the message says what is wrong."""


def _integer(text: str) -> int:
    """A JSON integer that JSON encoders (the inbox's orjson among them) can write back: no
    platform sends one outside 64 bits, so a bigger one is a malformed body, not a 500 later."""
    value = int(text)
    if not -(2**63) <= value < 2**64:
        raise ValueError(f"integer out of range: {text[:30]}")
    return value


def json_object(text: str, what: str = "the body", max_depth: int = MAX_DEPTH) -> Body:
    if depth(text) > max_depth:
        raise BadBody(f"{what} is nested deeper than {max_depth} levels")
    try:
        data = json.loads(text, parse_int=_integer)
    except ValueError:
        raise BadBody(f"{what} is not JSON") from None
    if not isinstance(data, dict):
        raise BadBody(f"{what} must be a JSON object")
    return data


def depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (a cheap guard before json.loads)."""
    level = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def field(data: Body, key: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
    """`data[key]` if it has the type the platform sends (None if absent and optional)."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise BadBody(f"`{key}` is missing or has the wrong type")
    return value


def strings(data: Body | None, *keys: str) -> None:
    """Each of `keys` in `data` is a string when present."""
    for key in keys if data else ():
        field(data, key, str)  # type: ignore[arg-type]
