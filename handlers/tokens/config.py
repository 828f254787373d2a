"""DESKHAND_SHARING_*: where the Delta Sharing snapshots are kept and how long file links live."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy.engine import make_url


class SharingConfig(BaseModel):
    sharing_dir: str = Field("", description=(
        "where Delta Sharing snapshots are written; empty: `deskhand-sharing` beside a SQLite "
        "file, else `.deskhand/sharing` under the working directory. Replicas must share it"))
    sharing_url_minutes: int = Field(15, ge=1, le=1440, description=(
        "how long a signed snapshot file URL works (minutes)"))


def snapshot_root(config: SharingConfig, database_url: str) -> Path:
    if config.sharing_dir:
        return Path(config.sharing_dir)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "deskhand-sharing"
    return Path(".deskhand/sharing")
