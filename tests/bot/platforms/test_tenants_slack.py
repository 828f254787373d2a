"""Slack workspaces map to tenants, and nothing crosses: a command or a click from workspace B
runs as B's person with B's grants over B's rows; a card carrying an id of A's row is not
found there; an unmapped workspace is refused once mappings exist; an Enterprise Grid org's
mapping wins; each workspace's own bot token serves its requests and its tenant's channels."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.model import PlatformIdentity, ReplyTarget
from bot.tenancy import SLACK_ORG, SLACK_TEAM
from cards.model import message_card
from handlers.device_actions.wipe_commands import CONFIRM_PREFIX
from storage.directory import DirectoryRepo
from tests.bot.tenants_env import (
    ALEX,
    BETA_ALEX,
    NINA,
    acme_rows,
    add_beta,
    audit,
    map_workspace,
    unchanged,
)
from tests.fakes.slack_api import ALEX as ACME_ALEX
from tests.fakes.slack_api import BOT_TOKEN, CHANNEL, SlackEnv, slack_env
from tests.fakes.slack_api import NINA as ACME_NINA

B_ALEX, B_NINA, C_SAM = "U0BALEX", "U0BNINA", "U0CSAM"  # people of workspaces T0002 and T0003
B_TOKEN = "xoxb-beta-workspace-000000000002"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with slack_env(tmp_path) as env:
        env.fake.add_user(B_ALEX, ALEX, team="T0002")
        env.fake.add_user(B_NINA, NINA, team="T0002")
        env.fake.add_user(C_SAM, "sam.standard@example.com", team="T0003")
        yield env


async def answer(env: SlackEnv, body: str, url: str) -> str:
    """What the person saw: the text and blocks sent to the request's response_url."""
    status, _, _ = await env.send(body)
    assert status == 200
    await env.idle()
    replies = [c.args for c in env.fake.called("response_url") if c.path == f"/response/{url}"]
    assert replies, f"no answer at {url}"
    return html.unescape(str(replies[-1].get("text", ""))
                         + json.dumps(replies[-1].get("blocks", "")))


async def say(env: SlackEnv, user: str, text: str, url: str, team: str = "T0001",
              org: str = "") -> str:
    return await answer(env, env.command_body(user, "/deskhand", text, response=url, team=team,
                                              org=org), url)


async def click(env: SlackEnv, user: str, action_id: str, url: str, team: str) -> str:
    return await answer(env, env.action_body(user, action_id, action_id.rsplit(":", 1)[-1],
                                             ts="1700000000.000001", response=url, team=team), url)


async def test_each_workspace_acts_as_its_own_tenants_people(env: SlackEnv) -> None:
    rt = env.server.runtime
    beta = await add_beta(rt)
    await map_workspace(rt, rt.tenant_id, SLACK_TEAM, "T0001")
    await map_workspace(rt, beta, SLACK_TEAM, "T0002")

    assert "You are Alex Admin" in await say(env, ACME_ALEX, "whoami", "a1")
    shown = await say(env, B_ALEX, "whoami", "b1", team="T0002")
    assert f"You are {BETA_ALEX}" in shown and "slack:T0002:U0BALEX" in shown
    # Nina holds Auditor in beta only: the same email, each tenant's own grants.
    assert "Audit log" in await say(env, B_NINA, "audit", "b2", team="T0002")
    assert "Not allowed" in await say(env, ACME_NINA, "audit", "a2")
    async with rt.db.uow() as uow:
        link = await uow.repo(DirectoryRepo).identity("slack", "T0002", B_ALEX)
    assert link is not None and link.tenant_id == beta

    mine, theirs = await audit(rt, rt.tenant_id), await audit(rt, beta)
    assert {(e.action, e.outcome) for e in theirs if e.kind == "command"} >= {
        ("whoami", "ok"), ("audit", "ok")}
    assert not any((e.platform_identity or "").startswith("slack:T0002") for e in mine)
    assert not any((e.platform_identity or "").startswith("slack:T0001") for e in theirs)


async def test_a_card_from_workspace_b_never_reaches_a_row_of_tenant_a(env: SlackEnv) -> None:
    rt = env.server.runtime
    beta = await add_beta(rt)
    await map_workspace(rt, rt.tenant_id, SLACK_TEAM, "T0001")
    await map_workspace(rt, beta, SLACK_TEAM, "T0002")
    rows = await acme_rows(rt)
    # beta's Alex is a Full Administrator there: rights are not what stops these.
    for n, (action_id, said) in enumerate((
            (f"approval.approve:{rows.request}", f"There is no approval request {rows.request}"),
            (f"approval.deny:{rows.request}", f"There is no approval request {rows.request}"),
            (f"run.cancel:{rows.run}", f"There is no run {rows.run}"),
            (f"run.results:{rows.run}", f"There is no run {rows.run}"),
            (f"device.card:{rows.device}", "That device is no longer in the inventory"),
            (f"device.do:lock:{rows.device}", "That device is no longer in the inventory"),
            (f"{CONFIRM_PREFIX}:{rows.wipe}", f"There is no wipe request {rows.wipe}"))):
        shown = await click(env, B_ALEX, action_id, f"c{n}", "T0002")
        assert said in shown, (action_id, shown)
    assert await unchanged(rt, rows)
    # Nor can beta's administrator take over an account of acme's workspace by linking it.
    refused = await say(env, B_ALEX, f"identity link slack:T0001:{ACME_ALEX} to {ALEX}", "c9",
                        team="T0002")
    assert f"slack:T0001:{ACME_ALEX}` is in Slack workspace T0001, which belongs to another " \
        "deskhand tenant" in refused
    async with rt.db.uow() as uow:
        assert await uow.repo(DirectoryRepo).identity("slack", "T0001", ACME_ALEX) is None
    assert not [e for e in await audit(rt, rt.tenant_id) if e.actor_email == ALEX
                and (e.platform_identity or "").startswith("slack:T0002")]


