"""Reminders in Slack: a token's creator gets a DM, the certificate admins are mentioned in the
admin channel (`channel set admin`), or each gets a DM where none is set; `settings show` warns."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot import rbac_admin
from bot.reminders import sweep
from storage.tenants import SettingsRepo
from tests.fakes.slack_api import ALEX, CHANNEL, SAM, SlackEnv, slack_env
from tests.handlers.reminders_kit import T0, add_certificate, add_token, link

DAY = timedelta(days=1)


def blocks_text(blocks: Any) -> str:
    return json.dumps(blocks if isinstance(blocks, list) else json.loads(blocks))


async def with_accounts(env: SlackEnv) -> None:
    rt = env.server.runtime
    await link(rt, "alex.admin@example.com", "slack", "T0001", ALEX)
    await link(rt, "sam.standard@example.com", "slack", "T0001", SAM)
    async with rt.db.uow() as uow:  # Sam also looks after the certificates
        await rbac_admin.grant(uow, rt.tenant_id, rbac_admin.Granter("test"),
                               "Infrastructure Admin", email="sam.standard@example.com")
        await uow.commit()


async def reply(env: SlackEnv, text: str, command: str = "/deskhand") -> str:
    before = len(env.fake.called("response_url"))
    status, _, _ = await env.command(ALEX, command, text)
    assert status == 200
    calls = await env.fake.wait_for("response_url", before + 1)
    return blocks_text(calls[before].args.get("blocks", []))


async def test_a_token_reminder_is_a_dm_to_its_creator_with_a_replacement_button(
        tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await with_accounts(env)
        rt = env.server.runtime
        token = await add_token(rt, "bi-feed", T0 + 5 * DAY)
        assert await sweep(rt, rt.registry.reminders, now=T0) == 1
        [dm] = env.fake.called("chat.postMessage")
        assert dm.args["channel"] == ALEX  # a user id: Slack posts in the app's DM
        text = blocks_text(dm.args["blocks"])
        assert "Your data-access token bi-feed expires in 7 days" in text
        assert f'"action_id": "token.renew:{token}"' in text
        assert "Create a replacement" in text


async def test_the_certificate_admins_are_mentioned_in_the_admin_channel(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await with_accounts(env)
        said = await reply(env, "channel set admin here")
        assert "Admin channel set" in said and CHANNEL in said
        rt = env.server.runtime
        await add_certificate(rt, "AB" * 20, T0 + 2 * DAY)
        assert await sweep(rt, rt.registry.reminders, now=T0) == 1
        [post] = env.fake.called("chat.postMessage")
        assert post.args["channel"] == CHANNEL
        text = blocks_text(post.args["blocks"])
        assert f"<@{ALEX}>" in text and f"<@{SAM}>" in text
        assert "certificate expires in 3 days" in text


async def test_without_an_admin_channel_each_certificate_admin_gets_a_dm(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await with_accounts(env)
        rt = env.server.runtime
        await add_certificate(rt, "AB" * 20, T0 + 10 * DAY)
        assert await sweep(rt, rt.registry.reminders, now=T0) == 1
        posts = env.fake.called("chat.postMessage")
        assert sorted(p.args["channel"] for p in posts) == sorted([ALEX, SAM])
        assert all("<@" not in blocks_text(p.args["blocks"]) for p in posts)


async def test_settings_show_warns_until_an_admin_channel_is_set(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        assert "No admin channel on Slack" in await reply(env, "settings show")
        assert "the channel's name (#it-admins), not its id" in await reply(
            env, "channel set admin <#C0ADMINS|it-admins>")
        await reply(env, "channel set admin C0ADMINS")
        rt = env.server.runtime
        async with rt.db.uow() as uow:
            assert (await uow.repo(SettingsRepo).get(rt.tenant_id))["admin_channel_slack"] == \
                "C0ADMINS"
        shown = await reply(env, "settings show")
        assert "No admin channel" not in shown and "C0ADMINS" in shown


async def test_a_wrong_channel_or_thresholds_are_refused_with_what_is_allowed(
        tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        refused = await reply(env, "channel set admin general")
        assert "must be a Slack channel id such as C0123ABCD" in refused
        assert "not `general`" in refused and "Nothing was changed" in refused
        days = await reply(env, "settings set reminder_days=14,0")
        assert "1-365" in days and "not `14,0`" in days and "Nothing was changed" in days
        assert "not `soon`" in await reply(env, "settings set reminder_days=soon")
        assert "10, 5" in await reply(env, "settings set reminder_days=5,10")
