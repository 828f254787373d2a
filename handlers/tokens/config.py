"""DESKHAND_SHARING_*: where the Delta Sharing snapshots are kept and how long file links live."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy.engine import make_url


class SharingConfig(BaseModel):
    # Empty: beside a SQLite database file, else .deskhand/sharing. With several replicas, a
    # directory they all share (each serves the files of any snapshot).
    sharing_dir: str = ""
    sharing_url_minutes: int = Field(15, ge=1, le=1440)  # the life of a signed file URL


def snapshot_root(config: SharingConfig, database_url: str) -> Path:
    if config.sharing_dir:
        return Path(config.sharing_dir)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "deskhand-sharing"
    return Path(".deskhand/sharing")