async def test_an_unmapped_workspace_is_refused_once_any_is_mapped(env: SlackEnv) -> None:
    rt = env.server.runtime
    # Nothing mapped: every workspace is the deployment's (a single-tenant deployment).
    assert "You are Sam Standard" in await say(env, C_SAM, "whoami", "z1", team="T0003")
    beta = await add_beta(rt)
    await map_workspace(rt, beta, SLACK_TEAM, "T0002")
    before = len(env.fake.called("users.info"))
    for shown in ((await say(env, ACME_ALEX, "whoami", "u1"),
                   await click(env, ACME_ALEX, "run.cancel:1", "u2", "T0001"))):
        assert "This Slack workspace (T0001) is not connected to a deskhand tenant" in shown
        assert "deskhand tenant map <tenant> --slack-team T0001" in shown
    assert len(env.fake.called("users.info")) == before  # nobody was looked up there
    denials = [e for e in await audit(rt, rt.tenant_id) if e.outcome == "unmapped_workspace"]
    assert sorted((e.kind, e.action, e.params["workspace"]) for e in denials) == [
        ("denial", "run.cancel", "T0001"), ("denial", "whoami", "T0001")]
    assert not any(e.kind in ("command", "interaction") and e.platform_identity ==  # nothing ran
                   f"slack:T0001:{ACME_ALEX}" for e in await audit(rt, rt.tenant_id))


async def test_an_enterprise_grid_orgs_mapping_wins_over_its_workspaces(env: SlackEnv) -> None:
    rt = env.server.runtime
    beta = await add_beta(rt)
    await map_workspace(rt, rt.tenant_id, SLACK_TEAM, "T0001")
    await map_workspace(rt, beta, SLACK_ORG, "E0001")
    shown = await say(env, ACME_ALEX, "whoami", "e1", org="E0001")
    assert f"You are {BETA_ALEX}" in shown
    async with rt.db.uow() as uow:
        link = await uow.repo(DirectoryRepo).identity("slack", "T0001", ACME_ALEX)
    assert link is not None and link.tenant_id == beta
    # A click names its org in `team.enterprise_id` and `enterprise`: beta's too.
    body = env.action_body(ACME_ALEX, "run.cancel:424242", "424242", ts="1700000000.000001",
                           response="e2", team="T0001", org="E0001")
    assert "There is no run 424242" in await answer(env, body, "e2")
    assert ("interaction", "run.cancel") in {(e.kind, e.action) for e in await audit(rt, beta)}
    assert "run.cancel" not in {e.action for e in await audit(rt, rt.tenant_id)}


async def test_a_workspace_with_its_own_installation_is_served_with_its_token(
        env: SlackEnv) -> None:
    rt = env.server.runtime
    fake = env.fake
    fake.add_token(B_TOKEN, "T0002")
    fake.tokens[BOT_TOKEN] = "T0001"  # the deployment's installation knows T0001 only
    beta = await add_beta(rt)
    await map_workspace(rt, rt.tenant_id, SLACK_TEAM, "T0001")
    await map_workspace(rt, beta, SLACK_TEAM, "T0002", B_TOKEN)

    assert f"You are {BETA_ALEX}" in await say(env, B_ALEX, "whoami", "t1", team="T0002")
    assert "You are Alex Admin" in await say(env, ACME_ALEX, "whoami", "t2")
    looked_up = {c.args["user"]: c.token for c in fake.called("users.info")}
    assert looked_up == {B_ALEX: B_TOKEN, ACME_ALEX: BOT_TOKEN}

    dm = json.loads(env.event_body("event_message_im", "Ev0BETA0001", user=B_ALEX,
                                   text="whoami", channel="D0BETA"))
    dm["team_id"], dm["authorizations"][0]["team_id"] = "T0002", "T0002"
    assert (await env.event(json.dumps(dm)))[0] == 200
    await env.idle()
    [reply] = [c for c in fake.called("chat.postMessage") if c.args["channel"] == "D0BETA"]
    assert reply.token == B_TOKEN and reply.result["ok"]

    # Proactive posts: a channel from beta's settings, a personal message, a later update.
    messenger = env.adapter.messenger
    ref = await messenger.post(ReplyTarget("slack", "C0BETA", extra={"tenant": beta}),
                               message_card("Approve run 7", "waiting"))
    await messenger.update(ref, message_card("Run 7 approved", "done"))
    await messenger.post_personal(PlatformIdentity("slack", "T0002", B_ALEX),
                                  message_card("Your token expires", "in 7 days"))
    await messenger.post(ReplyTarget("slack", CHANNEL), message_card("Acme's", "default"))
    sent = [(c.method, c.args["channel"], c.token) for c in fake.calls
            if c.method in ("chat.postMessage", "chat.update")][1:]
    assert sent == [("chat.postMessage", "C0BETA", B_TOKEN), ("chat.update", "C0BETA", B_TOKEN),
                    ("chat.postMessage", B_ALEX, B_TOKEN), ("chat.postMessage", CHANNEL, BOT_TOKEN)]
    assert all(c.result.get("ok") for c in fake.calls if c.method.startswith("chat."))
