"""The published JSON Schemas the tests validate against (Slack and Teams manifests, Adaptive
Card 1.5), read in place and never copied into this repository.

One place says where they are: DESKHAND_SHARED_SCHEMAS when set, else `../shared/schemas` beside
the checkout. A schema that is not there skips its test with the reason (the README says how to
run them), or fails it when CI=true, so CI never passes without them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ENV = "DESKHAND_SHARED_SCHEMAS"
CHECKOUT = Path(__file__).resolve().parents[2]


def schemas_dir() -> Path:
    return Path(os.environ.get(ENV) or CHECKOUT.parent / "shared" / "schemas")


def load(name: str) -> dict[str, Any] | None:
    """The schema `name`, or None when the folder does not hold it."""
    path = schemas_dir() / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def require(name: str) -> dict[str, Any]:
    """The schema `name`; without it the test is skipped (failed when CI=true) with the reason."""
    found = load(name)
    if found is None:
        reason = (f"the published schema {name} is not in {schemas_dir()}: set {ENV} to the folder "
                  "holding it (README, \"Run the tests\")")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found
