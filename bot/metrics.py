"""Prometheus metrics on a per-runtime registry (no module-level singletons)."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
        # With worker processes the counters above are kept in the workers; these, read from the
        # database at each scrape, show from the listener whether the work keeps up.
        self.inbox_queued = Gauge("deskhand_inbox_queued", "Chat requests stored, not yet started",
                                  registry=self.registry)
        self.inbox_running = Gauge("deskhand_inbox_running", "Chat requests being worked on",
                                   registry=self.registry)
        self.inbox_oldest = Gauge("deskhand_inbox_oldest_seconds",
                                  "Age of the oldest chat request not yet started (0: none)",
                                  registry=self.registry)
        self.workers = Gauge("deskhand_worker_processes", "Worker processes alive (serve's children)",
                             registry=self.registry)

    def observe_command(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.command_seconds.labels(command).observe(seconds)

    def observe_interaction(self, action: str, outcome: str) -> None:
        self.interactions.labels(action, outcome).inc()

    def observe_inbox(self, queued: int, running: int, oldest: datetime | None) -> None:
        self.inbox_queued.set(queued)
        self.inbox_running.set(running)
        self.inbox_oldest.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
