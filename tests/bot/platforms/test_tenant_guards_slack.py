"""What a mapping change leaves behind, and who may act through a workspace, in Slack: links
made before a workspace was mapped move with it (`tenant map`), unmapping the last workspace
keeps unmapped ones refused, `identity link` tells an account's tenant by its workspace's org,
and a person of another tenant's workspace acting in a shared channel is refused."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest

from bot import cli
from bot.tenancy import SLACK_ORG, SLACK_TEAM
from storage.directory import DirectoryRepo
from tests.bot.platforms.test_tenants_slack import B_ALEX, B_NINA, answer, say
from tests.bot.tenants_env import ALEX, BETA_ALEX, NINA, add_beta, audit, map_workspace
from tests.bot.test_cli import _env
from tests.conftest import sqlite_url
from tests.fakes.slack_api import ALEX as ACME_ALEX
from tests.fakes.slack_api import BOT_USER, SlackEnv, slack_env

C_ALEX = "U0CALEX"  # beta's Alex in workspace T0003
D_SAM = "U0DSAM"  # acme's Sam in workspace T0004


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with slack_env(tmp_path) as env:
        env.fake.add_user(B_ALEX, ALEX, team="T0002")
        env.fake.add_user(B_NINA, NINA, team="T0002")
        env.fake.add_user(C_ALEX, ALEX, team="T0003")
        env.fake.add_user(D_SAM, "sam.standard@example.com", team="T0004")
        yield env


async def deskhand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """`deskhand ARGV` on the server's database, as an operator runs it beside the server."""
    for key in [k for k in os.environ if k.startswith("DESKHAND_")]:
        monkeypatch.delenv(key)
    for key, value in _env(sqlite_url(tmp_path)).items():
        if key.startswith("DESKHAND_"):
            monkeypatch.setenv(key, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = await asyncio.to_thread(cli.main, list(argv))
    finally:  # the command set up logging for a process of its own
        root.handlers[:], root.level = handlers, level
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


async def test_links_made_before_a_mapping_move_with_the_workspace(
        env: SlackEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rt = env.server.runtime
    beta = await add_beta(rt)
    # Nothing mapped yet: workspace T0002 belongs to acme, and Alex of T0002 links there.
    assert "You are Alex Admin" in await say(env, B_ALEX, "whoami", "a1", team="T0002")

    out = await deskhand(tmp_path, monkeypatch, capsys, "tenant", "map", "beta",
                         "--slack-team", "T0002")
    assert "removed 1 chat link(s) of tenant acme for accounts of Slack workspace T0002" in out
    # The account now links itself in beta, as beta's Alex; acme's trail says what was removed.
    assert f"You are {BETA_ALEX}" in await say(env, B_ALEX, "whoami", "a2", team="T0002")
    removed = [e for e in await audit(rt, rt.tenant_id) if e.action == "identity unlink"]
    assert [(e.actor_email, e.target, e.params["accounts"]) for e in removed] == [
        ("cli", "Slack workspace T0002", [f"slack:T0002:{B_ALEX}"])]
    async with rt.db.uow() as uow:
        link = await uow.repo(DirectoryRepo).identity("slack", "T0002", B_ALEX)
    assert link is not None and link.tenant_id == beta

    again = await deskhand(tmp_path, monkeypatch, capsys, "tenant", "map", "beta",
                           "--slack-team", "T0002")
    assert "nothing changed" in again and "removed" not in again  # beta's own link stays


async def test_unmapping_the_last_workspace_keeps_unmapped_ones_refused(
        env: SlackEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rt = env.server.runtime
    await add_beta(rt)
    await deskhand(tmp_path, monkeypatch, capsys, "tenant", "map", "beta", "--slack-team", "T0002")
    out = await deskhand(tmp_path, monkeypatch, capsys, "tenant", "unmap", "beta",
                         "--slack-team", "T0002")
    assert "stays refused" in out
    # Former beta's workspace does not fall to acme, and neither does any other.
    for user, team, url in ((B_ALEX, "T0002", "u1"), (ACME_ALEX, "T0001", "u2")):
        assert "is not connected to a deskhand tenant" in await say(env, user, "whoami", url,
                                                                    team=team)
    listed = await deskhand(tmp_path, monkeypatch, capsys, "tenant", "list")
    assert "Slack: a workspace mapped to no tenant is refused" in listed
    await deskhand(tmp_path, monkeypatch, capsys, "tenant", "map", "acme", "--slack-team", "T0001")
    assert "You are Alex Admin" in await say(env, ACME_ALEX, "whoami", "u3")


async def test_identity_link_tells_the_accounts_tenant_by_its_org(env: SlackEnv) -> None:
    rt = env.server.runtime
    beta = await add_beta(rt)
    await map_workspace(rt, beta, SLACK_TEAM, "T0002")
    await map_workspace(rt, beta, SLACK_TEAM, "T0003")
    await map_workspace(rt, rt.tenant_id, SLACK_ORG, "E0009")
    # T0002 is in org E0009, whose mapping wins: its requests go to acme.
    assert "You are Nina" in await say(env, B_NINA, "whoami", "o1", team="T0002", org="E0009")

    refused = await say(env, C_ALEX, f"identity link slack:T0002:{B_ALEX} to {NINA}", "o2",
                        team="T0003")
    assert f"`slack:T0002:{B_ALEX}` is in Slack workspace T0002, which belongs to another " \
           "deskhand tenant" in refused
    # A workspace no request has come from yet may be in the org: which tenant is not known.
    unknown = await say(env, C_ALEX, f"identity link slack:T0005:{B_ALEX} to {NINA}", "o3",
                        team="T0003")
    assert "cannot tell yet which Enterprise Grid org Slack workspace T0005 belongs to" in unknown
    async with rt.db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        assert await directory.identity("slack", "T0002", B_ALEX) is None
        assert await directory.identity("slack", "T0005", B_ALEX) is None
    # Acme's administrator links it: T0002's requests come to acme.
    linked = await say(env, ACME_ALEX, f"identity link slack:T0002:{B_ALEX} to {ALEX}", "o4",
                       org="E0009")
    assert "linked to alex.admin@example.com" in linked


def shared_click(env: SlackEnv, user: str, user_team: str, host: str, url: str) -> str:
    """A click in a Slack Connect channel of workspace `host` by a person of `user_team`, as
    Slack sends it: `team` is the host's, `user.team_id` the clicker's own."""
    body = env.action_body(user, "whoami", "x", ts="1700000000.000001", response=url, team=host)
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["user"]["team_id"] = user_team
    payload["is_ext_shared_channel"] = True
    return urlencode({"payload": json.dumps(payload)})


def shared_mention(env: SlackEnv, event_id: str, user: str, user_team: str) -> str:
    """A mention in a Slack Connect channel of T0001 by a person of `user_team`."""
    body = json.loads(env.event_body("event_app_mention", event_id, user=user,
                                     user_team=user_team, text=f"<@{BOT_USER}> whoami"))
    return json.dumps({**body, "is_ext_shared_channel": True})


async def test_a_person_of_another_tenants_workspace_is_refused_in_a_shared_channel(
        env: SlackEnv) -> None:
    rt = env.server.runtime
    beta = await add_beta(rt)
    await map_workspace(rt, rt.tenant_id, SLACK_TEAM, "T0001")
    await map_workspace(rt, rt.tenant_id, SLACK_TEAM, "T0004")
    await map_workspace(rt, beta, SLACK_TEAM, "T0002")

    refused = await answer(env, shared_click(env, B_ALEX, "T0002", "T0001", "s1"), "s1")
    assert "Your Slack workspace (T0002) is not connected to the deskhand tenant of this one " \
           "(T0001)" in refused
    # A mention in the shared channel: bolt's actor_team_id (event.user_team) names T0002.
    status, _, _ = await env.event(shared_mention(env, "EvShared1", B_ALEX, "T0002"))
    assert status == 200
    await env.idle()
    denials = [e for e in await audit(rt, rt.tenant_id) if e.outcome == "foreign_actor"]
    assert [(e.actor_email, e.params["actor_workspace"]) for e in denials] == [
        (f"slack:T0002:{B_ALEX}", "T0002")] * 2
    async with rt.db.uow() as uow:  # never looked up, nor linked, in acme
        assert await uow.repo(DirectoryRepo).identity("slack", "T0002", B_ALEX) is None
        assert await uow.repo(DirectoryRepo).identity("slack", "T0001", B_ALEX) is None
    assert not [e for e in await audit(rt, beta) if e.outcome == "foreign_actor"]

    # Someone of another workspace of the same tenant acts, as their own account.
    status, _, _ = await env.event(shared_mention(env, "EvShared2", D_SAM, "T0004"))
    assert status == 200
    await env.idle()
    posted = json.dumps(env.fake.called("chat.postEphemeral")[-1].args)  # whoami: for them only
    assert "You are Sam" in posted and f"slack:T0004:{D_SAM}" in posted
