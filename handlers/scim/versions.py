"""Resource versions (RFC 7644 3.14): `meta.version` and the ETag header are a digest of what
the resource says, so any change to it, by SCIM or by deskhand, gives a new version without a
counter to keep. `If-Match` on PUT, PATCH and DELETE is compared under the row's lock (a
mismatch is 412, nothing written); `If-None-Match` on GET answers 304 when unchanged. Tags are
weak (`W/"..."`) and compared weakly, as the RFC's own examples do.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import scim2_models as scim
from aiohttp import web

from handlers.scim import texts

_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def of(*content: Any) -> str:
    """The version of a resource whose content is `content` (JSON-serialisable)."""
    raw = orjson.dumps(content, option=orjson.OPT_SORT_KEYS, default=str)
    return f'W/"{hashlib.sha256(raw).hexdigest()[:20]}"'


def _opaque(header: str) -> set[str]:
    return set(_TAG.findall(header))


def check(request: web.Request, current: str | None) -> None:
    """Refuse the write with 412 when the request's If-Match names another version."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return
    if current is None or not _opaque(current) & _opaque(header):
        raise scim.PreconditionFailedException(detail=texts.CHANGED.format(version=current))


def unchanged(request: web.Request, current: str | None) -> bool:
    """The request's If-None-Match names this version (a GET may answer 304)."""
    header = request.headers.get("If-None-Match")
    if header is None or current is None:
        return False
    return header.strip() == "*" or bool(_opaque(current) & _opaque(header))
