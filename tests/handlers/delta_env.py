"""The official delta-sharing client's own environment, built once under `.venv-delta/`.

delta-sharing 1.4.2 pins aiohttp<=3.13.4, which lacks `web.RequestKey` that deskhand's
simulators use, so it cannot share deskhand's environment: the tests run it as a separate
Python from a virtual environment they build on first use (and CI builds the same way). The
directory is ignored by git; delete it to rebuild.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import venv
from pathlib import Path

PIN = "delta-sharing==1.4.2"
HOME = Path(__file__).resolve().parents[2] / ".venv-delta"
READY = HOME / "deskhand-ready"


def python() -> Path:
    """The environment's interpreter, building the environment first if needed (a lock keeps
    parallel test processes from building it twice)."""
    HOME.parent.mkdir(parents=True, exist_ok=True)
    with open(HOME.parent / ".venv-delta.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not READY.exists() or READY.read_text() != PIN:
            venv.EnvBuilder(with_pip=True, clear=True).create(HOME)
            subprocess.run([str(HOME / "bin" / "python"), "-m", "pip", "install", "-q", PIN],
                           check=True, stdout=sys.stderr)
            READY.write_text(PIN)
    return HOME / "bin" / "python"
