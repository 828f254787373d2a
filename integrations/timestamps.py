"""The one reader of vendors' ISO 8601 timestamps (what every vendor package shares).

Workspace ONE, ServiceNow (its value form) and 1E send ISO times, often without a zone, and mean
UTC; a trailing `Z` is not read by `fromisoformat` before Python 3.11's full ISO support, so it is
spelled `+00:00`. Anything unreadable is None rather than an error: a bad timestamp in one record
must not fail a page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def utc_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
