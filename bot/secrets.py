"""The secret key ring: secrets at rest sealed with Fernet (keys derived by HKDF).

The ring is DESKHAND_SECRET_KEYS (comma-separated, newest first) or DESKHAND_SECRET_KEY alone (a
ring of one): `seal` uses the first key, `open` whichever key of the ring sealed the text
(MultiFernet). A new key put first therefore leaves every stored secret readable;
`deskhand secrets rotate` (bot/rekey.py) re-seals them with it, after which the old key can be
dropped (docs/security.md, "Rotating the secret key").
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_LENGTH = 16
UNREADABLE = ("stored secret cannot be decrypted: it was sealed with a key that is not in "
              "DESKHAND_SECRET_KEYS (or DESKHAND_SECRET_KEY)")


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"deskhand secrets at rest").derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str):  # it would make a ring of single characters
            raise TypeError("SecretBox takes the list of keys, newest first")
        if not keys:
            raise ValueError("the secret key ring needs at least one key")
        if any(len(key) < MIN_LENGTH for key in keys):
            raise ValueError(f"every secret key (DESKHAND_SECRET_KEY, DESKHAND_SECRET_KEYS) must "
                             f"be at least {MIN_LENGTH} characters")
        self._first = _fernet(keys[0])
        self._ring = MultiFernet([self._first, *(_fernet(key) for key in keys[1:])])

    def seal(self, plaintext: str) -> str:
        return self._ring.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._ring.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(UNREADABLE) from None

    def renew(self, sealed: str) -> str | None:
        """`sealed` re-sealed with the first key when an older key of the ring sealed it; None
        when the first key did; ValueError when no key of the ring opens it."""
        try:
            self._first.decrypt(sealed.encode())
            return None
        except InvalidToken:
            pass
        try:
            return self._ring.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(UNREADABLE) from None


def local_key(path: Path) -> str:
    """The demo's key: created once, readable by the owner only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
