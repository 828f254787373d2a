"""The Delta Sharing protocol's shapes (integrations.md 6): error bodies, page tokens, request
checks and ndjson lines. Nothing here knows deskhand's tables."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

NDJSON = "application/x-ndjson"
VERSION_HEADER = "Delta-Table-Version"
MAX_BODY = 64 * 1024  # a query body is a few hints; anything bigger is refused unread
MAX_NAME = 255
DEFAULT_PAGE = 500


class ProtocolError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        headers = {"WWW-Authenticate": 'Bearer realm="deskhand"'} if self.status == 401 else None
        return web.json_response({"errorCode": self.code, "message": self.message},
                                 status=self.status, headers=headers)


def bad(message: str, code: str = "INVALID_PARAMETER_VALUE") -> ProtocolError:
    return ProtocolError(400, code, message)


def digits(value: str, most: int = 19) -> bool:
    """ASCII digits only, and few enough for int() ("²".isdigit() is True; int() refuses
    thousands of digits)."""
    return value.isascii() and value.isdigit() and len(value) <= most


def missing(what: str) -> ProtocolError:
    return ProtocolError(404, "RESOURCE_DOES_NOT_EXIST", f"{what} does not exist or is not shared")


def unauthenticated(message: str) -> ProtocolError:
    return ProtocolError(401, "UNAUTHENTICATED", message)


def name(value: str, what: str) -> str:
    """A share, schema or table name from the path, compared case-insensitively."""
    if len(value) > MAX_NAME or any(c in value for c in " /") or not value.isprintable():
        raise bad(f"{what} name is not valid: at most {MAX_NAME} characters, no spaces, slashes "
                  "or control characters")
    return value.lower()


def page(request: web.Request, items: Sequence[dict[str, Any]], kind: str) -> dict[str, Any]:
    """`{"items": [...], "nextPageToken": ...}` for a list endpoint's maxResults and pageToken."""
    raw_max = request.query.get("maxResults")
    limit = DEFAULT_PAGE
    if raw_max is not None:
        if not digits(raw_max) or int(raw_max) > 2**31 - 1:
            raise bad(f"maxResults must be a whole number from 0 to {2**31 - 1}")
        limit = int(raw_max) or DEFAULT_PAGE
    start = _offset(request.query.get("pageToken"), kind)
    body: dict[str, Any] = {"items": list(items[start:start + limit])}
    if start + limit < len(items):
        body["nextPageToken"] = _token(start + limit, kind)
    return body


def _token(offset: int, kind: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([kind, offset]).encode()).decode().rstrip("=")


def _offset(token: str | None, kind: str) -> int:
    if not token:
        return 0
    try:
        found = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise bad("pageToken is not one this server gave out") from None
    if not (isinstance(found, list) and len(found) == 2 and found[0] == kind
            and isinstance(found[1], int) and found[1] >= 0):
        raise bad("pageToken is not one this server gave out")
    return int(found[1])


async def json_body(request: web.Request) -> dict[str, Any]:
    """The query's JSON object, read only up to MAX_BODY bytes."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY:
        raise bad(f"the request body is larger than {MAX_BODY} bytes", "MALFORMED_REQUEST")
    raw = b""
    while len(raw) <= MAX_BODY:  # read() returns what has arrived so far, not the whole body
        chunk = await request.content.read(MAX_BODY + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > MAX_BODY:
        raise bad(f"the request body is larger than {MAX_BODY} bytes", "MALFORMED_REQUEST")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[... nested
        raise bad("the request body is not JSON", "MALFORMED_REQUEST") from None
    if not isinstance(body, dict):
        raise bad("the request body must be a JSON object", "MALFORMED_REQUEST")
    return body


def whole(body: dict[str, Any], key: str, low: int = 0) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 2**63 - 1:
        raise bad(f"{key} must be a whole number of at least {low}")
    return value


def ndjson(lines: Sequence[dict[str, Any]], version: int) -> web.Response:
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return web.Response(text=text, content_type=NDJSON, charset="utf-8",
                        headers={VERSION_HEADER: str(version)})
