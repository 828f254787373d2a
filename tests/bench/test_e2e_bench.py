"""bench/e2e.py runs end to end at a tiny rate, so it cannot rot between benchmark runs: deskhand
serve with its worker and the bare bolt app answer the commands (bare with deskhand's card), the audit
log is counted, and every figure is printed (the goals are judged in bench/README.md, never
here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "e2e.py"
NUMBER = r"[\d.]+"


@pytest.mark.parametrize("backend, commands", [
    ("sqlite", ["devices", "help"]),
    pytest.param("postgresql", ["devices"], marks=pytest.mark.postgres),
])
def test_the_e2e_bench_measures_every_figure(backend: str, commands: list[str]) -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--backend", backend, "--command",
                           ",".join(commands), "--rates", "4,8", "--seconds", "1", "--warmup", "4",
                           "--idle-seconds", "1", "--settle", "0.5"],
                          capture_output=True, text=True, timeout=240, check=False)
    out = done.stdout
    assert done.returncode in (0, 1), out + done.stderr  # 1 is a goal missed, not a crash
    for command in commands:
        # The audit log was counted for every command sent (warm-up 4, then 4 and 8), and both
        # people's cards were captured; whether each was audited once is the benchmark's verdict.
        assert re.search(rf"audit log: \d+ `{command}` command rows for 16 `{command}` commands", out), out
        card = rf"\w+ \d+ blocks {NUMBER} KiB"
        assert re.search(rf"captured `{command}` cards: {card}, {card}", out), out
        table = out.split(f"{backend}, `/deskhand {command}`, one worker:", 1)[1]
        for rate in ("4", "8"):  # completed/s, p50 / p99, CPU and wake-ups per command, both
            row = rf"\| {rate} \| {NUMBER} \| {NUMBER} m?s / {NUMBER} m?s \| {NUMBER} \| " \
                  rf"{NUMBER} m?s / {NUMBER} m?s \| {NUMBER} ms.* vs {NUMBER} ms.*\| " \
                  rf"{NUMBER} vs {NUMBER} \|"
            assert re.search(row, table), table
        for goal in ("every command answered with its card, audited once",
                     "CPU per command < 4 ms at every rate", ">= 250 completed/s with one worker",
                     "p99 command -> card < 500 ms at 150/s"):
            assert re.search(rf"^(PASS|FAIL)  {command}: {re.escape(goal)} \(", out, re.M), out
    assert re.search(rf"idle CPU: deskhand {NUMBER} ms/s, bare {NUMBER} ms/s; idle RSS: deskhand "
                     rf"listener {NUMBER} MiB, worker 1 {NUMBER} MiB; bare {NUMBER} MiB", out), out
    # Wake-ups at rest beside what one costs on this machine (an idle asyncio process's).
    assert re.search(rf"idle wakes: deskhand {NUMBER}/s, bare {NUMBER}/s; an asyncio process that "
                     rf"wakes once a second and does nothing: {NUMBER} ms a wake", out), out
    for goal in ("idle CPU < 0.5 ms per second", "idle RSS of serve (listener) < 95 MiB"):
        assert re.search(rf"^(PASS|FAIL)  {re.escape(goal)} \(", out, re.M), out
    if backend == "postgresql":  # the database's server processes are counted as deskhand's CPU
        assert re.search(rf"ms \(PostgreSQL {NUMBER}\) vs", out), out
