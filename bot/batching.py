"""Two ways the inbox paces work on one event loop: admission (how many jobs start at once) and
group commit (writes that arrive while one is in flight go together in the next)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

SLOTS = 4  # jobs started at once beside the acks: more slowed the acks (bench/slack_ack.py)
# In a worker process (no acks to keep fast) more jobs at once let their audit rows, finishes
# and claims share transactions: at 150-250 commands/s, 32 gave 1.5-2x the completed commands of
# 4 and a fifth less CPU a command (bench/e2e.py, bench/README.md).
WORKER_SLOTS = 32
SLOT_HOLD = 0.5  # seconds a job keeps its slot at most, so a slow vendor never blocks the queue
T = TypeVar("T")
R = TypeVar("R")


class Admission:
    """At most `slots` jobs start at once, FIFO; a slot comes back when its job ends or after
    `hold` seconds, whichever is first.

    Hundreds of jobs interleaving on one loop slowed everything and finished the work no sooner
    (bench/slack_ack.py).
    """

    def __init__(self, slots: int = SLOTS, hold: float = SLOT_HOLD) -> None:
        self.hold = hold
        self._slots = asyncio.Semaphore(slots)

    @property
    def free(self) -> bool:
        return not self._slots.locked()

    async def take(self) -> Callable[[], None]:
        """Wait for a slot; returns its give-back (idempotent, also called after `hold`)."""
        await self._slots.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                timer.cancel()
                self._slots.release()

        timer = asyncio.get_running_loop().call_later(self.hold, give_back)
        return give_back


class GroupCommit(Generic[T, R]):
    """Hands items to `write` in batches: whatever arrives while a write is in flight goes next.

    `write` returns one result per item (e.g. whether it was stored), which its future carries."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return bool(self._pending) or (self._writer is not None and not self._writer.done())

    async def flushed(self) -> None:
        """Wait until everything handed in so far has been written (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue `item`; the future ends with its result when its batch is written (or failed)."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return done

    async def add(self, item: T) -> R:
        done = self.submit(item)
        # A caller that gives up must neither cancel the write nor leave its error unread.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._write([item for item, _ in batch])
            except BaseException as exc:  # cancelled at shutdown too: every waiter hears of it
                failed = exc if isinstance(exc, Exception) else RuntimeError("write cancelled")
                if not isinstance(exc, Exception):  # nothing more will be written
                    batch, self._pending = batch + self._pending, []
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failed)
                if not isinstance(exc, Exception):
                    raise
            else:
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)


async def each_alone_if_need_be(items: list[T], write: Callable[[list[T]], Awaitable[object]]
                                ) -> list[Exception | None]:
    """`write` the batch at once; if that fails, each item alone, so one bad item fails only
    itself (a group commit's `write` for items that may fail on their own). Per item: None when
    written, else its error."""
    try:
        await write(items)
        return [None] * len(items)
    except Exception as exc:
        if len(items) == 1:
            return [exc]
    results: list[Exception | None] = []
    for item in items:
        try:
            await write([item])
            results.append(None)
        except Exception as exc:
            results.append(exc)
    return results
