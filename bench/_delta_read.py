"""Run inside the delta-sharing client's environment by bench/sharing.py: reads one table through
the official client and the same parquet files from local disk with pyarrow, alternating, and
prints the seconds of each round as JSON. `local` converts to pandas with the arguments the
client's reader uses (so both sides do the same work and the difference is the transport);
`local_default` with pyarrow's defaults (threads on), for information.

Usage: python _delta_read.py <profile> <table url fragment> <rounds> <parquet file>...
"""

from __future__ import annotations

import json
import sys
import time

import delta_sharing
import pyarrow.parquet as pq


def main() -> None:
    profile, fragment, rounds, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    client, local, local_default, rows = [], [], [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        frame = delta_sharing.load_as_pandas(f"{profile}#{fragment}")
        client.append(time.perf_counter() - started)
        rows = len(frame)
        del frame
        started = time.perf_counter()
        tables = [pq.read_table(f).to_pandas(date_as_object=True, use_threads=False,
                                             split_blocks=False, self_destruct=True) for f in files]
        local.append(time.perf_counter() - started)
        assert sum(len(t) for t in tables) == rows, "the client and the files disagree"
        del tables
        started = time.perf_counter()
        tables = [pq.read_table(f).to_pandas() for f in files]
        local_default.append(time.perf_counter() - started)
        del tables
    print(json.dumps({"rows": rows, "client": client, "local": local,
                      "local_default": local_default}))


if __name__ == "__main__":
    main()
