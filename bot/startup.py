"""Why deskhand cannot start, in one line: what is wrong and what to do.

Whatever stops a command before it does its work (a missing secret key, a database it cannot
reach or whose schema it cannot run on, a port in use) is one of `KNOWN`; bot/cli.py prints
`deskhand: <line>` for it on stderr and exits 2, with no traceback. Invalid settings
(bot/settings.SettingsError) are said the same way, a line per setting.
"""

from __future__ import annotations

import errno
import socket

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.secrets import SecretBox
from bot.settings import CoreSettings
from storage import migrate
from storage.db import DatabaseUnavailable, is_sqlite
from storage.pg_connect import tls_hint


class StartupError(Exception):
    """A known reason this command cannot start; the message is the whole line."""


KNOWN = (StartupError, DatabaseUnavailable, migrate.SchemaAhead)
UPGRADE_DB = "run `deskhand db upgrade` (with this release), then start again"
UPGRADE_PACKAGE = "upgrade the deskhand package here to the release that migrated it"


def newer_schema(schema: migrate.Schema) -> str:
    said = f"the database schema (revision {schema.database}) is newer than this deskhand ({schema.code})"
    if schema.state == "compatible":
        return f"{said}, which still runs on it: nothing to upgrade here; {UPGRADE_PACKAGE}"
    needs = f" (it needs code at revision {schema.min_code} or later)" if schema.min_code else ""
    return f"{said}, which cannot run on it{needs}; {UPGRADE_PACKAGE}"


def schema_problem(schema: migrate.Schema) -> str | None:
    if schema.usable:
        return None
    if schema.state == "newer":
        return newer_schema(schema)
    if schema.database is None:
        return f"the database has no deskhand schema yet; {UPGRADE_DB}"
    return (f"the database schema is not current (revision {schema.database}, this deskhand "
            f"needs {schema.code}); {UPGRADE_DB}")


async def require_schema(engine: AsyncEngine) -> migrate.Schema:
    """The schema, if this code runs on it (current, or ahead by compatible migrations)."""
    schema = await migrate.state(engine)
    problem = schema_problem(schema)
    if problem is not None:
        raise StartupError(problem)
    return schema


def secret_box(settings: CoreSettings) -> SecretBox:
    """The secret key ring (bot/secrets.py); a StartupError when no key is given or one is too
    short. Whatever seals or opens stored secrets gets its ring here."""
    keys = settings.secret_ring
    if not keys:
        raise StartupError("DESKHAND_SECRET_KEY is not set (it encrypts integration secrets and "
                           "signs download links); set it to a long random value, e.g. from "
                           "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
                           "and keep it: stored secrets need it (to replace it later, give a ring "
                           "in DESKHAND_SECRET_KEYS: docs/security.md)")
    try:
        return SecretBox(keys)
    except ValueError as exc:
        raise StartupError(str(exc)) from None


def check_listen(host: str, port: int, setting: str = "DESKHAND") -> None:
    """Bind (and let go of) the listener's address before anything starts: a port in use is
    said at once, not after the runtime came up and had to be stopped again. `setting` is the
    prefix of the host and port settings the line names (DESKHAND_METRICS for /metrics')."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in addresses:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
                probe.bind(address)
    except OSError as exc:
        failed = listen_failed(exc, host, port, setting)
        if failed is None:
            raise
        raise failed from None


def listen_failed(exc: OSError, host: str, port: int,
                  setting: str = "DESKHAND") -> StartupError | None:
    """The line for a listener that cannot bind; None for another OSError."""
    if exc.errno == errno.EADDRINUSE:
        return StartupError(f"port {port} on {host} is already in use; stop what listens there "
                            f"or set {setting}_PORT to a free port")
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES) or isinstance(exc, socket.gaierror):
        return StartupError(f"cannot listen on {host}:{port} ({exc.strerror}); set {setting}_HOST "
                            f"to an address of this machine and {setting}_PORT to a port this "
                            "user may open")
    return None


def line(exc: BaseException) -> str:
    """The one line for one of KNOWN."""
    if isinstance(exc, migrate.SchemaAhead):
        return newer_schema(exc.schema)
    if isinstance(exc, DatabaseUnavailable):
        if is_sqlite(exc.url):
            return f"{exc}; check DESKHAND_DATABASE_URL and that this user may write its folder"
        return f"{exc}; " + (tls_hint(str(exc)) or "check DESKHAND_DATABASE_URL and that the "
                              "database server is running and reachable from here")
    return str(exc)
