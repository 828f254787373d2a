"""What `deskhand audit archive` says (one voice: what was wrong, what is allowed)."""

from __future__ import annotations

TOO_RECENT = ("--before {cutoff:%Y-%m-%d %H:%M} UTC is within the last {days} days, which "
              "DESKHAND_AUDIT_KEEP_DAYS keeps; give a cutoff on or before {oldest:%Y-%m-%d} "
              "(e.g. --before {days}d), or lower DESKHAND_AUDIT_KEEP_DAYS")
FILE_EXISTS = "{path} already exists; an archive is never overwritten: give --to a new file"
NO_FOLDER = "cannot write {path} ({reason}); give --to a file in a folder this user may write"
NO_TENANT = "there is no tenant {slug!r}; tenants: {known}"
CHANGED = ("the rows to archive changed while they were exported ({exported} exported, {pruned} "
           "would have been pruned; did another archival run?): nothing was written or pruned; "
           "run the archival again")
NOTHING = "no audit rows older than {cutoff:%Y-%m-%d %H:%M} UTC ({scope}): nothing written or pruned"
DONE = ("archived {rows} audit rows older than {cutoff:%Y-%m-%d %H:%M} UTC ({scope}; ids up to "
        "{last_id}) to {path}, then pruned them (archival #{archival})\n"
        "  sha256 {sha256} (also in {sidecar}: check with `sha256sum -c`)")
COMMIT_FAILED = ("the database did not confirm the prune ({reason}); {path} is kept: if the rows "
                 "are still in the audit log, run the archival again with another --to")
ALL_TENANTS = "every tenant"
SCHEMA_AHEAD = ("the database schema (revision {db}) is newer than this deskhand ({code}): run "
                "`deskhand audit archive` with the release that migrated it, so no column is left "
                "out of the archive")
