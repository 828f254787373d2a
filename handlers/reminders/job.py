"""The sweep job: every few minutes, on one replica at a time (a lease); each reminder's own
claim makes it once even when two sweeps overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.reminders import sweep

if TYPE_CHECKING:
    from bot.runtime import Runtime

SWEEP_SECONDS = 300.0


async def run_sweep(runtime: Runtime) -> None:
    await sweep(runtime, runtime.registry.reminders)
