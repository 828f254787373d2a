"""Which tenant a request belongs to (bot/tenancy.py), on SQLite and PostgreSQL: the zero-config
rule, the org mapping winning over its workspace's, refusal once a platform has mappings,
DESKHAND_TEAMS_TENANT_ID, the sealed Slack tokens, and the migration going both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import build_runtime
from bot.runtime import Runtime
from bot.tenancy import (
    SLACK_ORG,
    SLACK_TEAM,
    TEAMS_TENANT,
    Unmapped,
    Workspace,
    normalized,
    sealed_slack_token,
    tenant_of,
)
from storage import migrate
from storage.tenants import ChatWorkspace, TenantRepo, WorkspaceRepo
from tests.conftest import make_settings
from tests.storage.test_migration_subjects import _downgrade

CONTOSO = "72f988bf-86f1-41af-91ab-2d7cd011db47"
FABRIKAM = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(db_url))
    runtime.run_jobs = False
    await runtime.start(upgrade=True)
    yield runtime
    await runtime.stop()


async def tenant(rt: Runtime, slug: str) -> int:
    async with rt.db.uow() as uow:
        row = await uow.repo(TenantRepo).ensure(slug, slug.title())
        await uow.commit()
        return row.id


async def mapped(rt: Runtime, tenant_id: int, kind: str, external: str,
                 token: str | None = None) -> None:
    platform = "teams" if kind == TEAMS_TENANT else "slack"
    async with rt.db.uow() as uow:
        await uow.repo(WorkspaceRepo).add(ChatWorkspace(
            tenant_id=tenant_id, platform=platform, kind=kind, external_id=external,
            bot_token=rt.secrets.seal(token) if token else None))
        await uow.commit()


async def test_unmapped_platforms_belong_to_the_deployment_and_mapped_ones_decide(
        rt: Runtime) -> None:
    home, beta = rt.tenant_id, await tenant(rt, "beta")
    # Nothing mapped: every workspace of every platform is the deployment's (zero config).
    assert await tenant_of(rt, Workspace("slack", "T0001")) == home
    assert await tenant_of(rt, Workspace("slack", "T0002", "E0001")) == home
    assert await tenant_of(rt, Workspace("teams", FABRIKAM)) == home
    assert await tenant_of(rt, beta) == beta  # the console names its person's tenant

    await mapped(rt, beta, SLACK_TEAM, "T0002")
    assert await tenant_of(rt, Workspace("slack", "T0002")) == beta
    refused = await tenant_of(rt, Workspace("slack", "T0001"))
    assert isinstance(refused, Unmapped)
    assert "This Slack workspace (T0001) is not connected to a deskhand tenant" in refused.text
    assert "`deskhand tenant map <tenant> --slack-team T0001`" in refused.text
    # Teams has no mapping yet: still the deployment's, whatever Slack does.
    assert await tenant_of(rt, Workspace("teams", FABRIKAM)) == home

    # An org's mapping wins over its workspace's; an org-wide install may name no workspace.
    await mapped(rt, home, SLACK_ORG, "E0001")
    assert await tenant_of(rt, Workspace("slack", "T0002", "E0001")) == home
    assert await tenant_of(rt, Workspace("slack", "", "E0001")) == home
    assert await tenant_of(rt, Workspace("slack", "T0002", "E0404")) == beta
    org_only = await tenant_of(rt, Workspace("slack", "", "E0404"))
    assert isinstance(org_only, Unmapped) and "--slack-org E0404" in org_only.text

    await mapped(rt, beta, TEAMS_TENANT, FABRIKAM)
    assert await tenant_of(rt, Workspace("teams", FABRIKAM.upper())) == beta
    teams = await tenant_of(rt, Workspace("teams", CONTOSO))
    assert isinstance(teams, Unmapped) and "Microsoft 365 tenant" in teams.text


async def test_the_teams_tenant_setting_names_the_deployments_own(db_url: str) -> None:
    runtime = build_runtime(make_settings(db_url, teams_tenant_id=CONTOSO))
    runtime.run_jobs = False
    await runtime.start(upgrade=True)
    try:
        assert await tenant_of(runtime, Workspace("teams", CONTOSO)) == runtime.tenant_id
        # The setting is a mapping of its own: another Microsoft 365 tenant needs one.
        assert isinstance(await tenant_of(runtime, Workspace("teams", FABRIKAM)), Unmapped)
        beta = await tenant(runtime, "beta")
        await mapped(runtime, beta, TEAMS_TENANT, FABRIKAM)
        assert await tenant_of(runtime, Workspace("teams", FABRIKAM)) == beta
        assert await tenant_of(runtime, Workspace("teams", CONTOSO)) == runtime.tenant_id
    finally:
        await runtime.stop()


async def test_slack_tokens_follow_the_workspace_then_the_tenant(rt: Runtime) -> None:
    home, beta, gamma = rt.tenant_id, await tenant(rt, "beta"), await tenant(rt, "gamma")
    await mapped(rt, beta, SLACK_TEAM, "T0002", "xoxb-beta-workspace")
    await mapped(rt, beta, SLACK_TEAM, "T0003")
    await mapped(rt, gamma, SLACK_TEAM, "T0004", "xoxb-gamma-workspace")
    await mapped(rt, gamma, SLACK_ORG, "E0009", "xoxb-gamma-org")

    async def token(**where: object) -> str | None:
        sealed = await sealed_slack_token(rt.db, dict(where))
        if sealed is not None:
            assert "xoxb" not in sealed  # stored sealed, opened only to use it
        return rt.secrets.open(sealed) if sealed else None

    assert await token(team="T0002") == "xoxb-beta-workspace"
    assert await token(team="T0003", tenant=beta) is None  # mapped without a token: the default
    assert await token(tenant=beta) == "xoxb-beta-workspace"  # a channel from beta's settings
    assert await token(tenant=gamma) == "xoxb-gamma-org"  # the org's install covers the tenant
    assert await token(team="T0004", org="E0009") == "xoxb-gamma-org"
    assert await token(team="T0001") is None and await token(tenant=home) is None
    assert await token() is None


async def test_workspace_ids_are_checked_and_normalized() -> None:
    assert normalized(SLACK_TEAM, " t024be7ld ") == "T024BE7LD"
    assert normalized(TEAMS_TENANT, CONTOSO.upper()) == CONTOSO
    for kind, bad, said in ((SLACK_TEAM, "E0001", "a Slack team id"),
                            (SLACK_ORG, "T0001", "Enterprise Grid org id"),
                            (TEAMS_TENANT, "contoso.onmicrosoft.com", "a GUID")):
        with pytest.raises(ValueError, match=said):
            normalized(kind, bad)


async def test_the_migration_goes_down_and_up_again(rt: Runtime) -> None:
    await mapped(rt, rt.tenant_id, SLACK_TEAM, "T0001")
    await _downgrade(rt.db.engine, "0022")
    assert await migrate.current_revision(rt.db.engine) == "0022"
    await migrate.upgrade(rt.db.engine)
    async with rt.db.uow() as uow:
        assert await uow.repo(WorkspaceRepo).all() == []
        assert not await uow.repo(WorkspaceRepo).any_of("slack")
