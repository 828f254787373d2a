"""A page of 1E responses stored by one set-based INSERT reads back exactly as the row-by-row path
(parse in Python, executemany) stores it, on SQLite and PostgreSQL, edge cases included."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from bot.bootstrap import build_runtime
from bot.runtime import Runtime
from handlers.instructions.pages import PageStore, kinds, records
from integrations.tachyon.responses import ResponseErrorPage, ResponsePage
from storage.instructions import InstructionResponse, InstructionRun, InstructionRunRepo
from tests.conftest import make_settings

VALUES = {"OperatingSystem": "Microsoft Windows 11 Enterprise", "Version": "23H2", "Build": 22631}
ANSWERS: list[dict[str, Any]] = [
    {"Id": 1, "ShardId": 0, "Fqdn": "pc-0001.corp.example.com", "Values": VALUES,
     "CreatedTimestampUtc": "2026-11-23T10:00:00.000Z", "ResponseTimestampUtc": "2026-11-23T10:00:01.123Z",
     "Blob": None},
    {"id": 2, "fqdn": "pc-0002.corp.example.com", "values": {"Naïve": "ünïcode ✓", "n": None},
     "responseTimestampUtc": "2026-11-23T12:30:00+02:00"},  # camelCase, an offset
    {"Id": 3, "Fqdn": "pc-0003.corp.example.com", "Values": {}, "Blob": "raw text\nof a script",
     "ResponseTimestampUtc": "2026-11-23T10:00:02"},  # schema-less, a zone-less time (UTC)
    {"Id": 4, "Fqdn": "x" * 300, "ResponseTimestampUtc": "yesterday"},  # no Values, unreadable time
    {"Id": 5, "Fqdn": None, "Values": {"nested": {"a": [1, 2.5, True]}}},
]
ERRORS: list[dict[str, Any]] = [
    {"Id": 1, "Fqdn": "pc-0009.corp.example.com", "Status": 1, "ErrorData": "Access is denied.",
     "ResponseTimestampUtc": "2026-11-23T10:00:05.5Z"},
    {"id": 2, "fqdn": "pc-0010.corp.example.com", "status": "7"},  # camelCase, no error text
    {"Id": 3, "Fqdn": "pc-0011.corp.example.com", "Status": 2, "ErrorData": "Timed out."},
    {"Id": 4, "Fqdn": "pc-0012.corp.example.com", "Status": 3, "ErrorData": "Not on macOS."},
    {"Id": 5, "Fqdn": "pc-0013.corp.example.com", "Status": 4, "ErrorData": "Too large."},
]
# Status 1 no data, 2 error, 3 not implemented, 4 too large; 7 is unknown: an error.
ERROR_KINDS = [1, 2, 2, 3, 4]


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(db_url))
    await runtime.start(upgrade=True)
    await runtime.scheduler.stop()
    yield runtime
    await runtime.stop()


async def new_run(rt: Runtime) -> int:
    async with rt.db.uow() as uow:
        run = await uow.repo(InstructionRunRepo).add(InstructionRun(
            tenant_id=rt.tenant_id, state="in_progress", definition_name="d", definition_vendor_id=1,
            kind="question", target_label="t", requester_email="a@example.com", correlation_id="c"))
        await uow.commit()
        return run.id


async def stored(rt: Runtime, run_id: int, is_error: bool) -> list[tuple[Any, ...]]:
    async with rt.db.uow() as uow:
        rows = (await uow.session.execute(select(InstructionResponse).where(
            InstructionResponse.run_id == run_id, InstructionResponse.is_error.is_(is_error))
            .order_by(InstructionResponse.id))).scalars().all()
        run = await uow.repo(InstructionRunRepo).get(rt.tenant_id, run_id)
    assert run is not None
    assert (run.others_stored if is_error else run.answers_stored) == len(rows)
    kinds = [r.kind for r in rows]
    assert all(run.stored(k) == kinds.count(k) for k in set(kinds))
    return [(r.fqdn, r.kind, r.values, r.responded_at) for r in rows]


@pytest.mark.parametrize("is_error", [False, True])
async def test_one_statement_stores_what_the_row_by_row_path_stores(rt: Runtime, is_error: bool) -> None:
    raw = tuple(ERRORS if is_error else ANSWERS)
    page = ResponseErrorPage(raw, "0;0", "0;5") if is_error else ResponsePage(raw, "0;0", "0;5")
    fast, slow = await new_run(rt), await new_run(rt)
    async with rt.db.uow() as uow:
        runs = uow.repo(InstructionRunRepo)
        assert await runs.store_page_json(fast, is_error, "0;0", "0;5",
                                          orjson.dumps(list(raw)).decode(), kinds(page)) is True
        assert await runs.store_batch(slow, is_error, "0;0", "0;5", records(page)) is True
        # The same page again from a stale cursor: refused, nothing written twice.
        assert await runs.store_page_json(fast, is_error, "0;0", "0;5", "[]", Counter()) is False
        await uow.commit()
    one, other = await stored(rt, fast, is_error), await stored(rt, slow, is_error)
    assert one == other and len(one) == len(raw)
    if not is_error:
        assert {k for _, k, _, _ in one} == {0}
        assert one[0][3] is not None and one[0][3].microsecond == 123000
        assert one[1][3] == one[0][3] + timedelta(minutes=29, seconds=58, milliseconds=877)
        assert one[2][2] == {"Blob": "raw text\nof a script"} and one[3][2] == {}
        assert len(one[3][0]) == 255 and one[3][3] is None and one[4][0] == ""
    else:
        assert [k for _, k, _, _ in one] == ERROR_KINDS
        assert [v for _, _, v, _ in one][:2] == [{"status": 1, "error": "Access is denied."},
                                                 {"status": 7, "error": ""}]


async def test_a_page_the_database_refuses_is_stored_row_by_row(rt: Runtime) -> None:
    """PostgreSQL refuses an impossible date inside the statement; SQLite reads it as NULL.
    Either way the page is stored once, with the readable rows intact."""
    raw = (*ANSWERS[:2], {"Id": 6, "Fqdn": "pc-0006.corp.example.com", "Values": VALUES,
                          "ResponseTimestampUtc": "2026-02-30T10:00:00Z"})
    run_id = await new_run(rt)
    pages = PageStore(rt.db, rt.settings.replica, timedelta(seconds=30))
    assert await pages.store(run_id, False, "0;0", ResponsePage(raw, "0;0", "0;3")) is True
    rows = await stored(rt, run_id, False)
    assert [f for f, _, _, _ in rows] == ["pc-0001.corp.example.com", "pc-0002.corp.example.com",
                                          "pc-0006.corp.example.com"]
    assert rows[2][3] is None and rows[0][3] is not None
    assert await pages.store(run_id, False, "0;0", ResponsePage(raw, "0;0", "0;3")) is False
