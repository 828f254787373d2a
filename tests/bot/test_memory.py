"""bot/memory.settle: start-up's objects leave the collector, and it returns on any C library."""

from __future__ import annotations

import gc

from bot import memory


def collected(obj: object) -> bool:
    """Whether the collector's generations hold `obj` (a frozen object is in none)."""
    return any(o is obj for o in gc.get_objects())


def test_settle_freezes_what_is_alive() -> None:
    alive: list[int] = [1]  # a container: the collector tracks it
    assert collected(alive)
    try:
        memory.settle()
        assert gc.get_freeze_count() > 0
        assert not collected(alive)
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
