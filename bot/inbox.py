"""The durable hand-off between a platform's ack and the work behind it.

A chat request is written to the `inbox` table right after the platform gets its ack, and
deleted when its work ends. Writes that arrive while one is in flight go together in the next one (group
commit), so a burst costs a few transactions, not one each. The work runs in a consumer: inside
this process, or in `deskhand worker` processes that `deskhand serve` starts at a lower CPU
priority, so a burst of commands never slows the acks.

A consumer claims what is queued in one statement and claims again only when it is woken (a
write in this process, a byte on a worker child's stdin, a PostgreSQL NOTIFY for a standalone
worker) or when its last claim was full; idle, it wakes only for a slow safety poll and when the
first lease it could see lapse is due, so an idle deskhand costs next to no CPU.

What the person sees when the work cannot run normally:
- the request waited longer than DESKHAND_INBOX_MAX_AGE (deskhand was down): it is not run, and
  the person is told, because an action nobody is waiting for any more must not happen late;
- the worker running it died: it is not run again (it may have acted already), and the person is
  told it may or may not have happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import orjson

from bot import logs
from bot.batching import SLOTS, WORKER_SLOTS, Admission, GroupCommit, each_alone_if_need_be
from bot.secrets import SecretBox
from bot.tasks import Tasks
from storage.inbox import InboxStore, Item, NewItem

__all__ = ["SLOTS", "WORKER_SLOTS", "Admission", "Inbox", "Replay"]
log = logging.getLogger("deskhand.inbox")
LEASE = timedelta(seconds=60)
RENEW_EVERY = 20.0
# With nobody to wake it, a consumer would miss work for this long: a lost wake (a full pipe, a
# PostgreSQL listener reconnecting), or a request another replica stored while its own workers
# were down. Woken consumers (this process's, `serve`'s children, PostgreSQL listeners) use it.
SAFETY_POLL = 30.0
POLL = 1.0  # a standalone worker on SQLite: nothing can wake it, so it looks this often
RETRY = 1.0  # after a failed claim, sweep or listen
DRAIN_SECONDS = 5.0

Abandoned = Literal["late", "interrupted"]

# What the person is told, in one voice for every platform (the adapter renders it).
ABANDONED_TEXT: dict[Abandoned, tuple[str, str]] = {
    "late": ("Not run: it waited too long",
             "deskhand could not get to {what} within {minutes} of your request, so it did not "
             "run it: nobody may be waiting for it any more. Run it again if it is still needed."),
    "interrupted": ("This may not have finished",
                    "deskhand stopped while it was working on {what}. It may or may not have "
                    "happened: check before you run it again."),
}
UNAVAILABLE = ("deskhand could not take {what}: its database is not answering. Try again in a "
               "minute; if it keeps happening, tell your deskhand administrator.")


@dataclass(frozen=True)
class Replay:
    """A request's identity at its platform (a Slack trigger id, a Teams activity id) and how
    long that platform could deliver it again: a second request with it is not run."""

    identity: str
    window: timedelta

    @property
    def hashed(self) -> str:
        return hashlib.sha256(self.identity.encode()).hexdigest()

    @property
    def expires(self) -> datetime:
        return datetime.now(UTC) + self.window


class Executor(Protocol):
    """A platform's side of the inbox: run a request, or tell its sender why it did not run."""

    async def execute(self, kind: str, payload: dict[str, Any], received: datetime) -> None: ...

    def describe(self, kind: str, payload: dict[str, Any]) -> str:
        """The request as its sender knows it, quoted: “/devices web”, the “Approve” button."""
        ...

    async def notify(self, kind: str, payload: dict[str, Any], title: str, text: str,
                     received: datetime) -> None:
        """Tell the sender, privately, in the conversation the request came from."""
        ...


