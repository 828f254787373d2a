"""What a long-running process does with its memory once it has started (`serve`, workers)."""

from __future__ import annotations

import gc
import sys


def settle() -> None:
    """Take start-up's objects out of the collector, then hand the C heap's free pages back.

    ~175k long-lived objects (modules, SQLAlchemy, bolt) made every full collection cost
    85-145 ms, which set the p99 of Slack acks (bench/README.md, slack_ack); frozen, they are
    out of the collector for the life of the process. Start-up's imports and that collection
    leave about half a megabyte free in glibc's heap, which the process would otherwise keep
    (bench/README.md, e2e: idle RSS).
    """
    gc.collect()
    gc.freeze()
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # another C library (musl): nothing to hand back
        pass
