"""Parquet snapshots of each tenant's shared datasets (written by parquet.py, with pyarrow).

A snapshot is a directory `<root>/<tenant>/<dataset>/v<version>/` of parquet parts and a
`manifest.json`; it is written under a temporary name and renamed into place, so a reader sees
a whole version or none. Versions count up from 1 (the Delta table version); the two newest are
kept, so a file URL handed out just before a refresh still works.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database
from storage.sharing import DATASETS, columns

ROWS_PER_FILE = 1_000_000  # the Layout of new snapshots (parquet.py)
ROW_GROUP = 250_000
BATCH = 25_000
KEEP = 2
DELTA = {"long": "long", "boolean": "boolean", "timestamp": "timestamp", "string": "string",
         "json": "string"}


@dataclass(frozen=True)
class Part:
    name: str
    rows: int
    size: int


@dataclass(frozen=True)
class Layout:
    rows_per_file: int
    row_group: int
    batch: int  # rows read from the database at a time


@dataclass(frozen=True)
class Snapshot:
    tenant_id: int
    dataset: str
    version: int
    written_at: datetime
    parts: tuple[Part, ...]
    path: Path

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)


def schema_string(dataset: str) -> str:
    """The table's schema as Delta writes it (Spark's struct JSON)."""
    return json.dumps({"type": "struct", "fields": [
        {"name": n, "type": DELTA[k], "nullable": True, "metadata": {}}
        for n, k in columns(dataset)]}, separators=(",", ":"))


class Snapshots:
    def __init__(self, root: Path, db: Database) -> None:
        self.root, self.db = root, db
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def _dir(self, tenant_id: int, dataset: str) -> Path:
        return self.root / str(tenant_id) / dataset

    def versions(self, tenant_id: int, dataset: str) -> list[int]:
        folder = self._dir(tenant_id, dataset)
        if not folder.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in folder.iterdir()
                      if p.name.startswith("v") and p.name[1:].isdigit())

    def get(self, tenant_id: int, dataset: str, version: int | None = None) -> Snapshot | None:
        """A written snapshot: `version`, or the newest; None when there is none."""
        versions = self.versions(tenant_id, dataset)
        if version is None and versions:
            version = versions[-1]
        if version is None or version not in versions:
            return None
        path = self._dir(tenant_id, dataset) / f"v{version}"
        manifest = json.loads((path / "manifest.json").read_text())
        return Snapshot(tenant_id, dataset, version, datetime.fromisoformat(manifest["written_at"]),
                        tuple(Part(**p) for p in manifest["parts"]), path)

    def part_path(self, tenant_id: int, dataset: str, version: int, index: int) -> Path | None:
        snapshot = self.get(tenant_id, dataset, version)
        if snapshot is None or not 0 <= index < len(snapshot.parts):
            return None
        return snapshot.path / snapshot.parts[index].name

    async def current(self, tenant_id: int, dataset: str) -> Snapshot:
        """The newest snapshot, written now if the tenant has none yet."""
        return self.get(tenant_id, dataset) or await self.refresh(tenant_id, dataset, missing=True)

    async def refresh(self, tenant_id: int, dataset: str, *, missing: bool = False) -> Snapshot:
        """Write a new version from the database (with `missing`, only if there is none: several
        first readers at once get one snapshot); one writer at a time per table here."""
        lock = self._locks.setdefault((tenant_id, dataset), asyncio.Lock())
        async with lock:
            if missing and (found := self.get(tenant_id, dataset)) is not None:
                return found
            folder = self._dir(tenant_id, dataset)
            folder.mkdir(parents=True, exist_ok=True)
            versions = self.versions(tenant_id, dataset)
            version = (versions[-1] if versions else 0) + 1
            temp = folder / f".tmp-{uuid.uuid4().hex}"
            temp.mkdir()
            try:
                parts = await self._write(tenant_id, dataset, temp)
                (temp / "manifest.json").write_text(json.dumps({
                    "written_at": datetime.now(UTC).isoformat(),
                    "parts": [p.__dict__ for p in parts]}))
                try:
                    temp.rename(folder / f"v{version}")
                except OSError:  # another replica sharing the folder wrote this version first
                    if (found := self.get(tenant_id, dataset)) is None:
                        raise
                    return found
            finally:
                shutil.rmtree(temp, ignore_errors=True)
            for old in versions[:len(versions) - (KEEP - 1)]:
                shutil.rmtree(folder / f"v{old}", ignore_errors=True)
        snapshot = self.get(tenant_id, dataset, version)
        assert snapshot is not None
        return snapshot

    async def _write(self, tenant_id: int, dataset: str, folder: Path) -> list[Part]:
        # pyarrow (~30 MB) is imported by the first snapshot, not by every process at start.
        from handlers.tokens import parquet

        return await parquet.write_parts(self.db, tenant_id, dataset, folder,
                                         Layout(ROWS_PER_FILE, ROW_GROUP, BATCH))

    async def refresh_all(self, tenant_ids: Sequence[int]) -> None:
        for tenant_id in tenant_ids:
            for dataset in DATASETS:
                await self.refresh(tenant_id, dataset)
