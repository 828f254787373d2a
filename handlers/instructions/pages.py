"""Fetching a run's response pages from 1E and storing each with its cursor, as one compare-and-set.

The next page is requested as soon as this one's cursor is known, before its rows are parsed
and stored, so 1E's time to produce a page overlaps ours to read and write the last one; a page
is only stored after the one before. A restart resumes exactly at the stored cursor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.exc import DataError, DBAPIError

from integrations.tachyon.client import TachyonClient
from integrations.tachyon.responses import ResponseErrorPage, ResponsePage
from storage.db import Database
from storage.instructions import ANSWER, InstructionRun, InstructionRunRepo

log = logging.getLogger("deskhand.workflows")
FETCH_SECONDS = 20.0  # per drive; the next tick continues from the stored cursor
Page = ResponsePage | ResponseErrorPage


@dataclass(frozen=True)
class PageStore:
    """Stores pages for the process that holds a run's lease, renewing it page by page."""

    db: Database
    holder: str
    lease: timedelta

    async def fetch(self, run: InstructionRun, client: TachyonClient, batch: int, *, errors: bool,
                    stopping: Callable[[], bool]) -> bool:
        """Store new pages from the run's cursor on; True once a short page says "all in for now"."""
        assert run.vendor_id is not None
        vendor_id, cid = run.vendor_id, run.correlation_id

        async def fetch(start: str) -> Page:
            if errors:
                return await client.response_errors(vendor_id, start, batch, cid=cid)
            return await client.responses(vendor_id, start, batch, cid=cid)

        cursor = run.error_cursor if errors else run.answer_cursor
        deadline = time.monotonic() + FETCH_SECONDS
        ahead: asyncio.Task[Page] | None = None
        try:
            page = await fetch(cursor)
            while True:
                if page.raw and page.cursor == cursor:
                    log.error("run %s: 1E returned rows without moving its cursor; stopping", run.id)
                    return True
                if len(page.raw) >= batch and time.monotonic() < deadline and not stopping():
                    ahead = asyncio.create_task(fetch(page.cursor))
                if page.raw:
                    if not await self.store(run.id, errors, cursor, page):
                        return False  # another driver moved the cursor: it owns this run now
                    cursor = page.cursor
                if ahead is None:
                    return len(page.raw) < batch
                page = await ahead
                ahead = None
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)

    async def store(self, run_id: int, errors: bool, start: str, page: Page) -> bool:
        """Store a page from `start` on and renew the lease; False when another driver stored it.

        The database reads the page's JSON in one statement; a page it refuses that way (on
        PostgreSQL: an impossible date) is stored row by row from the parsed rows instead.
        """
        try:
            async with self.db.uow() as uow:
                runs = uow.repo(InstructionRunRepo)
                stored = await runs.store_page_json(run_id, errors, start, page.cursor,
                                                    orjson.dumps(page.raw).decode(), kinds(page))
                if stored is not None:
                    await runs.lease(run_id, self.holder, self.lease)
                    await uow.commit()
                    return stored
        except DBAPIError as exc:
            if not _data_error(exc):
                raise
            log.warning("run %s: the database refused a page as one statement (%s); storing it row "
                        "by row", run_id, exc.orig.__class__.__name__)
        async with self.db.uow() as uow:
            runs = uow.repo(InstructionRunRepo)
            stored = await runs.store_batch(run_id, errors, start, page.cursor, records(page))
            await runs.lease(run_id, self.holder, self.lease)
            await uow.commit()
        return stored


def _data_error(exc: DBAPIError) -> bool:
    """A value the database could not take (SQLSTATE class 22); asyncpg's adapter reports most
    of them as a plain DBAPI Error, with the SQLSTATE kept on the original exception."""
    return isinstance(exc, DataError) or str(getattr(exc.orig, "sqlstate", "") or "").startswith("22")


def kinds(page: Page) -> Counter[int]:
    """How many rows of each `InstructionResponse.kind` a page holds (answer pages stay unparsed)."""
    if isinstance(page, ResponseErrorPage):
        return Counter(int(r.kind) for r in page.rows)
    return Counter({ANSWER: len(page.raw)})


def records(page: Page) -> list[dict[str, Any]]:
    """A page's rows as `instruction_responses` values."""
    if isinstance(page, ResponseErrorPage):
        return [{"fqdn": r.fqdn[:255], "kind": int(r.kind), "values": {"status": r.status, "error": r.error},
                 "responded_at": r.response_at} for r in page.rows]
    return [{"fqdn": r.fqdn[:255], "values": r.values if r.values or r.blob is None else {"Blob": r.blob},
             "responded_at": r.response_at} for r in page.rows]
