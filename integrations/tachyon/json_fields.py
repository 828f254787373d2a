"""Lenient readers of the Consumer API's PascalCase JSON.

A missing field gets a neutral default, never a KeyError, because servers of different versions
add and drop fields, and DEX sends camelCase too.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from integrations.timestamps import utc_time


def as_int(value: Any, default: int = 0) -> int:
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def pick(data: dict[str, Any], name: str, default: Any = None) -> Any:
    """A field by PascalCase name, or by any casing of it (DEX sends camelCase too)."""
    if name in data:
        return data[name]
    lower = name.lower()
    for key, value in data.items():
        if key.lower() == lower:
            return value
    return default


def parse_time(value: Any) -> datetime | None:
    """ISO timestamps; ASP.NET often omits the zone, and 1E's times are UTC."""
    if not isinstance(value, str) or not value:
        return None
    return _parse_time(value)


@functools.lru_cache(maxsize=4096)  # a page of responses repeats the same few timestamps
def _parse_time(value: str) -> datetime | None:
    return utc_time(value)
