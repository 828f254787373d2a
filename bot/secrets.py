"""Encrypt integration secrets at rest with DESKHAND_SECRET_KEY (Fernet, key derived by HKDF)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("DESKHAND_SECRET_KEY must be at least 16 characters")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"deskhand secrets at rest").derive(key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("stored secret cannot be decrypted: DESKHAND_SECRET_KEY changed?"
                             ) from None


def local_key(path: Path) -> str:
    """The demo's key: created once, readable by the owner only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
