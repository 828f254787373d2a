"""Response rows and errors of an instruction, and the Start/Range pages they come in
(integrations.md 2.5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from integrations.tachyon.json_fields import as_int, parse_time, pick

FIRST_START = "0;0"  # the Start token of the first page of responses


_ROW_FIELDS = {k.lower(): k for k in ("Id", "ShardId", "Fqdn", "Values", "ExecTime", "CreatedTimestampUtc",
                                      "ResponseTimestampUtc", "Blob")}


@dataclass(frozen=True, slots=True)
class ResponseRow:
    id: int
    shard_id: int
    fqdn: str
    values: dict[str, Any] = field(hash=False)  # keyed by the instruction's schema column names
    exec_time: int = 0  # milliseconds on the device
    created_at: datetime | None = None
    response_at: datetime | None = None
    blob: str | None = None  # raw text of a schema-less instruction

    def record(self) -> dict[str, Any]:
        """The row as one flat dict: `Fqdn` then the schema columns."""
        return {"Fqdn": self.fqdn, **self.values}

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ResponseRow:
        # Pages hold up to 10,000 rows: read PascalCase directly, re-key other casings once.
        if "Fqdn" not in data:
            data = {_ROW_FIELDS.get(k.lower(), k): v for k, v in data.items()}
        get = data.get
        values, fqdn = get("Values"), get("Fqdn")
        return cls(as_int(get("Id")), as_int(get("ShardId")),
                   fqdn if isinstance(fqdn, str) else str(fqdn or ""),
                   values if isinstance(values, dict) else {}, as_int(get("ExecTime")),
                   parse_time(get("CreatedTimestampUtc")), parse_time(get("ResponseTimestampUtc")),
                   get("Blob"))


class Other(IntEnum):
    """`Status` of a `ResponseErrors` row, 1E's "other responses" (integrations.md 2.5): only
    ERROR is a device error; the vendor's own runner shows each kind as a separate view."""

    NO_DATA = 1  # the device answered, with no rows
    ERROR = 2
    NOT_IMPLEMENTED = 3  # the instruction does not apply to that device
    TOO_LARGE = 4  # the device's response was too large

    @classmethod
    def of(cls, status: int) -> Other:
        """A status this client does not know is an error (its raw number stays in the row)."""
        try:
            return cls(status)
        except ValueError:
            return cls.ERROR


@dataclass(frozen=True)
class ResponseError:
    """A device's "other response" instead of data rows (`ResponseErrors/{id}` rows): no data,
    an error, not implemented or too large, by `status` (see `Other`)."""

    id: int
    shard_id: int
    fqdn: str
    status: int
    error: str  # ErrorData: the device's own words
    exec_time: int = 0
    created_at: datetime | None = None
    response_at: datetime | None = None

    @property
    def kind(self) -> Other:
        return Other.of(self.status)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ResponseError:
        return cls(id=as_int(pick(data, "Id")), shard_id=as_int(pick(data, "ShardId")),
                   fqdn=str(pick(data, "Fqdn") or ""), status=as_int(pick(data, "Status")),
                   error=str(pick(data, "ErrorData") or ""), exec_time=as_int(pick(data, "ExecTime")),
                   created_at=parse_time(pick(data, "CreatedTimestampUtc")),
                   response_at=parse_time(pick(data, "ResponseTimestampUtc")))


@dataclass(frozen=True)
class _Page:
    """One Start/Range page. Keep `cursor` to continue later: while devices still answer, an
    empty page only means "nothing new yet". `next_start` is None when this page was empty.

    Rows are parsed on first use of `rows`, so a caller can ask for the next page (the cursor
    needs no parsing) before it spends time on this one's 10,000 rows.
    """

    raw: tuple[dict[str, Any], ...] = field(repr=False, compare=False)  # as 1E sent them
    start: str  # the Start this page was asked with
    cursor: str  # the server's Range: where the next page starts

    @property
    def next_start(self) -> str | None:
        return self.cursor if self.raw else None


@dataclass(frozen=True)
class ResponsePage(_Page):
    @functools.cached_property
    def rows(self) -> tuple[ResponseRow, ...]:
        return tuple(ResponseRow.from_api(r) for r in self.raw)


@dataclass(frozen=True)
class ResponseErrorPage(_Page):
    @functools.cached_property
    def rows(self) -> tuple[ResponseError, ...]:
        return tuple(ResponseError.from_api(r) for r in self.raw)
