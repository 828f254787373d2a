"""CSV and XLSX exports of a run's stored responses, read from the database in keyset batches.

Named `<prefix>-<incident or run id>-<UTC timestamp>.<csv|xlsx>`. Served through a signed,
short-lived link (the requester's rights are checked again when it is opened) or uploaded to
Slack when the Slack messenger can upload files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.rbac import DeviceScope, Grant, decide, grants_of
from handlers.instructions.cards import KINDS, result_columns
from handlers.instructions.config import InstructionSettings
from storage.directory import DirectoryRepo
from storage.instructions import ANSWER, OTHER_KINDS, InstructionResponse, InstructionRun, InstructionRunRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from storage.uow import UnitOfWork

BATCH = 5000
KIND = "instruction.export"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def file_name(prefix: str, run: InstructionRun, fmt: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}-{run.incident or run.id}-{stamp}.{fmt}"


def may_read(grants: Sequence[Grant], principal_id: int, active: bool, run: InstructionRun,
             targets: Sequence[dict[str, Any]]) -> bool:
    """The requester, or whoever holds instruction.read over every target and the set."""
    if run.requester_id == principal_id and active:
        return True
    return all(decide(grants, "instruction.read", active=active, instruction_set=run.instruction_set,
                      device=DeviceScope(t["name"], t.get("group"))).allowed for t in targets)


async def _batches(runtime: Runtime, run_id: int,
                   kind: int) -> AsyncIterator[Sequence[InstructionResponse]]:
    after: int | None = None
    while True:
        async with runtime.db.uow() as uow:
            rows = await uow.repo(InstructionRunRepo).responses(
                run_id, kind != ANSWER, after, BATCH, kind=None if kind == ANSWER else kind)
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV/XLSX injection) in text cells."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value if value is None or isinstance(value, int | float | bool) else str(value)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def _columns(runtime: Runtime, run: InstructionRun) -> list[str]:
    if run.columns:
        return list(run.columns)
    async with runtime.db.uow() as uow:
        first = await uow.repo(InstructionRunRepo).responses(run.id, False, None, 200)
    return result_columns(run, first)


async def to_csv(runtime: Runtime, run: InstructionRun) -> bytes:
    columns = await _columns(runtime, run)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "device", "responded (UTC)", *columns, "1E status", "message"])
    async for rows in _batches(runtime, run.id, ANSWER):
        for r in rows:
            values = r.values or {}
            writer.writerow([_safe(v) for v in ("answer", r.fqdn, _when(r.responded_at),
                                                *(values.get(c) for c in columns), "", "")])
    for kind in OTHER_KINDS:
        async for rows in _batches(runtime, run.id, kind):
            for r in rows:
                values = r.values or {}
                writer.writerow([_safe(v) for v in (KINDS[kind].row, r.fqdn, _when(r.responded_at),
                                                    *([""] * len(columns)), values.get("status"),
                                                    values.get("error"))])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


async def to_xlsx(runtime: Runtime, run: InstructionRun) -> bytes:
    from openpyxl import Workbook  # here: only an XLSX export needs it

    columns = await _columns(runtime, run)
    book = Workbook(write_only=True)  # streams rows: memory stays flat however many there are
    answers = book.create_sheet("Answers")
    answers.append(["device", "responded (UTC)", *columns])
    async for rows in _batches(runtime, run.id, ANSWER):
        for r in rows:
            values = r.values or {}
            answers.append([_safe(v) for v in (r.fqdn, _when(r.responded_at),
                                               *(values.get(c) for c in columns))])
    for kind in OTHER_KINDS:  # 1E's other responses, a sheet for each kind
        sheet = book.create_sheet(KINDS[kind].title)
        sheet.append(["device", "responded (UTC)", "1E status", "message"])
        async for rows in _batches(runtime, run.id, kind):
            for r in rows:
                sheet.append([_safe(v) for v in (r.fqdn, _when(r.responded_at), r.values.get("status"),
                                                 r.values.get("error"))])
    about = book.create_sheet("Run")
    for label, value in (("run", run.id), ("instruction", run.definition_name),
                         ("question", run.readable_payload), ("targets", run.target_label),
                         ("requested by", run.requester_email), ("incident", run.incident or ""),
                         ("state", run.state), ("1E instruction", run.vendor_id or ""),
                         ("created (UTC)", _when(run.created_at)),
                         ("finished (UTC)", _when(run.finished_at)),
                         *((f"{KINDS[k].counted} stored", run.stored(k)) for k in KINDS)):
        about.append([label, _safe(value)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def build(runtime: Runtime, run: InstructionRun, fmt: str) -> tuple[str, str, bytes]:
    async with runtime.db.uow() as uow:
        prefix = (await InstructionSettings.read(uow, run.tenant_id)).export_file_prefix
    body = await (to_xlsx(runtime, run) if fmt == "xlsx" else to_csv(runtime, run))
    return file_name(prefix, run, fmt), CONTENT_TYPES[fmt], body


async def _allowed(uow: UnitOfWork, payload: dict[str, Any]) -> InstructionRun:
    runs = uow.repo(InstructionRunRepo)
    principal = await uow.repo(DirectoryRepo).principal(int(payload["p"]))
    run = await runs.get(int(payload["t"]), int(payload["r"]))
    if principal is None or run is None or principal.tenant_id != run.tenant_id:
        raise PermissionError("the run or the requester no longer exists")
    grants = await grants_of(uow, run.tenant_id, principal.id)
    targets = [] if run.requester_id == principal.id else await runs.targets(run.id)
    if not may_read(grants, principal.id, principal.active, run, targets):
        raise PermissionError("the requester may no longer read this run's results")
    return run


async def download(runtime: Any, payload: dict[str, Any]) -> tuple[str, str, bytes]:
    """The signed link's handler: re-check the requester, then build the file."""
    fmt = str(payload.get("f"))
    if fmt not in CONTENT_TYPES:
        raise PermissionError("unknown export format")
    async with runtime.db.uow() as uow:
        run = await _allowed(uow, payload)
    return await build(runtime, run, fmt)
