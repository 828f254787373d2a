"""Run by the official delta-sharing client's own environment (tests/handlers/test_delta_client.py):
reads every table of the share through a profile file with pandas and prints what it read as JSON.

Usage: python delta_client.py <profile file>. Exit status 0 with
{"tables": {name: {"rows": n, "columns": [...], "sample": {...}}}}, or 3 with {"error": "..."}.
"""

from __future__ import annotations

import json
import os
import sys

import delta_sharing


def main(profile: str) -> int:
    try:
        client = delta_sharing.SharingClient(profile)
        tables = {}
        for table in client.list_all_tables():
            frame = delta_sharing.load_as_pandas(f"{profile}#{table.share}.{table.schema}.{table.name}")
            sample = json.loads(frame.head(1).to_json(orient="records", date_format="iso"))
            tables[table.name] = {"rows": len(frame), "columns": list(frame.columns),
                                  "sample": sample[0] if sample else None,
                                  "ids": sorted(int(i) for i in frame["id"])}
    except Exception as exc:  # the test reads the reason
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:2000]}))
        return 3
    print(json.dumps({"tables": tables}))
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1])
    sys.stdout.flush()
    # Skip the interpreter's teardown: native reader threads (pyarrow, the delta kernel) racing it
    # once aborted a CI run (SIGABRT) after every table had been read and printed.
    os._exit(status)
