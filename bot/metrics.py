"""Prometheus metrics on a per-runtime registry (no module-level singletons)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


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

    def observe_command(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.command_seconds.labels(command).observe(seconds)

    def observe_interaction(self, action: str, outcome: str) -> None:
        self.interactions.labels(action, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
