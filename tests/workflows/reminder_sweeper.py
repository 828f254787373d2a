"""One deskhand process that runs one reminder sweep: `python -m tests.workflows.reminder_sweeper
URL NOW START`. It waits until the wall clock reaches START (so two of them sweep together),
then prints how many reminders it claimed and posted, and the card titles it posted."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

from bot.reminders import sweep
from tests.handlers.reminders_kit import started


async def main(url: str, now: datetime, start: float) -> None:
    async with started(url, upgrade=False) as rt:
        await asyncio.sleep(max(0.0, start - time.time()))
        posted = await sweep(rt, rt.registry.reminders, now=now)
        hub = rt.messenger("console")
        assert hub is not None
        cards = [m.card["title"] for m in hub._messages.values()]  # type: ignore[attr-defined]
    print(json.dumps({"posted": posted, "titles": cards}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], datetime.fromisoformat(sys.argv[2]), float(sys.argv[3])))
