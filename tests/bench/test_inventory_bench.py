"""bench/inventory.py runs end to end on a small fleet, so it cannot rot between benchmark runs
(its figures are judged in bench/README.md, never here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "inventory.py"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_inventory_benchmark_syncs_and_upserts_a_small_fleet(
        backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_inventory", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_inventory"] = bench  # its dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
        status = bench.main(["--devices", "200", "--backend", backend])
    finally:
        del sys.modules["bench_inventory"]
    out = capsys.readouterr().out
    assert status in (0, 1), out  # PASS or FAIL is the benchmark's verdict, not the test's
    # It checked the sync's inventory (one device per machine, a source row per record) and
    # measured all three.
    assert f"{backend}: 200 devices, 340 vendor records" in out, out
    for line in ("sync (empty inventory)", "sync again (all known)", "raw bulk upsert",
                 "peak RSS during the sync", "x the raw upsert's devices/s"):
        assert line in out, out
