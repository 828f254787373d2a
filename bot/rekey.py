"""Re-seal every stored secret with the first key of the ring (`deskhand secrets rotate`).

The columns that hold sealed text are declared once: the core's below, a capability's in its
CAPABILITY (`Capability.sealed`). Each table is read in primary-key order, one batch per short
transaction. A value an older key of the ring sealed is re-sealed with the first key (the same
plaintext: MultiFernet.rotate) and written only if the row is still as it was read, so this is
safe while deskhand runs: a row written in between was sealed by deskhand itself. A value no key
of the ring opens is left as it is and reported by its row's primary key, never by its content.
Running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, select, tuple_, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.secrets import SecretBox
from storage.base import Base
from storage.inbox import InboxItem
from storage.integrations import IntegrationRecord
from storage.tenants import ChatWorkspace

BATCH = 200


@dataclass(frozen=True)
class Sealed:
    """A table's columns of sealed text. `text`: columns holding one sealed value each (NULL:
    nothing sealed); `json`: a column holding an object of sealed values, written only while
    `guard` (a column every write of the row changes) still holds what was read."""

    model: type[Base]
    text: tuple[str, ...] = ()
    json: str | None = None
    guard: str | None = None

    def __post_init__(self) -> None:
        if (self.json is None) != (self.guard is None):
            raise ValueError(f"{self.model.__name__}: a JSON column of secrets needs a guard column")

    @property
    def table(self) -> Table:
        return cast(Table, self.model.__table__)


# The core's sealed columns: each tenant's integration secrets, the queued chat requests and
# the bot tokens of Slack workspaces with their own installation.
CORE: tuple[Sealed, ...] = (
    Sealed(IntegrationRecord, json="sealed", guard="revision"),
    Sealed(InboxItem, text=("payload",)),
    Sealed(ChatWorkspace, text=("bot_token",)),
)


@dataclass
class TableReport:
    table: str
    resealed: int = 0  # rows re-sealed with the first key
    current: int = 0  # rows already sealed with it
    moved: int = 0  # rows deskhand changed or removed while they were being re-sealed
    unreadable: list[str] = field(default_factory=list)  # "row (key): what is wrong", no secrets


async def rotate(engine: AsyncEngine, box: SecretBox, tables: Sequence[Sealed],
                 batch: int = BATCH) -> list[TableReport]:
    return [await _rotate_table(engine, box, sealed, batch) for sealed in tables]


async def _rotate_table(engine: AsyncEngine, box: SecretBox, sealed: Sealed,
                        batch: int) -> TableReport:
    table = sealed.table
    report = TableReport(table.name)
    keys = list(table.primary_key.columns)
    read = [*keys, *(table.c[n] for n in (*sealed.text, sealed.json, sealed.guard) if n)]
    after: tuple[Any, ...] | None = None
    while True:
        query = select(*read).order_by(*keys).limit(batch)
        if after is not None:  # keyset paging: rows added or removed meanwhile shift nothing
            query = query.where(tuple_(*keys) > tuple_(*after))
        async with engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            for row in rows:
                await _rotate_row(conn, box, sealed, row, report)
        if len(rows) < batch:
            return report
        after = tuple(row[:len(keys)])


async def _rotate_row(conn: AsyncConnection, box: SecretBox, sealed: Sealed, row: Row[Any],
                      report: TableReport) -> None:
    table, values = sealed.table, row._mapping
    secrets = dict(values[sealed.json] or {}) if sealed.json else {}
    found = [(name, values[name]) for name in sealed.text if values[name] is not None]
    found += [(f"{sealed.json}.{key}", value) for key, value in sorted(secrets.items())]
    if not found:  # nothing sealed in this row (a Slack workspace on the deployment's token)
        return
    renewed: dict[str, str] = {}
    unreadable: list[str] = []
    for label, value in found:
        try:
            if not isinstance(value, str):
                raise ValueError(label)
            new = box.renew(value)
        except ValueError:
            unreadable.append(label)
            continue
        if new is not None:
            renewed[label] = new
    changes: dict[str, Any] = {n: renewed[n] for n in sealed.text if n in renewed}
    if sealed.json and len(renewed) > len(changes):
        changes[sealed.json] = {k: renewed.get(f"{sealed.json}.{k}", v) for k, v in secrets.items()}
    written = bool(changes) and await _write(conn, sealed, values, changes)
    if unreadable:
        where = ", ".join(f"{c.name}={values[c.name]}" for c in table.primary_key.columns)
        report.unreadable.append(f"{table.name} ({where}): {', '.join(unreadable)}")
    elif not changes:
        report.current += 1
    elif written:
        report.resealed += 1
    else:
        report.moved += 1


async def _write(conn: AsyncConnection, sealed: Sealed, values: Any,
                 changes: dict[str, Any]) -> bool:
    """Store the re-sealed values if the row is still as it was read (compare-and-set)."""
    table = sealed.table
    same = [c == values[c.name] for c in table.primary_key.columns]
    same += [table.c[n] == values[n] for n in changes if n in sealed.text]
    if sealed.guard is not None:
        same.append(table.c[sealed.guard] == values[sealed.guard])
    result = await conn.execute(update(table).where(*same).values(**changes))
    return bool(result.rowcount)
