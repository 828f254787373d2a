"""`deskhand tenant create|list|map|unmap` on a temporary SQLite database: idempotent, clear
refusals (unknown tenant, malformed id, a workspace another tenant holds), bot tokens sealed and
never printed, every change in the tenant's own audit trail. The commands run through
`bot.cli.main` in this process (each a process of its own would take seconds); one runs as a
real process, its token on standard input."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.secrets import SecretBox
from storage.audit import AuditRepo
from storage.db import Database
from storage.tenants import TenantRepo, WorkspaceRepo
from tests.bot.test_cli import DESKHAND, Result, _env
from tests.conftest import SECRET, sqlite_url

CONTOSO = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TOKEN = "xoxb-2002-beta-workspace-0123456789abcdef"


async def stored(url: str) -> tuple[list[tuple[str, str, str, str | None]], dict[str, list[Any]]]:
    """The mappings (tenant slug, kind, id, sealed token) and each tenant's audit rows."""
    db = Database(url)
    try:
        async with db.uow() as uow:
            slugs = {t.id: t.slug for t in await uow.repo(TenantRepo).all()}
            rows = [(slugs[r.tenant_id], r.kind, r.external_id, r.bot_token)
                    for r in await uow.repo(WorkspaceRepo).all()]
            audit = {slug: [(e.action, e.target, e.params) for e in
                            await uow.repo(AuditRepo).query(tid, limit=100)]
                     for tid, slug in slugs.items()}
        return rows, audit
    finally:
        await db.dispose()


