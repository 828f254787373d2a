"""Who may talk to /api/messages: only the Bot Framework, for our app id, with a live token.

Every refusal is a 401 (or 503/403 where said) and nothing runs: no token is fetched, nothing
is sent, no conversation is stored and nothing is audited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from storage.audit import AuditRepo
from storage.teams import TeamsConversationRepo
from tests.fakes.bot_connector import ALEX, FakeBotFramework, teams_deskhand


@pytest.fixture
async def deskhand(tmp_path: Path, fake: FakeBotFramework) -> AsyncIterator[Any]:
    async with teams_deskhand(tmp_path, fake) as live:
        yield live


async def nothing_ran(fake: FakeBotFramework, live: Any) -> None:
    await asyncio.sleep(0.3)  # background work, had any started, would have called by now
    assert fake.calls == []
    async with live.runtime.db.uow() as uow:
        assert await uow.repo(TeamsConversationRepo).get(live.runtime.tenant_id, ALEX_CONVERSATION) is None
        assert list(await uow.repo(AuditRepo).query(live.runtime.tenant_id)) == []


ALEX_CONVERSATION = "a:1Fx0AbCdEfGhIjKlMnOpQrStUvWxYz0123456789personal"
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
# case: (the token, what the 401 says)
BAD_TOKENS: dict[str, tuple[Callable[[FakeBotFramework], str | None], str]] = {
    "missing": (lambda f: None, "no Authorization header"),
    "bad signature": (lambda f: f.mint(key=OTHER_KEY), "signature does not verify"),  # same kid
    "unknown key": (lambda f: f.mint(key=OTHER_KEY, kid="someone-elses-key"), "unknown key"),
    "wrong audience": (lambda f: f.mint(audience="11111111-2222-3333-4444-555555555555"),
                       "Invalid AppId"),
    "expired": (lambda f: f.mint(lifetime=-600), "expired"),  # past the 5-minute tolerance
    "wrong issuer": (lambda f: f.mint(issuer="https://sts.windows.net/attacker/"),
                     "not issued by the Bot Framework"),
    "other serviceUrl": (lambda f: f.mint(service_url="https://evil.example/amer/"),
                         "serviceurl"),
    "not a JWT": (lambda f: "not-a-jwt", "not a JWT"),
}


async def test_a_valid_token_is_accepted(fake: FakeBotFramework, deskhand: Any) -> None:
    status, _ = await fake.send(deskhand.url, fake.activity("message_personal", text="help"))
    assert status == 201
    assert await fake.wait_for("send", count=1)


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_a_missing_or_wrong_token_gets_401(case: str, fake: FakeBotFramework,
                                                 deskhand: Any) -> None:
    make, reason = BAD_TOKENS[case]
    status, body = await fake.send(deskhand.url, fake.activity("message_personal", text="help"),
                                   token=make(fake))
    assert status == 401, body
    assert body["error"].startswith("unauthorized: ") and reason in body["error"]
    await nothing_ran(fake, deskhand)


async def test_a_wrong_scheme_gets_401(fake: FakeBotFramework, deskhand: Any) -> None:
    async with aiohttp.ClientSession() as s, s.post(
            f"{deskhand.url}/api/messages", json=fake.activity("message_personal"),
            headers={"Authorization": f"Basic {fake.mint()}"}) as r:
        assert r.status == 401
        assert "Bearer" in (await r.json())["error"]
    await nothing_ran(fake, deskhand)


async def test_bad_bodies_are_refused_with_a_reason(fake: FakeBotFramework, deskhand: Any) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{deskhand.url}/api/messages", data="text=help") as r:
            assert r.status == 415 and "application/json" in (await r.json())["error"]
        async with s.post(f"{deskhand.url}/api/messages", json={"text": "help"},
                          headers={"Authorization": f"Bearer {fake.mint()}"}) as r:
            assert r.status == 400 and "activity" in (await r.json())["error"]
    await nothing_ran(fake, deskhand)


async def test_another_tenant_is_refused(fake: FakeBotFramework, deskhand: Any) -> None:
    activity = fake.activity("message_personal", text="help")
    activity["channelData"]["tenant"]["id"] = "99999999-0000-0000-0000-000000000000"
    activity["conversation"]["tenantId"] = "99999999-0000-0000-0000-000000000000"
    status, body = await fake.send(deskhand.url, activity)
    assert status == 403 and "others are refused" in body["error"]
    await nothing_ran(fake, deskhand)


async def test_production_without_an_app_id_refuses(tmp_path: Path, fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, None) as live:
        for token in (fake.mint(), None):
            status, body = await fake.send(live.url, fake.activity("message_personal"), token=token)
            assert status == 401
            assert "DESKHAND_TEAMS_APP_ID is empty" in body["error"]
            assert "DESKHAND_MODE=dev" in body["error"]
        await nothing_ran(fake, live)


async def test_single_tenant_without_a_tenant_id_is_a_clear_503(tmp_path: Path,
                                                                fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake, teams_tenant_id="") as live:
        status, body = await fake.send(live.url, fake.activity("message_personal"))
        assert status == 503 and "DESKHAND_TEAMS_TENANT_ID" in body["error"]
        await nothing_ran(fake, live)


async def test_dev_mode_without_an_app_id_accepts_anonymous_activities(tmp_path: Path) -> None:
    fake = FakeBotFramework(require_token=False).start()
    fake.add_user(ALEX)
    try:
        async with teams_deskhand(tmp_path, None, mode="dev") as live:
            status, _ = await fake.send(live.url, fake.activity("message_personal", text="help"),
                                        token=None)
            assert status == 201
            posted = await fake.wait_for("send", count=1)
            assert posted and posted[0].cards
            assert not fake.called("token"), "no app id: no bot token is asked for"
    finally:
        fake.stop()


async def test_outbound_calls_carry_the_bot_token(fake: FakeBotFramework, deskhand: Any) -> None:
    await fake.send(deskhand.url, fake.activity("message_personal", text="help"))
    await fake.wait_for("send", count=1)
    token = fake.called("token")
    assert len(token) == 1 and token[0].body["client_id"] == fake.app_id
    assert all(c.authorized for c in fake.calls)
    # a second message reuses the cached token
    await fake.send(deskhand.url, fake.activity("message_personal", text="whoami"))
    await fake.wait_for("send", count=2)
    assert len(fake.called("token")) == 1


async def test_a_wrong_app_password_sends_nothing(tmp_path: Path, fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake, teams_app_password="wrong") as live:
        status, _ = await fake.send(live.url, fake.activity("message_personal", text="help"))
        assert status == 500  # the connector cannot be reached as the bot: Teams retries
        assert [c.kind for c in fake.calls] == ["token"]


NEW_PASSWORD = "new-client-secret-0123456789"


async def test_a_rotated_app_password_falls_back_to_the_previous_one(
        tmp_path: Path, fake: FakeBotFramework, caplog: pytest.LogCaptureFixture) -> None:
    """deskhand gets the new client secret before Entra knows it: Entra answers invalid_client
    and the previous secret gets the token (with a WARNING to finish the rotation); once Entra
    has the new one, one request does."""
    old = fake.password
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    rotating = {"teams_app_password": NEW_PASSWORD, "teams_app_password_previous": old}
    async with teams_deskhand(tmp_path / "before", fake, **rotating) as live:
        with caplog.at_level(logging.WARNING, logger="deskhand.teams"):
            status, _ = await fake.send(live.url, fake.activity("message_personal", text="help"))
            assert status == 201 and await fake.wait_for("send", count=1)
    assert [c.kind for c in fake.calls[:3]] == ["token", "token", "send"]
    warned = [r.getMessage() for r in caplog.records if "PREVIOUS" in r.getMessage()]
    assert len(warned) == 1 and "add the new client secret at Entra" in warned[0]
    assert NEW_PASSWORD not in caplog.text and old not in caplog.text

    fake.password = NEW_PASSWORD  # Entra now knows only the new secret
    before = len(fake.called("token"))
    async with teams_deskhand(tmp_path / "after", fake, **rotating) as live:
        status, _ = await fake.send(live.url, fake.activity("message_personal", text="help"))
        assert status == 201 and await fake.wait_for("send", count=2)
    assert len(fake.called("token")) == before + 1
