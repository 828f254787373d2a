"""One simulated instruction: its targets, its status over time, and its responses on demand.

Which target answers, errs or stays offline follows a fixed pattern over target positions
(rotated per instruction), so counts and the position of the k-th answer are arithmetic.
Devices answer in position order over `answer_seconds`, so rows only ever append: a
`Start;Range` cursor stays valid while answers arrive, and 50,000 devices cost no memory.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.tachyon.sim_catalogue import Entry, mix

# Status codes (integrations.md 2.4).
CREATED, IN_APPROVAL, REJECTED, APPROVED, SENT, IN_PROGRESS, COMPLETED, EXPIRED = range(8)
CANCELLING, CANCELLED, AWAITING_AUTH = 8, 9, 12
TERMINAL = {REJECTED, COMPLETED, EXPIRED, CANCELLED, 10}
# `Status` of the "other responses" (2.5), cycled over the targets that give one: an error first,
# then no data, not implemented and too large.
NO_DATA, ERROR, NOT_IMPLEMENTED, TOO_LARGE = 1, 2, 3, 4
OTHERS = (ERROR, NO_DATA, NOT_IMPLEMENTED, TOO_LARGE)


@dataclass(frozen=True)
class SimDevice:
    fqdn: str
    group_id: int
    group: str
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    tags: tuple[str, ...] = ()
    key: int = field(init=False, repr=False, compare=False)  # stable hash: the high half of its GUIDs

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", mix(self.fqdn))


@dataclass(frozen=True)
class Timing:
    step_seconds: float  # Created -> Sent -> In progress, each this long
    answer_seconds: float  # from In progress until every reachable device has answered
    minute_seconds: float  # how long a TTL "minute" lasts (60 = real time)
    otp_seconds: float  # an action awaiting its 2FA code is rejected after this


class Pattern:
    """Per block of 100 positions: `errors` slots give an other response (an error, no data, ...),
    the next `offline` slots never answer."""

    def __init__(self, known: int, offset: int, errors: int, offline: int) -> None:
        self.known, self.offset = known, offset % 100
        self.errors, self.offline = max(0, min(100, errors)), max(0, min(100 - errors, offline))

    def _count(self, n: int, lo: int, hi: int) -> int:
        def upto(m: int) -> int:
            return (m // 100) * (hi - lo) + min(max(m % 100 - lo, 0), hi - lo)
        return upto(n + self.offset) - upto(self.offset)

    def kind(self, p: int) -> str:
        slot = (p + self.offset) % 100
        return "error" if slot < self.errors else "offline" if slot < self.errors + self.offline else "answer"

    def count(self, n: int, kind: str) -> int:
        """How many of the first `n` known positions are of `kind`."""
        e = self._count(n, 0, self.errors)
        o = self._count(n, self.errors, self.errors + self.offline)
        return {"error": e, "offline": o, "answer": n - e - o}[kind]

    def nth(self, k: int, kind: str) -> int:
        """The position of the k-th (0-based) target of `kind`; binary search on `count`."""
        lo, hi = k + 1, self.known
        while lo < hi:
            mid = (lo + hi) // 2
            if self.count(mid, kind) >= k + 1:
                hi = mid
            else:
                lo = mid + 1
        return lo - 1

    def walk(self, k: int, kind: str) -> Iterator[int]:
        """Positions of `kind` from the k-th on."""
        p = self.nth(k, kind)
        while p < self.known:
            if self.kind(p) == kind:
                yield p
            p += 1


OTHER_WORDS = {NO_DATA: "", NOT_IMPLEMENTED: "The instruction is not implemented on this platform.",
               TOO_LARGE: "The response exceeded the maximum response size."}


@functools.lru_cache(maxsize=8192)  # a page repeats the release time and nearby arrival times
def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def guid(value: int) -> str:
    """str(uuid.UUID(int=value)), without building the UUID (thousands per page)."""
    x = f"{value:032x}"
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass
class SimInstruction:
    id: int
    entry: Entry
    devices: Sequence[SimDevice]  # known targets, in answer order
    unknown: list[str]  # targeted FQDNs the simulator does not know: never answer
    params: dict[str, str]
    body: dict[str, Any]  # what the consumer sent, for the echo fields
    created_by: str
    consumer: str
    pattern: Pattern
    timing: Timing
    needs_auth: bool
    needs_approval: bool
    created: float = field(default_factory=time.time)
    authenticated_at: float | None = None
    released: float | None = None  # sent to devices: at creation, or when approved
    rejected_at: float | None = None
    cancelled_at: float | None = None
    keep_data: bool = True
    forced: int | None = None
    actioned_by: str = ""
    action_reason: str = ""
    otp: str = field(default_factory=lambda: f"{uuid.uuid4().int % 1_000_000:06d}")
    installed: set[str] = field(default_factory=set)  # the simulator's: TeamViewer installed here since
    others: Sequence[int] = OTHERS  # the Status of the k-th other response is others[k % len]

    def __post_init__(self) -> None:
        if not self.needs_auth and not self.needs_approval:
            self.released = self.created

    # --- time line -------------------------------------------------------------------------

    @property
    def ttl_end(self) -> float:
        start = self.released if self.released is not None else self.created
        return start + int(self.body.get("InstructionTtlMinutes") or 60) * self.timing.minute_seconds

    def _progress_start(self) -> float:
        assert self.released is not None
        return self.released + 2 * self.timing.step_seconds

    def reached(self, now: float) -> int:
        """How many known targets (by position) have answered, erred or been found offline."""
        if self.released is None or not self.devices:
            return 0
        t = min(now, self.ttl_end, self.cancelled_at if self.cancelled_at is not None else now)
        elapsed = t - self._progress_start()
        if elapsed < 0:
            return 0
        if self.timing.answer_seconds <= 0 or elapsed >= self.timing.answer_seconds:
            return len(self.devices)
        return int(len(self.devices) * elapsed / self.timing.answer_seconds)

    def arrival(self, p: int) -> float:
        share = (p + 1) / max(1, len(self.devices))
        return self._progress_start() + max(0.0, self.timing.answer_seconds) * share

    def status(self, now: float) -> tuple[int, float]:
        """(status code, since when)."""
        if self.forced is not None:
            return self.forced, now
        if self.rejected_at is not None:
            return REJECTED, self.rejected_at
        if self.cancelled_at is not None:
            step_end = self.cancelled_at + self.timing.step_seconds
            return (CANCELLING, self.cancelled_at) if now < step_end else (CANCELLED, step_end)
        if self.needs_auth and self.authenticated_at is None:
            expiry = self.created + self.timing.otp_seconds
            return (AWAITING_AUTH, self.created) if now < expiry else (REJECTED, expiry)
        if self.released is None:
            since = self.authenticated_at or self.created
            return (IN_APPROVAL, since) if now < self.ttl_end else (EXPIRED, self.ttl_end)
        step = self.timing.step_seconds
        if now < self.released + step:
            return (APPROVED if self.needs_approval else CREATED), self.released
        if now < self.released + 2 * step:
            return SENT, self.released + step
        all_in = self._progress_start() + max(0.0, self.timing.answer_seconds)
        everyone = not self.unknown and self.pattern.offline == 0
        if everyone and now >= all_in and all_in <= self.ttl_end:
            return COMPLETED, all_in
        if now >= self.ttl_end:
            return (COMPLETED if self.received(now) else EXPIRED), self.ttl_end
        return IN_PROGRESS, self._progress_start()

    def received(self, now: float) -> int:
        n = self.reached(now)
        return n - self.pattern.count(n, "offline")

    def other_counts(self, others: int) -> dict[int, int]:
        """How many of the first `others` other responses carry each Status."""
        cycle, counts = len(self.others), dict.fromkeys(self.others, 0)
        for i, status in enumerate(self.others):
            counts[status] += (others - i + cycle - 1) // cycle
        return counts

    def statistics(self, now: float) -> dict[str, Any]:
        n = self.reached(now)
        answers, others = self.pattern.count(n, "answer"), self.pattern.count(n, "error")
        by = self.other_counts(others)
        total = len(self.devices) + len(self.unknown)
        sent = total if self.status(now)[0] not in (CREATED, IN_APPROVAL, APPROVED, AWAITING_AUTH,
                                                    REJECTED) else 0
        online = len(self.devices) - self.pattern.count(len(self.devices), "offline")
        return {"Summary": {
            "SentCount": sent, "ReceivedCount": answers + others,
            "OutstandingResponsesCount": max(0, sent - answers - others),
            # Whether 1E's TotalErrorRespondents counts more than Status 2 is not known (2.5).
            "TotalSuccessRespondents": answers, "TotalSuccessNoDataRespondents": by.get(NO_DATA, 0),
            "TotalErrorRespondents": by.get(ERROR, 0),
            "TotalNotImplementedRespondents": by.get(NOT_IMPLEMENTED, 0),
            "TotalRowInserts": answers * self.entry.rows_per_device,
            "TotalRowProcessed": answers * self.entry.rows_per_device,
            "TotalBytesSent": sent * 512, "TotalBytesReceived": answers * 180,
            "AverageExecTime": 42 if answers else 0,
            "Runningtime": int(max(0.0, now - (self.released or now))),
            "OnlineDeviceCount": online}}

    # --- responses -------------------------------------------------------------------------

    def rows(self, start: int, size: int, now: float) -> tuple[list[dict[str, Any]], int]:
        """Response rows [start, start+size) among those arrived; (rows, next start)."""
        per = self.entry.rows_per_device
        available = 0 if not self.keep_data else self.pattern.count(self.reached(now), "answer") * per
        end = min(available, start + size)
        if start >= end:
            return [], max(start, 0)
        out: list[dict[str, Any]] = []
        r = start
        for p in self.pattern.walk(start // per, "answer"):
            device = self.devices[p]
            for j in range(r % per, per):
                if r >= end:
                    break
                out.append(self._row(r, p, j, device))
                r += 1
            if r >= end:
                break
        return out, end

    def _row(self, r: int, p: int, j: int, device: SimDevice) -> dict[str, Any]:
        h = mix(self.id, device.fqdn, j)
        attrs = device.attributes
        if device.fqdn in self.installed:
            attrs = {**attrs, "teamviewer_full_client": True}
        return {"Id": r + 1, "ShardId": 0, "TachyonGuid": guid(device.key << 64 | h),
                "Fqdn": device.fqdn, "ExecTime": 5 + h % 900,
                "CreatedTimestampUtc": iso(self.released), "ResponseTimestampUtc": iso(self.arrival(p)),
                "Values": self.entry.generate(h, device.fqdn, j, self.params, attrs),
                "Blob": None}

    def errors(self, start: int, size: int, now: float) -> tuple[list[dict[str, Any]], int]:
        available = 0 if not self.keep_data else self.pattern.count(self.reached(now), "error")
        end = min(available, start + size)
        if start >= end:
            return [], max(start, 0)
        out = []
        for e, p in zip(range(start, end), self.pattern.walk(start, "error"), strict=False):
            device = self.devices[p]
            h = mix(self.id, device.fqdn, "error")
            status = self.others[e % len(self.others)]
            said = (self.entry.errors[h % len(self.entry.errors)] if status not in OTHER_WORDS
                    else OTHER_WORDS[status])
            out.append({"Id": e + 1, "ShardId": 0, "TachyonGuid": guid(h << 64 | h),
                        "Fqdn": device.fqdn, "Status": status, "ExecTime": h % 3000,
                        "ErrorData": said,
                        "CreatedTimestampUtc": iso(self.released),
                        "ResponseTimestampUtc": iso(self.arrival(p))})
        return out, end

    def answered_fqdns(self, now: float) -> list[str]:
        n = self.reached(now)
        return [d.fqdn for p, d in enumerate(self.devices[:n]) if self.pattern.kind(p) == "answer"]