def with_stdin(env: dict[str, str], argv: list[str], text: str, cwd: Path) -> Result:
    proc = subprocess.run([DESKHAND, *argv], env=env, cwd=cwd, input=text, text=True,
                          capture_output=True, timeout=60, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`deskhand ARGV` in this process for each (env, argv), one after the other."""

    def invoke(*calls: tuple[dict[str, str], list[str]], cwd: Path) -> list[Result]:
        results = []
        for env, argv in calls:
            for key in [k for k in os.environ if k.startswith("DESKHAND_")]:
                monkeypatch.delenv(key)
            for key, value in env.items():
                if key.startswith("DESKHAND_"):
                    monkeypatch.setenv(key, value)
            code = cli.main(argv)
            out, err = capsys.readouterr()
            results.append(Result(code, out, err))
        return results

    return invoke


def test_tenants_and_their_workspaces_from_the_command_line(tmp_path: Path, run: Any) -> None:
    url = sqlite_url(tmp_path)
    env = _env(url)
    [upgraded] = run((env, ["db", "upgrade"]), cwd=tmp_path)
    assert upgraded.code == 0, upgraded.err

    [created] = run((env, ["tenant", "create", "beta", "--name", "Beta Corp"]), cwd=tmp_path)
    assert created.code == 0 and created.out.startswith("created tenant beta (Beta Corp)")
    again, renamed, bad_slug, listed = run(
        (env, ["tenant", "create", "beta", "--name", "Beta  Corp"]),
        (env, ["tenant", "create", "gamma", "--name", "Gamma"]),
        (env, ["tenant", "create", "Bad_Slug", "--name", "x"]),
        (env, ["tenant", "list"]), cwd=tmp_path)
    assert again.out.strip() == "tenant beta (Beta Corp) exists already; nothing changed"
    assert renamed.code == 0
    assert bad_slug.code == 1 and "'Bad_Slug' is not a tenant slug" in bad_slug.err
    assert "acme: Default tenant (this deployment's own tenant, DESKHAND_TENANT)" in listed.out
    assert "Slack: nothing is mapped, so every workspace belongs to acme" in listed.out

    [first] = run((env, ["tenant", "map", "beta", "--slack-team", "t0002"]), cwd=tmp_path)
    assert first.code == 0, first.err
    assert first.out.splitlines()[0] == "mapped Slack workspace T0002 to tenant beta"
    assert "from now on a Slack workspace mapped to no tenant is refused" in first.out
    same, taken, unknown, malformed, teams, teams_token = run(
        (env, ["tenant", "map", "beta", "--slack-team", "T0002"]),
        (env, ["tenant", "map", "acme", "--slack-team", "T0002"]),
        (env, ["tenant", "map", "nope", "--slack-org", "E0001"]),
        (env, ["tenant", "map", "beta", "--teams-tenant", "contoso.onmicrosoft.com"]),
        (env, ["tenant", "map", "beta", "--teams-tenant", CONTOSO.upper()]),
        (env, ["tenant", "map", "beta", "--teams-tenant", CONTOSO, "--bot-token-file", "x"]),
        cwd=tmp_path)
    assert same.code == 0 and same.out.strip() == (
        "Slack workspace T0002 is mapped to tenant beta already; nothing changed")
    assert taken.code == 1 and taken.err.strip() == (
        "deskhand: Slack workspace T0002 is already mapped to tenant beta; unmap it there first: "
        "`deskhand tenant unmap beta --slack-team T0002`")
    assert unknown.code == 1 and "there is no tenant 'nope' (tenants: acme, beta, gamma)" in unknown.err
    assert malformed.code == 1 and "is not an Entra (Azure AD) tenant id: a GUID" in malformed.err
    assert teams.code == 0 and f"Microsoft 365 tenant {CONTOSO} to tenant beta" in teams.out
    assert teams_token.code == 1 and "--bot-token-file is for Slack" in teams_token.err

    token_file = tmp_path / "beta.token"
    token_file.write_text(TOKEN + "\n")
    not_a_token = tmp_path / "wrong.token"
    not_a_token.write_text("xoxp-a-user-token-0123456789\n")
    with_file, wrong, missing = run(
        (env, ["tenant", "map", "gamma", "--slack-team", "T0003", "--bot-token-file",
               str(token_file)]),
        (env, ["tenant", "map", "gamma", "--slack-org", "E0001", "--bot-token-file",
               str(not_a_token)]),
        (env, ["tenant", "map", "gamma", "--slack-org", "E0001", "--bot-token-file",
               str(tmp_path / "nowhere")]), cwd=tmp_path)
    assert with_file.code == 0 and "T0003 to tenant gamma with its own bot token" in with_file.out
    assert wrong.code == 1 and "does not hold a Slack bot token" in wrong.err
    assert "xoxp" not in wrong.err  # what the file held is never echoed
    assert missing.code == 1 and "cannot read" in missing.err
    replaced = with_stdin(env, ["tenant", "map", "gamma", "--slack-team", "T0003",
                                "--bot-token-file", "-"], "xoxb-replacement-0123456789abc\n",
                          tmp_path)
    assert replaced.code == 0 and "its bot token was replaced" in replaced.out

    [listed] = run((env, ["tenant", "list"]), cwd=tmp_path)
    assert listed.out.splitlines() == [
        "acme: Default tenant (this deployment's own tenant, DESKHAND_TENANT)",
        "  no chat workspace mapped",
        "beta: Beta Corp",
        "  Slack workspace T0002",
        f"  Microsoft 365 tenant {CONTOSO}",
        "gamma: Gamma",
        "  Slack workspace T0003 (its own bot token)",
        "Slack: a workspace mapped to no tenant is refused",
        "Teams: a workspace mapped to no tenant is refused"]
    for result in (with_file, replaced, listed):
        assert "xoxb" not in result.out + result.err

    rows, audit = asyncio.run(stored(url))
    sealed = next(r[3] for r in rows if r[2] == "T0003")
    assert sealed is not None and "xoxb" not in sealed
    assert SecretBox([SECRET]).open(sealed) == "xoxb-replacement-0123456789abc"

    wrong_tenant, unmapped, not_mapped = run(
        (env, ["tenant", "unmap", "acme", "--slack-team", "T0002"]),
        (env, ["tenant", "unmap", "beta", "--teams-tenant", CONTOSO]),
        (env, ["tenant", "unmap", "beta", "--slack-org", "E0009"]), cwd=tmp_path)
    assert wrong_tenant.code == 1 and "mapped to tenant beta, not acme" in wrong_tenant.err
    assert unmapped.code == 0 and unmapped.out.splitlines() == [
        f"unmapped Microsoft 365 tenant {CONTOSO} from tenant beta",
        "  no Teams workspace is mapped any more; a Teams workspace mapped to no tenant stays "
        "refused (map the ones acme serves to it)"]
    assert not_mapped.out.strip() == "Slack Enterprise Grid org E0009 is not mapped; nothing changed"

    rows, audit = asyncio.run(stored(url))
    assert [(r[0], r[1], r[2]) for r in rows] == [("beta", "slack-team", "T0002"),
                                                 ("gamma", "slack-team", "T0003")]
    beta = [(action, target) for action, target, _ in audit["beta"]]
    assert ("tenant create", "beta") in beta and ("tenant map", "Slack workspace T0002") in beta
    assert ("tenant unmap", f"Microsoft 365 tenant {CONTOSO}") in beta
    assert not any(action.startswith("tenant") for action, _, _ in audit["acme"])
    gamma_maps = [params for action, _, params in audit["gamma"] if action == "tenant map"]
    assert [p["installation"] for p in gamma_maps] == ["its own", "its own"]
    assert "xoxb" not in repr(audit)
