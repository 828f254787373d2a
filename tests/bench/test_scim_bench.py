"""bench/scim.py runs end to end with a tiny N (the figures themselves live in bench/README.md):
deskhand serve on loopback, Okta-shaped requests, the direct writes beside them, a ratio per
phase, exit status 0 only when every request answered as expected and every member landed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scim.py"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_scim_bench_runs(backend: str) -> None:
    extra = ["--pg", PG_ADMIN] if backend == "postgresql" else []
    done = subprocess.run([sys.executable, str(BENCH), "--users", "3", "--rounds", "1",
                           "--concurrency", "2", *extra],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith(("SQLite" if backend == "sqlite" else "PostgreSQL") + ", 3 users")
               for line in lines)
    for phase in ("create", "patch", "member add"):
        row = next(line for line in lines if line.startswith(phase + " "))
        assert row.rstrip().endswith("x"), row  # the deskhand / direct ratio
    assert lines[-1].startswith("OK  every request answered")
