"""libpq's sslmode, sslrootcert, sslcert and sslkey in DESKHAND_DATABASE_URL, as asyncpg's ssl=.

The translation as a unit (each mode, the files, each refusal), then connections to the local
server (which has no TLS): disable and prefer connect, require stops the command with one line.
"""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import load as load_settings
from bot.cli import main
from bot.settings import SettingsError
from handlers.certificates.keys import generate
from storage import migrate
from storage.db import Database
from storage.pg_connect import connect_args, tls_hint

BASE = "postgresql+asyncpg://deskhand:pw@db.internal:5432/deskhand"


@pytest.fixture
def pem(tmp_path: Path) -> tuple[str, str]:
    """A certificate and its private key, as PEM files (a client certificate, or a root)."""
    pair = generate("deskhand-test", datetime.now(UTC))
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    cert.write_text(pair.certificate_pem)
    key.write_text(pair.private_key_pem)
    return str(cert), str(key)


def test_a_url_without_tls_parameters_is_left_alone() -> None:
    url, args = connect_args(BASE + "?prepared_statement_cache_size=50")
    assert args == {}
    assert url.query == {"prepared_statement_cache_size": "50"}


@pytest.mark.parametrize(("mode", "ssl_arg"), [
    ("disable", False), ("allow", "allow"), ("prefer", "prefer")])
def test_modes_without_certificate_checks_go_to_asyncpg_as_they_are(mode: str, ssl_arg: object) -> None:
    url, args = connect_args(f"{BASE}?sslmode={mode}&prepared_statement_cache_size=50")
    assert args == {"ssl": ssl_arg}
    assert url.query == {"prepared_statement_cache_size": "50"}  # sslmode is gone, the rest kept
    assert url.password == "pw" and url.host == "db.internal" and url.database == "deskhand"


def test_require_encrypts_without_checking_the_certificate() -> None:
    _, args = connect_args(f"{BASE}?sslmode=require")
    ctx = args["ssl"]
    assert isinstance(ctx, ssl.SSLContext)
    assert (ctx.verify_mode, ctx.check_hostname) == (ssl.CERT_NONE, False)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_require_with_a_root_certificate_checks_it_as_libpq_does(pem: tuple[str, str]) -> None:
    _, args = connect_args(f"{BASE}?sslmode=require&sslrootcert={pem[0]}")
    assert (args["ssl"].verify_mode, args["ssl"].check_hostname) == (ssl.CERT_REQUIRED, False)
    assert args["ssl"].cert_store_stats()["x509"] == 1


@pytest.mark.parametrize(("mode", "hostname"), [("verify-ca", False), ("verify-full", True)])
def test_verify_modes_check_the_certificate_and_verify_full_the_host(
        pem: tuple[str, str], mode: str, hostname: bool) -> None:
    _, args = connect_args(f"{BASE}?sslmode={mode}&sslrootcert={pem[0]}")
    assert (args["ssl"].verify_mode, args["ssl"].check_hostname) == (ssl.CERT_REQUIRED, hostname)
    _, system = connect_args(f"{BASE}?sslmode={mode}&sslrootcert=system")
    assert system["ssl"].verify_mode == ssl.CERT_REQUIRED  # the system's CAs, as libpq 16


def test_a_client_certificate_and_key_are_loaded(pem: tuple[str, str]) -> None:
    cert, key = pem
    _, args = connect_args(f"{BASE}?sslmode=verify-full&sslrootcert={cert}&sslcert={cert}&sslkey={key}")
    assert isinstance(args["ssl"], ssl.SSLContext)


@pytest.mark.parametrize(("query", "message"), [
    ("sslmode=required", "sslmode=required is not a mode; use one of disable, allow, prefer, "
                         "require, verify-ca, verify-full"),
    ("sslmode=verify-full&sslrootcert=/nowhere/root.crt", "sslrootcert /nowhere/root.crt: no such file"),
    ("sslmode=prefer&sslrootcert=/nowhere/root.crt",
     "sslrootcert needs sslmode=require, verify-ca or verify-full (sslmode=prefer checks no certificate)"),
    ("sslmode=require&sslkey=/nowhere/client.key", "sslkey needs sslcert"),
    ("sslmode=require&ssl=require", "use either asyncpg's ssl= or libpq's sslmode= in the URL, not both"),
])
def test_wrong_tls_parameters_are_refused_with_what_is_allowed(query: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        connect_args(f"{BASE}?{query}")
    assert str(exc.value).startswith(message)


def test_a_file_that_is_not_a_certificate_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "root.crt"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=rf"^sslrootcert {junk}: not a PEM file"):
        connect_args(f"{BASE}?sslmode=verify-ca&sslrootcert={junk}")


def test_a_wrong_sslmode_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("DESKHAND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DESKHAND_DATABASE_URL", f"{BASE}?sslmode=on")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert exc.value.lines == [
        "DESKHAND_DATABASE_URL: sslmode=on is not a mode; use one of disable, allow, prefer, "
        "require, verify-ca, verify-full"]


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["disable", "prefer"])
async def test_disable_and_prefer_connect_to_a_server_without_tls(pg_url: str, mode: str) -> None:
    db = Database(f"{pg_url}?sslmode={mode}")
    try:
        await migrate.upgrade(db.engine)
        assert await migrate.is_current(db.engine)
    finally:
        await db.dispose()


@pytest.mark.postgres
def test_require_against_a_server_without_tls_is_one_clear_line(
        pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in [n for n in os.environ if n.startswith("DESKHAND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DESKHAND_DATABASE_URL", f"{pg_url}?sslmode=require")
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"deskhand: cannot use the database {pg_url}: ")
    assert err.endswith("rejected SSL upgrade; " + str(tls_hint("rejected SSL upgrade")) + "\n")
    assert "the server offers no TLS, and DESKHAND_DATABASE_URL requires it" in err


def test_a_certificate_that_does_not_verify_says_what_to_check() -> None:
    reason = ("cannot use the database postgresql+asyncpg://d@db/d: [SSL: CERTIFICATE_VERIFY_FAILED] "
              "certificate verify failed: self-signed certificate (_ssl.c:1006)")
    assert str(tls_hint(reason)).startswith("the server's certificate did not verify: name its CA")
    assert tls_hint("cannot use the database postgresql+asyncpg://d@db/d: Connect call failed") is None
