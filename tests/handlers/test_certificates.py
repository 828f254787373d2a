"""IdP certificates: generation, the 90% rollover on a test clock, `cert download`'s file name,
and `cert activate` through chat against the IdP simulator over real HTTP (Okta over http,
Entra through msal over TLS), succeeding only for a certificate uploaded to the IdP."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from bot import rbac_admin
from bot.bootstrap import build_runtime
from bot.rbac_admin import Granter
from bot.runtime import Runtime
from handlers.certificates.keys import VALIDITY, generate
from handlers.certificates.lifecycle import CERTIFICATES, ensure
from integrations.idp.simulator import IdpSimulator, serve_tls
from integrations.simulator_kit import serve
from storage.audit import AuditEvent
from storage.certificates import CertificateRepo, IdpCertificate
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server
from tests.handlers.test_remote import ALEX, SAM, button, console

CLIENT = "0oa-deskhand-test"
NINA = "nina.new@example.com"
CONFIRM = "I've uploaded and configured this certificate"


def tls_files(tmp_path: Path) -> tuple[str, str]:
    """A self-signed server certificate for 127.0.0.1 (the simulator's TLS), and its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp simulator")])
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "idp-tls.pem", tmp_path / "idp-tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@asynccontextmanager
async def idp_server(tmp_path: Path, kind: str = "okta", configured: bool = True
                     ) -> AsyncIterator[tuple[LiveServer, IdpSimulator]]:
    """deskhand on loopback and the IdP simulator on another port (TLS for Entra: msal wants it)."""
    sim = IdpSimulator()
    settings: dict[str, Any] = {}
    if kind == "entra":
        cert_file, key_file = tls_files(tmp_path)
        sim_runner, base = await serve_tls(sim, cert_file, key_file)
        settings = {"idp_token_url": f"{base}/contoso/oauth2/v2.0/token", "idp_ca_file": cert_file}
    else:
        sim_runner, base = await serve(sim)
        settings = {"idp_token_url": f"{base}/oauth2/default/v1/token"}
    if configured:
        settings.update(idp_kind=kind, idp_client_id=CLIENT)
    else:
        settings = {}
    port = free_port()
    runner, live = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}", **settings))
    try:
        yield live, sim
    finally:
        await runner.cleanup()
        await sim_runner.cleanup()


async def certificates(rt: Runtime) -> Sequence[IdpCertificate]:
    async with rt.db.uow() as uow:
        q = select(IdpCertificate).order_by(IdpCertificate.id)
        return (await uow.session.execute(q)).scalars().all()


async def events(rt: Runtime, action: str) -> Sequence[AuditEvent]:
    async with rt.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return (await uow.session.execute(q)).scalars().all()


async def available_now(rt: Runtime) -> IdpCertificate:
    """Another available certificate made today (as if the rollover had run), not uploaded."""
    pair = generate("deskhand second", datetime.now(UTC))
    async with rt.db.uow() as uow:
        row = await uow.repo(CertificateRepo).add(IdpCertificate(
            tenant_id=rt.tenant_id, thumbprint=pair.thumbprint, subject=pair.subject,
            state="available", not_before=pair.not_before, not_after=pair.not_after,
            certificate_pem=pair.certificate_pem, private_key=rt.secrets.seal(pair.private_key_pem)))
        await uow.commit()
    return row


def text_of(message: dict[str, Any]) -> str:
    return str(message["card"]["fallback"])


