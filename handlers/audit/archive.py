"""`deskhand audit archive`: the one way audit rows leave the database.

The rows older than a cutoff (and not newer than DESKHAND_AUDIT_KEEP_DAYS allows) are written to
a file, JSON lines or CSV, hashed as they are written; the file is flushed to disk; then, in one
transaction, the archival writes its own audit row in each tenant it prunes, records itself in
audit_archivals (cutoff, last id, count, checksum, file) and deletes exactly the rows it
exported. The database's triggers refuse any other DELETE (migration 0027), and the archival
refuses to prune when the rows changed under it. Nothing runs this on a schedule.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from bot.audit import Audit
from bot.model import new_correlation_id
from handlers.audit import texts
from handlers.audit.commands import cell
from storage.audit import AuditArchival, AuditEvent, AuditRepo
from storage.db import Database
from storage.tenants import TenantRepo

Format = Literal["jsonl", "csv"]
COLUMNS = ("id", "tenant", "at", "correlation_id", "kind", "action", "outcome", "actor_email",
           "actor_principal_id", "platform_identity", "target", "params", "detail")


class ArchiveError(ValueError):
    """The archival did not prune; the message says why and what to do."""


def cutoff_of(when: datetime, keep_days: int) -> datetime:
    oldest = datetime.now(UTC) - timedelta(days=keep_days)
    if when > oldest:
        raise ArchiveError(texts.TOO_RECENT.format(cutoff=when, days=keep_days, oldest=oldest))
    return when


def record(event: AuditEvent, slugs: dict[int, str]) -> dict[str, Any]:
    return {"id": event.id, "tenant": slugs.get(event.tenant_id, str(event.tenant_id)),
            "at": event.at.isoformat(), "correlation_id": event.correlation_id,
            "kind": event.kind, "action": event.action, "outcome": event.outcome,
            "actor_email": event.actor_email, "actor_principal_id": event.actor_principal_id,
            "platform_identity": event.platform_identity, "target": event.target,
            "params": event.params, "detail": event.detail}


class ArchiveFile:
    """The export: `<path>.partial` while written (never over an existing file), hashed as
    written, renamed to `path` with a `sha256sum` file beside it once the rows are pruned."""

    def __init__(self, path: Path, fmt: Format) -> None:
        self.path, self.fmt = path, fmt
        self.partial = path.with_name(path.name + ".partial")
        self.sidecar = path.with_name(path.name + ".sha256")
        self.hash = hashlib.sha256()
        self._out: IO[bytes] | None = None

    def create(self) -> None:
        for taken in (self.path, self.sidecar):
            if taken.exists():
                raise ArchiveError(texts.FILE_EXISTS.format(path=taken))
        try:
            # owner-only: the archive holds emails and commands; closed by close() or discard()
            self._out = os.fdopen(os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                                  "wb")
        except OSError as exc:
            raise ArchiveError(texts.NO_FOLDER.format(path=self.path, reason=exc.strerror)) from None
        if self.fmt == "csv":
            self._put(self._csv([list(COLUMNS)]))

    def write(self, records: list[dict[str, Any]]) -> None:
        if self.fmt == "csv":
            rows = [[_csv_value(r[c]) for c in COLUMNS] for r in records]
            self._put(self._csv(rows))
        else:
            self._put("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))

    def close(self) -> None:
        assert self._out is not None
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()

    def publish(self) -> None:
        """Before the prune commits: the file is in place whenever rows are gone."""
        os.replace(self.partial, self.path)
        with os.fdopen(os.open(self.sidecar, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(f"{self.hash.hexdigest()}  {self.path.name}\n")
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def discard(self) -> None:
        """Only the unpublished export: a published one may be all that is left of its rows."""
        if self._out is not None and not self._out.closed:
            self._out.close()
        self.partial.unlink(missing_ok=True)

    def _put(self, text: str) -> None:
        assert self._out is not None
        data = text.encode()
        self.hash.update(data)
        self._out.write(data)

    @staticmethod
    def _csv(rows: list[list[Any]]) -> str:
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return cell(value) if isinstance(value, str) else ("" if value is None else value)


@dataclass(frozen=True)
class Archived:
    rows: int
    cutoff: datetime
    last_id: int = 0
    sha256: str = ""
    archival: int = 0


async def archive(db: Database, cutoff: datetime, out: ArchiveFile, tenant_id: int | None,
                  scope: str, by: str = "cli") -> Archived:
    """Export, then prune in one transaction; `rows` is 0 when nothing was old enough."""
    await asyncio.to_thread(out.create)
    published = False
    try:
        async with db.uow() as uow:
            audit = uow.repo(AuditRepo)
            last_id = await audit.newest_id()
            slugs = await uow.repo(TenantRepo).slugs()
            per_tenant: Counter[int] = Counter()
            after = 0
            while batch := await audit.archivable(cutoff, last_id, tenant_id, after_id=after):
                await asyncio.to_thread(out.write, [record(e, slugs) for e in batch])
                per_tenant.update(e.tenant_id for e in batch)
                after = batch[-1].id
            await asyncio.to_thread(out.close)
            total = sum(per_tenant.values())
            if not total:
                await asyncio.to_thread(out.discard)
                return Archived(0, cutoff)
            sha256 = out.hash.hexdigest()
            params = {"cutoff": cutoff.isoformat(), "last_id": last_id, "rows": total,
                      "sha256": sha256, "file": str(out.path), "format": out.fmt, "scope": scope}
            cid = new_correlation_id()
            for tenant, rows in sorted(per_tenant.items()):  # before the prune: see AuditRepo.prune
                await Audit.add(uow, tenant, "command", "audit archive", "ok", correlation_id=cid,
                                actor_label=by, target=out.path.name,
                                params={**params, "tenant_rows": rows})
            archival = AuditArchival(
                tenant_id=tenant_id, cutoff=cutoff, last_id=last_id, row_count=total, sha256=sha256,
                file_name=str(out.path)[:500], file_format=out.fmt, archived_by=by)
            pruned = await audit.prune(archival)
            if pruned != total:  # the unit of work rolls back: nothing pruned
                raise ArchiveError(texts.CHANGED.format(exported=total, pruned=pruned))
            await asyncio.to_thread(out.publish)
            published = True
            try:
                await uow.commit()
            except Exception as exc:
                raise ArchiveError(texts.COMMIT_FAILED.format(
                    reason=type(exc).__name__, path=out.path)) from None
            return Archived(total, cutoff, last_id, sha256, archival.id)
    except BaseException:
        if not published:
            await asyncio.to_thread(out.discard)
        raise
