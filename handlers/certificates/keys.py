"""Key pairs and self-signed certificates for client assertions (RSA 2048, SHA-256, one year).

Entra and Okta both show a certificate by its SHA-1 thumbprint (upper-case hex), so deskhand
names it the same way: in `cert list`, in the file name and in `cert activate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

VALIDITY = timedelta(days=365)
ROLLOVER_AT = 0.9  # share of the active certificate's validity after which a new one is made
THUMBPRINT = re.compile(r"^[0-9A-F]{40}$")


@dataclass(frozen=True)
class KeyPair:
    certificate_pem: str
    private_key_pem: str
    thumbprint: str
    subject: str
    not_before: datetime
    not_after: datetime


def generate(common_name: str, now: datetime) -> KeyPair:
    # Imported here: cryptography's X.509 and RSA layers are ~3 MB that only making a
    # certificate needs (every process imports this module; few ever make one).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    not_before = now.replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_before + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return KeyPair(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode(),
        cert.fingerprint(hashes.SHA1()).hex().upper(), name.rfc4514_string(),
        cert.not_valid_before_utc, cert.not_valid_after_utc)


def rollover_point(not_before: datetime, not_after: datetime) -> datetime:
    return not_before + (not_after - not_before) * ROLLOVER_AT


def parse_thumbprint(value: str) -> str:
    """A SHA-1 thumbprint as people paste it: any case, with or without colons or spaces."""
    cleaned = re.sub(r"[\s:]", "", value).upper()
    if not THUMBPRINT.match(cleaned):
        raise ValueError(f"`{value[:60]}` is not a certificate thumbprint: 40 hexadecimal "
                         "characters (SHA-1), colons allowed, as `cert list` shows them")
    return cleaned