async def test_generated_when_none_exists_valid_a_year_key_sealed(runtime: Runtime) -> None:
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    made = await ensure(runtime, runtime.tenant_id, now)
    assert made is not None and await ensure(runtime, runtime.tenant_id, now) is None  # one is enough
    [row] = await certificates(runtime)
    cert = x509.load_pem_x509_certificate(row.certificate_pem.encode())
    assert (row.state, row.not_before, row.not_after) == ("available", now, now + VALIDITY)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=365)
    assert row.thumbprint == cert.fingerprint(hashes.SHA1()).hex().upper()
    assert row.subject == "CN=deskhand acme"
    assert "PRIVATE KEY" not in row.private_key  # sealed at rest
    key = serialization.load_pem_private_key(runtime.secrets.open(row.private_key).encode(), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    [event] = await events(runtime, "certificate.generate")
    assert (event.kind, event.target) == ("infrastructure", row.thumbprint)
    assert "certificates.rollover" in runtime.scheduler.jobs


async def test_concurrent_first_sights_make_one_certificate(runtime: Runtime) -> None:
    """The rollover job and `cert list` in one process at once: one key pair, not several."""
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    made = await asyncio.gather(*(ensure(runtime, runtime.tenant_id, now) for _ in range(3)))
    assert len([m for m in made if m is not None]) == 1
    assert len(await certificates(runtime)) == 1


@pytest.fixture
async def any_runtime(db_url: str) -> AsyncIterator[Runtime]:
    """A started runtime on SQLite and on PostgreSQL."""
    rt = build_runtime(make_settings(db_url))
    await rt.start(upgrade=True)
    yield rt
    await rt.stop()


async def test_rollover_makes_a_new_available_one_at_90_percent(any_runtime: Runtime) -> None:
    runtime = any_runtime
    start = datetime(2027, 1, 1, tzinfo=UTC)
    first = await ensure(runtime, runtime.tenant_id, start)
    assert first is not None
    async with runtime.db.uow() as uow:
        assert await CERTIFICATES.move(uow, runtime.tenant_id, first.id, "available", "active")
        await uow.commit()
    ninety = start + VALIDITY * 0.9
    assert await ensure(runtime, runtime.tenant_id, ninety - timedelta(minutes=1)) is None
    second = await ensure(runtime, runtime.tenant_id, ninety)
    assert second is not None and second.not_before == ninety.replace(microsecond=0)
    # a fresh one is waiting
    assert await ensure(runtime, runtime.tenant_id, ninety + timedelta(days=20)) is None
    assert [(r.state, r.id) for r in await certificates(runtime)] == [
        ("active", first.id), ("available", second.id)]
    # Nobody activated it either: once it too is 90% through, a third is made.
    third = await ensure(runtime, runtime.tenant_id, ninety + VALIDITY * 0.9)
    assert third is not None and len(await certificates(runtime)) == 3
    async with runtime.db.uow() as uow:
        repo = uow.repo(CertificateRepo)
        assert [r.id for r in await repo.current(runtime.tenant_id)] == [first.id, third.id, second.id]
        found = await repo.by_thumbprint(runtime.tenant_id, second.thumbprint)
        assert found is not None and found.id == second.id


async def test_list_and_download_link_gives_thumbprint_pem(tmp_path: Path) -> None:
    async with idp_server(tmp_path) as (server, _):
        async with console(server, ALEX) as alex:
            listed = await alex.say("cert list")  # makes the first one on first sight
            [row] = await certificates(server.runtime)
            table = next(s for s in listed["card"]["sections"] if s["type"] == "table")
            assert [r[:3] for r in table["rows"]] == [["available", row.thumbprint, row.subject]]
            spaced = ":".join(row.thumbprint[i:i + 2] for i in range(0, 40, 2)).lower()
            message = await alex.say(f"cert download {spaced}")  # as a portal shows it
        link = button(message, f"Download {row.thumbprint}.pem")["url"]
        async with aiohttp.ClientSession() as http, http.get(link) as r:
            assert r.status == 200
            assert r.headers["Content-Disposition"] == f'attachment; filename="{row.thumbprint}.pem"'
            body = await r.text()
        assert body == row.certificate_pem and "PRIVATE KEY" not in body
        [event] = await events(server.runtime, "certificate.download")
        assert (event.kind, event.actor_email, event.target) == ("infrastructure", ALEX, row.thumbprint)


async def test_download_is_uploaded_as_a_file_in_slack(tmp_path: Path) -> None:
    from tests.fakes.slack_api import ALEX as SLACK_ALEX
    from tests.fakes.slack_api import slack_env

    async with slack_env(tmp_path) as env:
        row = await ensure(env.server.runtime, env.server.runtime.tenant_id)
        assert row is not None
        status, _, _ = await env.command(SLACK_ALEX, "/deskhand", f"cert download {row.thumbprint}")
        assert status == 200
        await env.fake.wait_for("files.completeUploadExternal")
        await env.idle()
        [content] = env.fake.uploads.values()
        assert content.decode() == row.certificate_pem
        [asked] = env.fake.called("files.getUploadURLExternal")
        assert asked.args["filename"] == f"{row.thumbprint}.pem"


async def test_bad_thumbprint_and_missing_permission_are_refused(tmp_path: Path) -> None:
    async with idp_server(tmp_path) as (server, _):
        async with console(server, ALEX) as alex, console(server, SAM) as sam:
            bad = await alex.say("cert activate 12345")
            assert bad["card"]["title"] == "Check the command"
            assert "40 hexadecimal characters" in text_of(bad)
            unknown = await alex.say(f"cert download {'AB' * 20}")
            assert unknown["card"]["title"] == "Unknown certificate"
            denied = await sam.say("cert list")
            assert denied["card"]["title"] == "Not allowed" and "certificate.read" in text_of(denied)


async def _activate(client: Any, thumbprint: str) -> dict[str, Any]:
    asked = await client.say(f"cert activate {thumbprint}")
    assert asked["card"]["title"] == f"Activate certificate {thumbprint}?" and asked["private"]
    await client.click(asked, button(asked, CONFIRM))
    return await _answer(client)


async def _answer(client: Any) -> dict[str, Any]:
    """The click's answer: the card replaced in place (activated) or a private refusal."""
    while True:
        data = await asyncio.wait_for(client.ws.receive_json(), 15)
        if data["type"] in ("message", "update") and data["message"].get("kind") == "card":
            return dict(data["message"])


@pytest.mark.parametrize("kind", ["okta", "entra"])
async def test_activation_succeeds_only_for_an_uploaded_certificate(tmp_path: Path, kind: str) -> None:
    async with idp_server(tmp_path, kind) as (server, sim):
        rt = server.runtime
        first = await ensure(rt, rt.tenant_id)
        assert first is not None
        async with rt.db.uow() as uow:  # an Infrastructure Admin, not a Full Administrator
            await rbac_admin.grant(uow, rt.tenant_id, Granter("test"), "Infrastructure Admin",
                                   email=NINA)
            await uow.commit()
        sim.trust(CLIENT, first.certificate_pem)  # the admin uploaded it to the IdP app
        async with console(server, NINA) as nina:
            done = await _activate(nina, first.thumbprint)
            assert done["card"]["title"] == f"Certificate {first.thumbprint} is active", text_of(done)
            assert sim.issued == [{"client": CLIENT, "thumbprint": first.thumbprint, "style": kind}]

            second = await available_now(rt)  # never uploaded to the IdP
            refused = await _activate(nina, second.thumbprint)
        assert refused["card"]["title"] == "Certificate not activated" and refused["private"]
        said = text_of(refused)
        assert "invalid_client" in said and "The key was not found" in said
        assert ("AADSTS700027" in said) == (kind == "entra")
        assert f"The active certificate stays {first.thumbprint}." in said
        assert [(r.thumbprint, r.state) for r in await certificates(rt)] == [
            (first.thumbprint, "active"), (second.thumbprint, "available")]
        assert len(sim.issued) == 1

        sim.trust(CLIENT, second.certificate_pem)  # uploaded now: the proof passes, the old retires
        async with console(server, NINA) as nina:
            done = await _activate(nina, second.thumbprint)
        assert f"It replaces {first.thumbprint}, now retired." in text_of(done)
        assert [(r.state, r.activated_by) for r in await certificates(rt)] == [
            ("retired", NINA), ("active", NINA)]
        outcomes = [(e.kind, e.outcome, e.target) for e in await events(rt, "certificate.activate")]
        assert outcomes == [("infrastructure", "ok", first.thumbprint),
                            ("infrastructure", "failed", second.thumbprint),
                            ("infrastructure", "ok", second.thumbprint)]
        if kind == "entra":  # msal found the token endpoint through the authority's discovery
            assert sim.hits["GET /contoso/v2.0/.well-known/openid-configuration"] >= 1


async def test_activation_without_an_idp_says_what_to_set(tmp_path: Path) -> None:
    async with idp_server(tmp_path, configured=False) as (server, _):
        row = await ensure(server.runtime, server.runtime.tenant_id)
        assert row is not None
        async with console(server, ALEX) as alex:
            refused = await alex.say(f"cert activate {row.thumbprint}")
        assert refused["card"]["title"] == "No identity provider"
        assert "DESKHAND_IDP_KIND" in text_of(refused)


async def test_activation_over_slack_is_ephemeral_and_the_button_replaces_it(tmp_path: Path) -> None:
    from tests.fakes.slack_api import ALEX as SLACK_ALEX
    from tests.fakes.slack_api import slack_env

    sim = IdpSimulator()
    sim_runner, base = await serve(sim)
    try:
        async with slack_env(tmp_path, idp_kind="okta", idp_client_id=CLIENT,
                             idp_token_url=f"{base}/oauth2/v1/token") as env:
            row = await ensure(env.server.runtime, env.server.runtime.tenant_id)
            assert row is not None
            sim.trust(CLIENT, row.certificate_pem)
            await env.command(SLACK_ALEX, "/cert", f"activate {row.thumbprint}", response="asked")
            asked = (await env.fake.wait_for("response_url"))[0].args
            assert asked["response_type"] == "ephemeral"
            confirm = next(e for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]
                           if e["text"]["text"] == CONFIRM)
            await env.send(env.action_body(SLACK_ALEX, confirm["action_id"], confirm["value"], ts="1.1",
                                           ephemeral=True, response="done"))
            done = (await env.fake.wait_for("response_url", 2))[1]
            assert done.path == "/response/done" and done.args["replace_original"] is True
            assert f"Certificate {row.thumbprint} is active" in done.args["text"]
            assert [r.state for r in await certificates(env.server.runtime)] == ["active"]
            assert not env.fake.called("chat.postMessage")  # nothing went to the channel
    finally:
        await sim_runner.cleanup()
