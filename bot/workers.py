"""Worker processes: they run the inbox's work (bot/inbox.py) beside the listener that acks.

`deskhand serve` with DESKHAND_WORKERS=N (default 1) starts N `deskhand worker --child`
processes, wakes them over their stdin whenever it stores requests (an empty line; `!job` lines
pass on Scheduler.soon, as the children run the jobs), restarts one that dies, and
closes their stdin to stop them (each finishes its running work first; a child ignores SIGINT
and SIGTERM, which reach the whole process group, so only its parent stops it). The children also run
the scheduled jobs (pollers, expiry, reminders), so the listener only listens. They run at a
lower CPU priority (DESKHAND_WORKER_NICE), so under a burst the kernel gives the listener's acks
the CPU first and the work catches up right after; on an idle machine nice costs nothing. Their
metrics go to a private directory the pool makes and removes (PROMETHEUS_MULTIPROC_DIR in their
environment), which the listener's /metrics reads (bot/metrics.py).
`deskhand worker` alone (no --child) is more consumers beside the listeners' own, sharing the
inbox through the database: on PostgreSQL it is woken by the NOTIFY every write sends (LISTEN,
with a slow safety poll for a lost wake); on SQLite nothing can wake it, so it polls every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time

from prometheus_client.multiprocess import mark_process_dead

from bot import bootstrap, inbox, memory
from bot.heartbeat import Heartbeat
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.settings import CoreSettings
from bot.tasks import Tasks
from storage.heartbeats import HeartbeatStore

log = logging.getLogger("deskhand.workers")
CHILD_DRAIN = 20.0  # a child lets running work finish this long once told to stop
STOP_SECONDS = 40.0  # then the parent's patience: the drain, the scheduler's and the adapters'
RESTART_MAX = 30.0


class WorkerPool:
    def __init__(self, count: int, metrics: Metrics) -> None:
        self.count = count
        self.metrics = metrics
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._supervisors = Tasks("workers", log)
        self._stopping = False
        self.metrics_dir = ""  # the children's metric files, while the pool runs

    async def start(self) -> None:
        self.metrics_dir = tempfile.mkdtemp(prefix="deskhand-metrics-")  # new, so empty
        self.metrics.with_children(self.metrics_dir)
        for i in range(self.count):
            self._supervisors.spawn(self._supervise(i), name=f"worker-{i}")

    async def _supervise(self, index: int) -> None:
        backoff = 1.0
        while not self._stopping:
            started = time.monotonic()
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot.cli", "worker", "--child",
                    stdin=asyncio.subprocess.PIPE,
                    env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir})
            except OSError as exc:  # e.g. out of processes or memory: try again later
                what = f"could not start: {exc}"
            else:
                self._procs[index] = proc
                self.metrics.workers.set(len(self._procs))
                log.info("worker process %s started (pid %s)", index, proc.pid)
                code = await proc.wait()
                self._procs.pop(index, None)
                self.metrics.workers.set(len(self._procs))
                mark_process_dead(proc.pid, self.metrics_dir)  # its counters stay, its gauges go
                what = f"(pid {proc.pid}) exited with {code}"
            if self._stopping:
                return
            if time.monotonic() - started > 60:
                backoff = 1.0  # it had been running fine: a fresh failure
            log.error("worker process %s %s; starting another in %.0f s", index, what, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_MAX)

    def wake(self) -> None:
        """Tell every child there is new work in the inbox (an empty line on its stdin)."""
        self._tell(b"\n")

    def nudge(self, job: str) -> None:
        """Tell every child a due-time job has work now (`!name` on its stdin): the listener
        handed a run to its driver, and the children run the jobs (Scheduler.soon)."""
        self._tell(b"!" + job.encode() + b"\n")

    def _tell(self, line: bytes) -> None:
        """A dead pipe is skipped, and so is a full one: that child has wakes enough to read,
        and nothing piles up in memory (a due-time job still runs at its idle bound)."""
        for proc in list(self._procs.values()):
            stdin = proc.stdin
            if stdin is None or stdin.is_closing() or stdin.transport.get_write_buffer_size():
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                stdin.write(line)

    async def stop(self) -> None:
        self._stopping = True
        procs = list(self._procs.values())
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()  # end of input: the child drains and exits
        if procs:
            await asyncio.wait([asyncio.create_task(p.wait()) for p in procs], timeout=STOP_SECONDS)
            for proc in procs:
                if proc.returncode is None:
                    log.warning("worker process %s did not stop in time; killed", proc.pid)
                    proc.kill()
                    await proc.wait()
        await self._supervisors.stop(0)
        if self.metrics_dir:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)


def run(settings: CoreSettings, *, child: bool) -> int:
    if child:
        # The parent decides when a child stops (it closes our stdin, or dies and the pipe ends).
        # Ctrl-C and systemd's SIGTERM reach the whole process group: stopping on them as well
        # would race the parent's supervisor into starting a replacement during its shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if settings.worker_nice:
            os.nice(settings.worker_nice)
    asyncio.run(_work(settings, child))
    return 0


async def _work(settings: CoreSettings, child: bool) -> None:
    runtime = bootstrap.build_runtime(settings, worker=True)
    as_worker(runtime, child)
    bootstrap.attach_platforms(runtime, listen=False)  # clients to deliver with, no listeners
    await runtime.start()  # the scheduled jobs too: the listener leaves them to its workers
    heartbeat = Heartbeat(HeartbeatStore(runtime.db.engine), settings.replica,
                          settings.worker_heartbeat)
    heartbeat.start()  # from now on the listeners count this worker as taking their requests
    memory.settle()  # as in `serve`
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if not child:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    pump = asyncio.create_task(_wake_from_stdin(runtime, stop)) if child else None
    log.info("worker ready (%s)", "child of serve" if child else
             "woken by the database" if runtime.inbox.listen else "polling the inbox")
    try:
        await stop.wait()
    finally:
        if pump is not None:
            pump.cancel()
        await heartbeat.stop()
        await runtime.stop()


def as_worker(runtime: Runtime, child: bool) -> None:
    """A worker's inbox runs more jobs at once than a listener's, and learns of new work: a child
    from its parent's stdin; a standalone worker from the database's NOTIFY on PostgreSQL, or
    else by polling every second."""
    runtime.inbox.drain = CHILD_DRAIN
    runtime.inbox.slots = inbox.WORKER_SLOTS
    if not child:
        runtime.inbox.listen = runtime.inbox.store.postgres
        runtime.inbox.poll = inbox.SAFETY_POLL if runtime.inbox.listen else inbox.POLL


async def _wake_from_stdin(runtime: Runtime, stop: asyncio.Event) -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pending = b""
    while chunk := await reader.read(4096):
        *lines, pending = (pending + chunk).split(b"\n")
        woken = False
        for line in lines:
            if line.startswith(b"!"):  # WorkerPool.nudge
                runtime.scheduler.soon(line[1:].decode(errors="replace"))
            else:
                woken = True
        if woken:
            runtime.inbox.wake()
    stop.set()  # the parent closed our stdin (or died): finish up
