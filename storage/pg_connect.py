"""Connecting to PostgreSQL over TLS: libpq's parameters in the URL, and what a TLS failure means.

Every PostgreSQL guide writes `sslmode`, but SQLAlchemy hands the URL's query parameters to
`asyncpg.connect()` as keyword arguments and asyncpg takes none of libpq's names (`TypeError:
connect() got an unexpected keyword argument 'sslmode'`). `connect_args` takes them out of the
URL and gives asyncpg the same meaning as its `ssl=` argument: False for disable; the mode's name
for allow and prefer (asyncpg does their fallbacks itself); an SSLContext for require, verify-ca
and verify-full, built from sslrootcert, sslcert and sslkey.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL, make_url

MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
FILES = ("sslrootcert", "sslcert", "sslkey")
SYSTEM = "system"  # sslrootcert=system: the operating system's CA certificates (as libpq 16)


def connect_args(url: str | URL) -> tuple[URL, dict[str, Any]]:
    """The URL without libpq's TLS parameters, and asyncpg's `ssl=` for them ({} if none).

    ValueError, saying what is allowed, for an unknown mode, a file that cannot be read, or
    certificate files with a mode that never checks them.
    """
    parsed = make_url(url)
    query = dict(parsed.query)
    given = {name: query.pop(name) for name in ("sslmode", *FILES) if name in query}
    if not given:
        return parsed, {}
    values = {k: v if isinstance(v, str) else v[-1] for k, v in given.items()}
    if "ssl" in query:
        raise ValueError("use either asyncpg's ssl= or libpq's sslmode= in the URL, not both")
    mode = values.get("sslmode", "prefer")
    if mode not in MODES:
        raise ValueError(f"sslmode={mode} is not a mode; use one of {', '.join(MODES)}")
    stripped = parsed.set(query=query)
    files = {k: v for k, v in values.items() if k in FILES}
    if mode == "disable" and not files:
        return stripped, {"ssl": False}
    if mode in ("disable", "allow", "prefer"):
        if files:
            verb = "needs" if len(files) == 1 else "need"
            raise ValueError(f"{', '.join(sorted(files))} {verb} sslmode=require, verify-ca or "
                             f"verify-full (sslmode={mode} checks no certificate)")
        return stripped, {"ssl": mode}
    return stripped, {"ssl": _context(mode, files)}


def _context(mode: str, files: dict[str, str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    root = files.get("sslrootcert")
    # As libpq: require checks the server's certificate only when a root certificate is named;
    # verify-ca and verify-full always do (the system's CAs when none is named), verify-full
    # also checks that the certificate names the host.
    verify = mode != "require" or root is not None
    ctx.check_hostname = mode == "verify-full"
    ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    if verify:
        if root is None or root == SYSTEM:
            ctx.load_default_certs()
        else:
            _load(lambda: ctx.load_verify_locations(cafile=root), "sslrootcert", root)
    cert, key = files.get("sslcert"), files.get("sslkey")
    if key and not cert:
        raise ValueError("sslkey needs sslcert (the client certificate it belongs to)")
    if cert:
        _load(lambda: ctx.load_cert_chain(cert, keyfile=key or None),
              "sslcert" if not key else "sslcert/sslkey", f"{cert}" + (f", {key}" if key else ""))
    return ctx


def _load(read: Callable[[], object], name: str, path: str) -> None:
    try:
        read()
    except FileNotFoundError:
        raise ValueError(f"{name} {path}: no such file") from None
    except PermissionError:
        raise ValueError(f"{name} {path}: not readable by this user") from None
    except ssl.SSLError as exc:
        raise ValueError(f"{name} {path}: not a PEM file of the right kind ({exc.reason})") from None


def tls_hint(reason: str) -> str | None:
    """What to do when connecting failed for TLS (`reason`: the driver's own line), else None."""
    if "rejected SSL upgrade" in reason:
        return ("the server offers no TLS, and DESKHAND_DATABASE_URL requires it (sslmode=require, "
                "verify-ca or verify-full): turn ssl on in the server, or use sslmode=prefer or "
                "disable on a network you trust")
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return ("the server's certificate did not verify: name its CA with sslrootcert=, and with "
                "sslmode=verify-full connect by the host name the certificate is for")
    return None
