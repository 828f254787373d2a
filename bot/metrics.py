"""Prometheus metrics on a per-runtime registry (no module-level singletons).

With worker processes (bot/workers.py) the commands, clicks and jobs are counted where they run.
The listener creates a private directory and starts its children with PROMETHEUS_MULTIPROC_DIR
pointing at it, so prometheus_client in each child (imported after the variable is set) keeps its
values in files there; the listener's `/metrics` adds them to its own (`with_children`). The
listener itself stays in ordinary mode: it cannot know it has workers before its settings are
read, which is after prometheus_client is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.samples import Sample


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._rendered = self.registry
        self.commands = Counter("deskhand_commands", "Commands handled", ["command", "outcome"],
                                registry=self.registry)
        self.command_seconds = Histogram(
            "deskhand_command_seconds", "Time to handle a command", ["command"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.interactions = Counter("deskhand_interactions", "Card clicks handled",
                                    ["action", "outcome"], registry=self.registry)
        self.jobs = Counter("deskhand_jobs", "Scheduled job runs", ["job", "outcome"],
                            registry=self.registry)
        # Set by the listener at each scrape (bot/web.py) or by its worker pool. In a worker
        # (multiprocess mode) they exist but stay 0; "livesum" drops a dead worker's share.
        self.inbox_queued = Gauge("deskhand_inbox_queued", "Chat requests stored, not yet started",
                                  registry=self.registry, multiprocess_mode="livesum")
        self.inbox_running = Gauge("deskhand_inbox_running", "Chat requests being worked on",
                                   registry=self.registry, multiprocess_mode="livesum")
        self.inbox_oldest = Gauge("deskhand_inbox_oldest_seconds",
                                  "Age of the oldest chat request not yet started (0: none)",
                                  registry=self.registry, multiprocess_mode="livesum")
        self.workers = Gauge("deskhand_worker_processes", "Worker processes alive (serve's children)",
                             registry=self.registry, multiprocess_mode="livesum")
        self.heartbeat_age = Gauge(
            "deskhand_worker_heartbeat_age_seconds",
            "Seconds since a worker process last reported (+Inf: none has; 0 without workers)",
            registry=self.registry, multiprocess_mode="livesum")

    def observe_command(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.command_seconds.labels(command).observe(seconds)

    def observe_interaction(self, action: str, outcome: str) -> None:
        self.interactions.labels(action, outcome).inc()

    def observe_inbox(self, queued: int, running: int, oldest: datetime | None) -> None:
        self.inbox_queued.set(queued)
        self.inbox_running.set(running)
        self.inbox_oldest.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)

    def with_children(self, directory: str) -> None:
        """Render, beside this process's values, those of the processes writing to `directory`."""
        self._rendered = CollectorRegistry()
        self._rendered.register(Combined(self.registry, directory))

    def render(self) -> bytes:
        return generate_latest(self._rendered)


class Combined:
    """One family per metric: this process's samples and its children's, added up per label set.

    Counters and histograms add up across processes, and so do the gauges, whose children's
    share is kept in "livesum" mode. `_created` samples are left out: multiprocess mode has none,
    and one process's creation time is not the sum's.
    """

    def __init__(self, own: CollectorRegistry, directory: str) -> None:
        self.own = own
        self.children = MultiProcessCollector(None, path=directory)

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        totals: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for family in (*self.own.collect(), *self.children.collect()):
            families.setdefault(family.name, family)
            values = totals.setdefault(family.name, {})
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                key = (sample.name, tuple(sorted(sample.labels.items())))
                values[key] = values.get(key, 0.0) + sample.value
        for name, first in families.items():
            merged = Metric(name, first.documentation, first.type, first.unit)
            merged.samples = [Sample(sample, dict(labels), value)
                              for (sample, labels), value in totals[name].items()]
            yield merged
