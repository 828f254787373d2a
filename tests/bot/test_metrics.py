"""The listener's /metrics adds its worker processes' values to its own (bot/metrics.py).

A real child process in prometheus_client's multiprocess mode writes the files, as a worker
started by `deskhand serve` does (tests/bot/test_workers.py runs the whole thing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics

CHILD = """
from bot.metrics import Metrics
m = Metrics()
m.observe_command("devices", "ok", 0.02)
m.observe_command("devices", "error", 3)
m.observe_interaction("approval.approve", "ok")
m.jobs.labels("instructions.poll", "ok").inc()
m.workers.set(5)  # a gauge a worker should not own: its share goes when it dies
import os; print(os.getpid())
"""


def child(directory: Path) -> int:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True, capture_output=True)
    return int(done.stdout)


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    families = list(text_string_to_metric_families(text))
    assert len({f.name for f in families}) == len(families)  # one family each, not one per process
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_a_listener_renders_its_own_and_its_children_values_as_one(tmp_path: Path) -> None:
    own = Metrics()
    own.observe_command("devices", "ok", 0.3)
    own.workers.set(1)
    own.with_children(str(tmp_path))
    first, second = child(tmp_path), child(tmp_path)

    found = samples(own)
    assert found[("deskhand_commands_total", (("command", "devices"), ("outcome", "ok")))] == 3
    assert found[("deskhand_commands_total", (("command", "devices"), ("outcome", "error")))] == 2
    assert found[("deskhand_command_seconds_count", (("command", "devices"),))] == 5
    assert found[("deskhand_command_seconds_bucket", (("command", "devices"), ("le", "0.025")))] == 2
    assert found[("deskhand_command_seconds_bucket", (("command", "devices"), ("le", "+Inf")))] == 5
    assert found[("deskhand_interactions_total",
                  (("action", "approval.approve"), ("outcome", "ok")))] == 2
    assert found[("deskhand_jobs_total", (("job", "instructions.poll"), ("outcome", "ok")))] == 2
    assert not any(name.endswith("_created") for name, _ in found)
    assert found[("deskhand_worker_processes", ())] == 11

    mark_process_dead(first, str(tmp_path))  # as the pool does when a child exits
    mark_process_dead(second, str(tmp_path))
    found = samples(own)
    assert found[("deskhand_worker_processes", ())] == 1  # the dead children's gauges are gone
    assert found[("deskhand_commands_total", (("command", "devices"), ("outcome", "ok")))] == 3


def test_without_workers_a_process_renders_its_own_values_as_before() -> None:
    own = Metrics()
    own.observe_command("devices", "ok", 0.3)
    found = samples(own)
    assert found[("deskhand_commands_total", (("command", "devices"), ("outcome", "ok")))] == 1
    assert any(name == "deskhand_commands_created" for name, _ in found)
