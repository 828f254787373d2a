"""The audit trail's DESKHAND_* setting: how old a row must be before `deskhand audit archive`
may take it out of the database. Nothing prunes the trail on its own."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuditConfig(BaseModel):
    # The archival refuses a cutoff newer than this many days ago (docs/audit.md).
    audit_keep_days: int = Field(365, ge=1, le=36_500, description=(
        "`deskhand audit archive` refuses to prune rows younger than this (days); nothing is "
        "pruned unless an operator runs it"))