@dataclass
class Inbox:
    store: InboxStore
    replica: str
    box: SecretBox  # payloads are sealed at rest: form inputs can hold one-time codes
    max_age: timedelta = timedelta(minutes=10)
    consume: bool = True  # run the work in this process; off when worker processes do
    drain: float = DRAIN_SECONDS  # how long stop() lets running jobs finish
    executors: dict[str, Executor] = field(default_factory=dict)
    on_write: list[Callable[[], None]] = field(default_factory=list)  # e.g. wake worker processes
    poll: float = SAFETY_POLL  # claim unwoken after this long (POLL where nothing wakes us)
    listen: bool = False  # PostgreSQL: be woken by other processes' writes (standalone workers)
    slots: int = SLOTS  # jobs started at once (WORKER_SLOTS in a worker process)

    def __post_init__(self) -> None:
        self.holder = f"{self.replica}:{uuid.uuid4().hex[:8]}"
        self.admission = Admission(self.slots)  # made again at start: a worker sets `slots` later
        self._puts: GroupCommit[NewItem, bool] = GroupCommit(self._write)
        self._finishes: GroupCommit[int, Exception | None] = GroupCommit(self._finish)
        self._jobs = Tasks("inbox", log)
        self._running: set[int] = set()  # item ids this process is working on
        self._busy = asyncio.Event()  # set while _running holds any: their leases need renewing
        self._loops = Tasks("inbox loops", log)
        self._wake: asyncio.Event | None = None

    # -- the ack side --------------------------------------------------------------------------

    async def put(self, platform: str, kind: str, payload: dict[str, Any],
                  replay: Replay | None = None) -> bool:
        """Store a request; True once it is committed, False when it is a replay (not stored)."""
        return await self._puts.add(self._new(platform, kind, payload, replay))

    def submit(self, platform: str, kind: str, payload: dict[str, Any],
               replay: Replay | None = None) -> asyncio.Future[bool]:
        """Store a request without waiting: the future ends when it is committed (False: a replay,
        not stored) or has failed. The caller must look at the future's exception (a failed write
        is the sender's to hear)."""
        return self._puts.submit(self._new(platform, kind, payload, replay))

    async def first(self, replay: Replay) -> bool:
        """Claim a request's replay key without storing it (work run in the platform's turn)."""
        return await self.store.claim_key(replay.hashed, replay.expires)

    def _new(self, platform: str, kind: str, payload: dict[str, Any],
             replay: Replay | None) -> NewItem:
        sealed = self.box.seal(orjson.dumps(payload).decode())
        return NewItem(platform, kind, sealed, datetime.now(UTC),
                       replay.hashed if replay else None, replay.expires if replay else None)

    async def _write(self, items: list[NewItem]) -> list[bool]:
        stored = await self.store.add(items)
        for item, ok in zip(items, stored, strict=True):
            if not ok:
                log.warning("a replayed %s %s request was not stored", item.platform, item.kind)
        if not any(stored):
            return stored
        self.wake()
        for notify in self.on_write:
            try:  # the rows are committed: a failed wake must not report them as lost
                notify()
            except Exception:
                log.exception("inbox: waking the workers failed; they will poll")
        return stored

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- the work side -------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.consume or not self.executors or len(self._loops):
            return  # a process without the platforms' adapters must not take their requests
        self._wake = asyncio.Event()
        self.admission = Admission(self.slots)
        self._loops.spawn(self._consume(), name="inbox.consume")
        self._loops.spawn(self._renew_while_running(), name="inbox.renew")
        self._loops.spawn(self._sweep_when_due(), name="inbox.sweep")
        if self.listen and self.store.postgres:
            self._loops.spawn(self._listen(), name="inbox.listen")

    async def stop(self) -> None:
        """Stop taking work, let running jobs finish for `drain` seconds, then cancel them.

        A cancelled job's row stays leased; when the lease lapses, a live worker tells its sender
        it may not have finished.
        """
        await self._loops.stop(0)
        grace = self.drain
        await self._jobs.stop(grace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(self._puts.flushed(), self._finishes.flushed()),
                                   grace)

    async def wait_idle(self, seconds: float = DRAIN_SECONDS) -> bool:
        """True once nothing is being written, queued or run here (tests, shutdown)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            if not (len(self._jobs) or self._puts.busy or self._finishes.busy):
                if not len(self._loops):  # no consumer here: nothing more to wait for
                    return True
                if await self.store.counts() == (0, 0):
                    return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.01)

    async def _consume(self) -> None:
        assert self._wake is not None
        more = True  # at start: whatever a stopped process left queued
        while True:
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
            give_backs = [await self.admission.take()]
            while self.admission.free and len(give_backs) < self.slots:
                give_backs.append(await self.admission.take())
            self._wake.clear()  # before the claim: a write landing after it wakes us again
            try:
                items = await self.store.claim(self.holder, len(give_backs), LEASE, list(self.executors))
            except Exception:
                log.exception("inbox: claiming work failed; retrying in %.0f s", RETRY)
                for give_back in give_backs:
                    give_back()
                await asyncio.sleep(RETRY)
                more = True
                continue
            for give_back in give_backs[len(items):]:
                give_back()
            for item, give_back in zip(items, give_backs, strict=False):
                self._running.add(item.id)
                self._busy.set()
                self._jobs.spawn(self._run(item, give_back))
            more = len(items) == len(give_backs)  # a full claim: there may be more queued

    async def _run(self, item: Item, give_back: Callable[[], None]) -> None:
        with logs.request(platform=item.platform):  # dispatch names the rest (bot/logs.py)
            await self._run_item(item, give_back)

    async def _run_item(self, item: Item, give_back: Callable[[], None]) -> None:
        await self._execute(item, give_back)
        try:
            failed = await self._finishes.add(item.id)
            if failed is not None:
                raise failed
        except Exception:  # the row stays leased: when it lapses, the sender hears "may not have"
            log.error("inbox item %s: could not mark it finished", item.id, exc_info=True)
        finally:
            self._running.discard(item.id)
            if not self._running:
                self._busy.clear()

    async def _execute(self, item: Item, give_back: Callable[[], None]) -> None:
        try:
            payload = self._open(item)
            executor = self.executors[item.platform]  # claims ask only for these platforms
            if datetime.now(UTC) - item.received_at > self.max_age:
                log.warning("inbox item %s waited %s; answered 'too late'", item.id,
                            datetime.now(UTC) - item.received_at)
                await self._tell(executor, item, payload, "late")
            else:
                await executor.execute(item.kind, payload, item.received_at)
        except asyncio.CancelledError:
            raise  # shutdown: the row stays leased (see stop)
        except Exception:
            log.exception("inbox item %s (%s %s) failed after the ack", item.id, item.platform,
                          item.kind)
        finally:
            give_back()

    async def _finish(self, batch: list[int]) -> list[Exception | None]:
        # One bad item must not keep the others of its batch unfinished.
        return await each_alone_if_need_be(batch, lambda ids: self.store.finish(self.holder, ids))

    def _open(self, item: Item) -> dict[str, Any]:
        payload: dict[str, Any] = orjson.loads(self.box.open(item.payload))
        return payload

    async def _tell(self, executor: Executor, item: Item, payload: dict[str, Any],
                    why: Abandoned) -> None:
        title, text = ABANDONED_TEXT[why]
        minutes = max(1, round(self.max_age.total_seconds() / 60))
        what = executor.describe(item.kind, payload)[:200]
        text = text.format(what=what, minutes=f"{minutes} minute{'s' if minutes > 1 else ''}")
        await executor.notify(item.kind, payload, title, text, item.received_at)

    async def _renew_while_running(self) -> None:
        """Renew the leases of what runs here every RENEW_EVERY seconds while anything does;
        idle, no timer wakes the process for it."""
        while True:
            await self._busy.wait()
            await asyncio.sleep(RENEW_EVERY)
            if not self._running:
                continue
            try:
                await self.store.renew(self.holder, set(self._running), LEASE)
            except Exception:  # the next try may reach the database; the leases last a while
                log.exception("inbox: renewing the leases of running requests failed")

    async def _sweep(self) -> float:
        """Report the requests whose worker died; seconds until the next lease could lapse."""
        lapsed, first = await self.store.sweep(list(self.executors))
        for item in lapsed:
            log.warning("inbox item %s (%s %s): its worker stopped mid-way; telling the sender",
                        item.id, item.platform, item.kind)
            try:
                await self._tell(self.executors[item.platform], item, self._open(item),
                                 "interrupted")
            except Exception:
                log.exception("inbox item %s: could not tell the sender", item.id)
        # None held: a lease taken from now on lapses a LEASE from now at the earliest.
        due = LEASE.total_seconds() if first is None else (first - datetime.now(UTC)).total_seconds()
        return min(max(due + 0.5, RETRY), LEASE.total_seconds())

    async def _sweep_when_due(self) -> None:
        """At start (a restart reports at once what a dead worker left), then when a lease is due
        to lapse: a timer, not a poll."""
        while True:
            try:
                due = await self._sweep()
            except Exception:
                log.exception("inbox: the sweep failed; retrying in %.0f s", self.poll)
                due = self.poll
            await asyncio.sleep(due)

    async def _listen(self) -> None:
        """Wake on other processes' writes (PostgreSQL NOTIFY), reconnecting when it is lost."""
        pause = RETRY
        while True:
            self.wake()  # whatever was written while nobody listened
            started = asyncio.get_running_loop().time()
            try:
                await self.store.listen(self.wake)
                why = "the connection was lost"
            except Exception as exc:
                why = type(exc).__name__
            if asyncio.get_running_loop().time() - started > self.poll:
                pause = RETRY  # it had been listening fine: a fresh failure
            log.warning("inbox: listening for wakes failed (%s); again in %.0f s", why, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.poll)  # the database is down: the safety poll suffices
