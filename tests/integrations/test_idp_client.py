"""The IdP client against its simulator over loopback: an uploaded certificate gets a token, and
each refusal comes back as a VendorError carrying the IdP's own error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from bot.runtime import Runtime
from bot.settings import section
from handlers.certificates import demo
from handlers.certificates.config import IdpSettings
from handlers.certificates.keys import generate
from integrations.http import Cause, VendorError
from integrations.idp.client import Credential, IdpConfig, okta_assertion, request_token
from integrations.idp.simulator import IdpSimulator
from integrations.simulator_kit import serve
from storage.certificates import CertificateRepo
from tests.conftest import free_port

CLIENT = "0oa-client-test"


def credential() -> Credential:
    pair = generate("deskhand test", datetime.now(UTC))
    return Credential(pair.thumbprint, pair.certificate_pem, pair.private_key_pem)


@pytest.fixture
async def okta() -> AsyncIterator[tuple[IdpSimulator, IdpConfig, str]]:
    sim = IdpSimulator()
    runner, base = await serve(sim)
    yield sim, IdpConfig("okta", f"{base}/oauth2/default/v1/token", CLIENT), base
    await runner.cleanup()


async def test_uploaded_through_the_admin_route_gets_a_token(
        okta: tuple[IdpSimulator, IdpConfig, str]) -> None:
    sim, config, base = okta
    cred = credential()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/_admin/clients/{CLIENT}/certificates",
                             data=cred.certificate_pem) as r:
            assert r.status == 201 and (await r.json())["thumbprint"] == cred.thumbprint
        async with http.get(f"{base}/_admin/clients/{CLIENT}/certificates") as r:
            assert [c["thumbprint"] for c in await r.json()] == [cred.thumbprint]
    issued = await request_token(config, cred, "cid1")
    assert issued.token_type == "Bearer" and issued.expires_in > 0
    assert sim.issued == [{"client": CLIENT, "thumbprint": cred.thumbprint, "style": "okta"}]


async def test_refusals_carry_the_idps_error(okta: tuple[IdpSimulator, IdpConfig, str]) -> None:
    sim, config, _ = okta
    cred, other = credential(), credential()
    sim.trust(CLIENT, cred.certificate_pem)
    cases = [
        (config, other, "The key was not found"),  # never uploaded
        (replace(config, client_id="0oa-unknown"), cred, "was not found"),
        # The private key of another certificate under this one's thumbprint: a bad signature.
        (config, Credential(cred.thumbprint, cred.certificate_pem, other.private_key_pem),
         "invalid signature"),
    ]
    for cfg, cred_used, words in cases:
        with pytest.raises(VendorError) as caught:
            await request_token(cfg, cred_used, "cid2")
        assert caught.value.cause is Cause.REJECTED and caught.value.status == 401
        assert caught.value.message.startswith("Okta refused the token request: invalid_client: ")
        assert words in caught.value.message
    assert sim.issued == []


async def test_a_stale_or_misaddressed_assertion_is_refused(
        okta: tuple[IdpSimulator, IdpConfig, str]) -> None:
    sim, config, _ = okta
    cred = credential()
    sim.trust(CLIENT, cred.certificate_pem)
    stale = okta_assertion(config, cred, now=datetime.now(UTC).timestamp() - 3600)
    elsewhere = okta_assertion(replace(config, token_url="https://other.example/v1/token"), cred)
    async with aiohttp.ClientSession() as http:
        for assertion, words in ((stale, "valid time range"), (elsewhere, "audience")):
            form = {"grant_type": "client_credentials", "scope": "x",
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": assertion}
            async with http.post(config.token_url, data=form) as r:
                body = await r.json()
            assert r.status == 401 and body["error"] == "invalid_client"
            assert words in body["error_description"]


async def test_an_unreachable_idp_is_unavailable() -> None:
    config = IdpConfig("okta", "http://127.0.0.1:9/oauth2/default/v1/token", CLIENT)
    with pytest.raises(VendorError) as caught:
        await request_token(config, credential(), "cid3")
    assert caught.value.cause is Cause.UNAVAILABLE


async def test_demo_uploads_the_first_certificate_and_points_settings_at_the_simulator(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKHAND_IDP_KIND", raising=False)
    settings = runtime.settings.model_copy()
    settings.port = free_port()
    part = demo.demo_part(settings)
    assert part is not None
    config = section(settings, IdpSettings)
    assert (config.idp_kind, config.idp_token_url) == (
        "okta", f"http://127.0.0.1:{settings.port}/_sim/idp/oauth2/v1/token")
    await part.seed(runtime)
    async with runtime.db.uow() as uow:
        [row] = await uow.repo(CertificateRepo).current(runtime.tenant_id)
    assert list(part.sim.clients[config.idp_client_id]) == [row.thumbprint]
    app = web.Application()
    part.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    try:
        cred = Credential(row.thumbprint, row.certificate_pem, runtime.secrets.open(row.private_key))
        idp = IdpConfig("okta", config.idp_token_url, config.idp_client_id)
        assert (await request_token(idp, cred, "cid4")).expires_in > 0
    finally:
        await runner.cleanup()


async def test_control_refuses_a_body_that_is_not_a_json_object(
        okta: tuple[IdpSimulator, IdpConfig, str]) -> None:
    """Every simulator's /_control is the kit's: a clean 400, never a traceback."""
    _, _, base = okta
    async with aiohttp.ClientSession() as http:
        for body in (b"not json", b"[1, 2]"):
            async with http.post(f"{base}/_control", data=body) as answer:
                assert answer.status == 400 and "JSON object" in (await answer.json())["error"]
        async with http.post(f"{base}/_control", json={"no_such": 1}) as answer:
            assert answer.status == 400
