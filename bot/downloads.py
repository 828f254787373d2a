"""Short-lived signed download links: the link carries the request, not the file.

The file is generated when the link is opened, after the requester's permission is
checked again, so nothing sits on disk and any replica can serve it. Links are signed with the
first key of the secret key ring and verified with any of its keys (bot/secrets.py), so links
handed out just before a new key was put first still open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

DEFAULT_TTL = 15 * 60
INVALID = "this download link is not valid"


class LinkError(ValueError):
    pass


class Downloads:
    def __init__(self, keys: Sequence[str], public_url: str) -> None:
        if isinstance(keys, str) or not keys:  # a string would make keys of its characters
            raise TypeError("Downloads takes the list of keys, newest first")
        self._keys = [hashlib.sha256(b"deskhand downloads\0" + k.encode()).digest() for k in keys]
        self._base = public_url.rstrip("/")

    def sign(self, kind: str, payload: dict[str, Any], ttl: int = DEFAULT_TTL) -> str:
        body = json.dumps({"k": kind, "p": payload, "e": int(time.time()) + ttl},
                          separators=(",", ":"), sort_keys=True).encode()
        token = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{token}.{_signature(self._keys[0], token)}"

    def url(self, kind: str, payload: dict[str, Any], ttl: int = DEFAULT_TTL) -> str:
        return f"{self._base}/downloads/{self.sign(kind, payload, ttl)}"

    def verify(self, token: str) -> tuple[str, dict[str, Any]]:
        body, _, sig = token.partition(".")
        if not (body.isascii() and sig.isascii()):  # percent-decoded bytes of anything
            raise LinkError(INVALID)
        if not sig or not any(hmac.compare_digest(sig, _signature(key, body)) for key in self._keys):
            raise LinkError(INVALID)
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise LinkError(INVALID) from None
        if not (isinstance(data, dict) and isinstance(data.get("k"), str)
                and isinstance(data.get("p"), dict) and isinstance(data.get("e"), int)):
            raise LinkError(INVALID)
        if data["e"] < time.time():
            raise LinkError("this download link has expired; ask for a new export")
        return data["k"], data["p"]


def _signature(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:32]
