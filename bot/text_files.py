"""A file an administrator hands a CLI command (`directory import`, `devices import`): read
whole, as UTF-8 text, or refused with a message that says what is wrong and where."""

from __future__ import annotations

import codecs
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024


class Unreadable(ValueError):
    """The file cannot be read as text (missing, too big, not UTF-8)."""


def read_text(name: str, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, without a UTF-8 byte-order mark (Excel's "CSV UTF-8" writes one)."""
    path = Path(name)
    try:
        if path.stat().st_size > max_bytes:
            raise Unreadable(f"{name} is over {max_bytes // (1024 * 1024)} MB; split it")
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read {name}: {exc.strerror}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Unreadable(f"{name} is UTF-16 text (Excel's \"Unicode Text\"): save it as CSV UTF-8")
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise Unreadable(f"{name} is not a text file: line {line} holds a NUL byte (a "
                         "spreadsheet saved under a .csv name?); save it as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise Unreadable(f"{name} is not UTF-8 text: line {line} has the byte "
                         f"0x{data[exc.start]:02X}, which UTF-8 does not allow (Windows-1252 or "
                         "Latin-1?); save it as CSV UTF-8") from None
