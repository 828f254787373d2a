"""Shared helpers for the benchmarks: processes, readiness polling, RSS, statistics, machine facts.

Everything here stays on loopback, every wait is bounded, and every process a benchmark starts is
stopped by its own pid (never by name).
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.fakes.slack_api import Call, FakeSlack

VENV_BIN = Path(sys.executable).parent



async def arrival(fake: FakeSlack, path: str, seconds: float = 30.0) -> Call:
    """The fake Slack's record of the card posted to a command's response_url `path`."""
    deadline = time.monotonic() + seconds
    while True:
        for call in fake.called("response_url"):
            if call.path == path:
                return call
        if time.monotonic() > deadline:
            raise TimeoutError(f"no card on {path} after {seconds:.0f} s")
        await asyncio.sleep(0.002)  # only paces the next command; `call.at` is the stamp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolation percentile (p in 0..100), the same rule as numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    p95: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(len(values), statistics.median(values), percentile(values, 95),
                   min(values), max(values))


# --- processes -------------------------------------------------------------------------------


class ProcessExited(RuntimeError):
    """The process under test ended before it became ready."""


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: Path,
          stop_timeout: float = 10.0) -> Iterator[Proc]:
    """Start argv with output going to a file (a full pipe would stall it); stop it on exit.

    Stopping is SIGTERM (the server's graceful path), then SIGKILL after `stop_timeout`.
    """
    fd, name = tempfile.mkstemp(prefix="bench-", suffix=".log", dir=cwd)
    with os.fdopen(fd, "wb") as out:
        popen = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT)
    proc = Proc(popen, Path(name))
    try:
        yield proc
    finally:
        stop(popen, stop_timeout)


def stop(popen: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if popen.poll() is not None:
        return
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout)


def wait_ready(proc: Proc, url: str, started: float, timeout: float = 30.0,
               interval: float = 0.01) -> float:
    """Poll `url` until it answers 200; returns seconds since `started` (a perf_counter value)."""
    deadline = started + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass  # not listening yet
            if proc.popen.poll() is not None:
                raise ProcessExited(f"exited with {proc.popen.returncode} before {url} was ready:\n"
                                    f"{proc.log_tail()}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{url} not ready after {timeout:.0f} s:\n{proc.log_tail()}")
            time.sleep(interval)


# --- memory ----------------------------------------------------------------------------------


def _vmrss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0  # gone, or a kernel thread without VmRSS


def descendants(pid: int) -> list[int]:
    """Child processes at any depth, from the parent pid in /proc/<pid>/stat."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name field may contain spaces
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def vmrss_mib(pid: int) -> float:
    """VmRSS of one process in MiB (0 when it is gone)."""
    return _vmrss_kib(pid) / 1024


def rss_mib(pid: int) -> float:
    """VmRSS of pid plus its descendants, in MiB (shared pages are counted once per process)."""
    return sum(_vmrss_kib(p) for p in [pid, *descendants(pid)]) / 1024


def idle_rss_mib(pid: int, settle: float = 2.0, interval: float = 0.25) -> float:
    """Highest RSS seen while the process sits idle for `settle` seconds."""
    peak = 0.0
    end = time.perf_counter() + settle
    while time.perf_counter() < end:
        peak = max(peak, rss_mib(pid))
        time.sleep(interval)
    return max(peak, rss_mib(pid))


# --- CPU ---------------------------------------------------------------------------------------


def loadavg() -> str:
    """1/5/15-minute load: other work on the machine shows up here and in the figures."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, every thread including ended ones (/proc/<pid>/stat;
    clock ticks, so +-10 ms: fine over a loaded round, too coarse for idle, see `tree_schedstat`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0  # gone
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """cpu_s of a process plus its descendants (deskhand serve's worker processes)."""
    return sum(cpu_s(p) for p in [pid, *descendants(pid)])


def schedstat(pid: int) -> tuple[int, int]:
    """(CPU nanoseconds, times scheduled in) of the live threads of a process, from
    /proc/<pid>/task/*/schedstat: precise enough for a fraction of a millisecond per second
    idle, but a thread that ends between two readings takes its time with it, so loaded rounds
    use `cpu_s`. A thread is scheduled in once per wake-up, so the second counts wake-ups."""
    ns = slices = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
        ns, slices = ns + int(fields[0]), slices + int(fields[2])
    return ns, slices


def cpu_ns(pid: int) -> int:
    return schedstat(pid)[0]


def tree_schedstat(pid: int) -> tuple[int, int]:
    """schedstat of a process plus its descendants, read once per process."""
    readings = [schedstat(p) for p in [pid, *descendants(pid)]]
    return sum(ns for ns, _ in readings), sum(slices for _, slices in readings)


# --- environment -----------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the caller's DESKHAND_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def print_machine() -> None:
    m = machine()
    print(f"{m['date']} | nproc {m['nproc']} | {m['cpu']} | RAM {m['ram']} | "
          f"Python {m['python']} | Linux {m['kernel']}")
