"""bench/e2e.py's figures, its goals (issue 18) and the table it prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from _common import percentile

CPU_GOAL_MS, DONE_GOAL, P99_GOAL_MS, P99_AT = 4.0, 250.0, 500.0, 150.0
IDLE_CPU_GOAL, RSS_GOAL_MIB = 0.5, 95.0  # ms of CPU per second; MiB of the listener

@dataclass
class Round:
    rate: float
    done_rps: float  # completed while loaded
    card_ms: list[float]  # POST -> card, every command
    cpu_ms: float  # per command: the target's process tree, plus db_ms
    db_ms: float  # per command: PostgreSQL's server processes for deskhand's database
    load: str  # the machine's 1-minute load average after the round
    wakes: float  # per command: times a thread of the target's processes was scheduled in
    others: list[str]  # answers that were not the command's card (e.g. "may not have finished")


@dataclass
class Figures:
    """One target's figures on one backend."""
    name: str
    idle_cpu_ms_s: float = 0.0  # PostgreSQL's server processes for deskhand's database included
    idle_wakes_s: float = 0.0  # times a thread of the process tree was scheduled in, per second
    wake_ms: float = 0.0  # deskhand's only: the machine's CPU per wake of the idle sleeper
    idle_rss: dict[str, float] = field(default_factory=dict)  # process -> MiB
    rounds: dict[str, list[Round]] = field(default_factory=dict)  # command -> rounds
    audit: dict[str, tuple[int, int]] = field(default_factory=dict)  # command -> (ok rows, sent)


def verdict(ok: bool, goal: str, figure: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {goal} ({figure})")
    return ok


def report(backend: str, desk: Figures, bare: Figures) -> bool:
    """The issue's table per command, the idle figures and a verdict per goal."""
    every = True
    for c, rounds in desk.rounds.items():
        print(f"\n{backend}, `/deskhand {c}`, one worker:\n\n| offered/s | deskhand completed/s | "
              "deskhand command -> card p50 / p99 | bare completed/s | bare p50 / p99 | "
              "CPU per command, all processes: deskhand vs bare | wake-ups per command: deskhand vs bare "
              "| load |\n|--:|--:|--:|--:|--:|--:|--:|--:|")
        for d, b in zip(rounds, bare.rounds[c], strict=True):
            print(f"| {d.rate:g} | {d.done_rps:.0f} | {ms(d.card_ms, 50)} / {ms(d.card_ms, 99)} | "
                  f"{b.done_rps:.0f} | {ms(b.card_ms, 50)} / {ms(b.card_ms, 99)} | "
                  f"{d.cpu_ms:.1f} ms{pg(d)} vs {b.cpu_ms:.1f} ms{times(d.cpu_ms, b.cpu_ms)} | "
                  f"{d.wakes:.1f} vs {b.wakes:.1f} | {d.load} |")
        wrong, (rows, sent) = [t for r in rounds for t in r.others], desk.audit[c]
        every &= verdict(not wrong and rows == sent, f"{c}: every command answered with its card, "
                         "audited once", f"{len(wrong)} other answers"
                         + (f", e.g. {wrong[0][:70]!r}" if wrong else "")
                         + f"; {rows} audit rows for {sent} commands sent")
        worst = max(r.cpu_ms for r in rounds)
        every &= verdict(worst < CPU_GOAL_MS, f"{c}: CPU per command < {CPU_GOAL_MS:g} ms at every rate",
                         f"worst {worst:.1f} ms, {worst / CPU_GOAL_MS:.1f}x the goal; bare worst "
                         f"{max(r.cpu_ms for r in bare.rounds[c]):.1f} ms")
        best = max(r.done_rps for r in rounds)
        every &= verdict(best >= DONE_GOAL, f"{c}: >= {DONE_GOAL:g} completed/s with one worker",
                         f"best {best:.0f}/s, {best / DONE_GOAL:.2f}x the goal")
        at = [r for r in rounds if r.rate == P99_AT]
        p99 = percentile(at[0].card_ms, 99) if at else float("inf")
        every &= verdict(p99 < P99_GOAL_MS, f"{c}: p99 command -> card < {P99_GOAL_MS:g} ms at {P99_AT:g}/s",
                         f"{p99:.0f} ms, {p99 / P99_GOAL_MS:.2f}x the goal" if at
                         else f"{P99_AT:g}/s not offered")
    rss = ", ".join(f"{name} {mib:.1f} MiB" for name, mib in desk.idle_rss.items())
    print(f"\nidle CPU: deskhand {desk.idle_cpu_ms_s:.2f} ms/s, bare {bare.idle_cpu_ms_s:.2f} ms/s; "
          f"idle RSS: deskhand {rss}; bare {bare.idle_rss['listener']:.1f} MiB")
    print(f"idle wakes: deskhand {desk.idle_wakes_s:.2f}/s, bare {bare.idle_wakes_s:.2f}/s; an "
          f"asyncio process that wakes once a second and does nothing: {desk.wake_ms:.2f} ms a wake on "
          f"this machine, so waking alone is ~{desk.idle_wakes_s * desk.wake_ms:.2f} ms/s of deskhand's")
    every &= verdict(desk.idle_cpu_ms_s < IDLE_CPU_GOAL, f"idle CPU < {IDLE_CPU_GOAL:g} ms per second",
                     f"{desk.idle_cpu_ms_s:.2f} ms/s, {desk.idle_cpu_ms_s / IDLE_CPU_GOAL:.1f}x the goal")
    listener = desk.idle_rss["listener"]
    every &= verdict(listener < RSS_GOAL_MIB, f"idle RSS of serve (listener) < {RSS_GOAL_MIB:g} MiB",
                     f"{listener:.1f} MiB, {listener / RSS_GOAL_MIB:.2f}x the goal")
    return every


def times(a: float, b: float) -> str:
    return f" ({a / b:.1f}x)" if b else ""


def pg(r: Round) -> str:
    return f" (PostgreSQL {r.db_ms:.1f})" if r.db_ms else ""


def ms(values: list[float], p: float) -> str:
    v = percentile(values, p)
    return f"{v / 1000:.1f} s" if v >= 1000 else f"{v:.1f} ms"
