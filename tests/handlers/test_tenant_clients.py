"""One tenant's integration configuration is never another's: two tenants in one database, each
reaching its own Workspace ONE simulator; the deployment's DESKHAND_* configuration serves its
own tenant only. And `deskhand check` as a real process, with its exit codes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import SECRET
from tests.handlers.integrations_env import ALEX, deskhand, other_tenant, person, say, seed_sim, text_of
from tests.handlers.ws1_env import CODE, PASSWORD, USER, simulator

DESKHAND = str(Path(sys.executable).parent / "deskhand")


async def test_each_tenant_reaches_its_own_workspace_one_and_never_the_deployments(
        tmp_path: Path) -> None:
    async with simulator() as (deployment, deployment_url), \
            simulator("beta-admin", "beta-password-1", "BETACODE") as (beta_sim, beta_url), \
            deskhand(tmp_path, deployment_url) as server:
        rt = server.runtime
        beta = await other_tenant(server)
        acme_device = await seed_sim(deployment, server, rt.tenant_id)
        beta_device = await seed_sim(beta_sim, server, beta)
        await seed_sim(deployment, server, beta)  # it would take beta's commands, were they sent
        acme_alex, beta_alex = await person(server, rt.tenant_id, ALEX), await person(server, beta, ALEX)

        # Beta has no record: DESKHAND_WS1_* belongs to acme, so beta is not set up.
        refused = await say(server, beta_alex, f"device lock {beta_device}")
        assert refused.title == "Workspace ONE is not set up"
        listed = text_of(await say(server, beta_alex, "integrations list"))
        assert "(`workspace-one`): not set up" in listed and deployment_url not in listed
        checked = text_of(await say(server, beta_alex, "integrations test workspace-one"))
        assert "Workspace ONE | off | Not set up for this tenant." in checked
        assert deployment.sent_to(beta_device) == [] and deployment.hits == {}

        # Acme moves to a record of its own; beta still has nothing.
        await say(server, acme_alex, f"integrations set workspace-one url={deployment_url} "
                                     f"username={USER} password={PASSWORD} tenant_code={CODE}")
        assert (await say(server, beta_alex, f"device lock {beta_device}")).title == \
            "Workspace ONE is not set up"

        await say(server, beta_alex, f"integrations set workspace-one url={beta_url} "
                                     "username=beta-admin password=beta-password-1 tenant_code=BETACODE")
        locked_a = await say(server, acme_alex, f"device lock {acme_device}")
        locked_b = await say(server, beta_alex, f"device lock {beta_device}")
        assert (locked_a.title, locked_b.title) == (f"Lock: {acme_device}", f"Lock: {beta_device}")
        # One lock each, each at its own tenant's Workspace ONE (the fleets may share names).
        assert [(s.kind, s.device_id) for s in deployment.sent if s.kind == "Lock"] == [
            ("Lock", s.device_id) for s in deployment.sent_to(acme_device, "Lock")]
        assert [s.kind for s in deployment.sent if s.kind == "Lock"] == ["Lock"]
        assert [s.kind for s in beta_sim.sent if s.kind == "Lock"] == ["Lock"]
        assert len(beta_sim.sent_to(beta_device, "Lock")) == 1
        # Each tenant's list shows only its own record.
        assert beta_url not in text_of(await say(server, acme_alex, "integrations list"))
        assert deployment_url not in text_of(await say(server, beta_alex, "integrations list"))
        # Beta's unset never falls back to the deployment's configuration.
        gone = text_of(await say(server, beta_alex, "integrations unset workspace-one"))
        assert "Workspace ONE is not set up here any more." in gone
        assert (await say(server, beta_alex, f"device lock {beta_device}")).title == \
            "Workspace ONE is not set up"


async def test_another_process_sees_a_changed_record_at_its_next_command(tmp_path: Path) -> None:
    """Two runtimes on one database (two replicas): a change made through one reaches the
    other's next command, which builds a new client instead of keeping the old one."""
    async with simulator() as (first, first_url), \
            simulator("second-admin", "second-password", "SECOND") as (second, second_url), \
            deskhand(tmp_path, first_url) as one, deskhand(tmp_path, first_url) as two:
        device = await seed_sim(first, one, one.runtime.tenant_id)
        await seed_sim(second, one, one.runtime.tenant_id)
        alex_one = await person(one, one.runtime.tenant_id, ALEX)
        alex_two = await person(two, two.runtime.tenant_id, ALEX)
        await say(two, alex_two, f"device sync {device}")
        await say(one, alex_one, f"integrations set workspace-one url={second_url} "
                                 "username=second-admin password=second-password tenant_code=SECOND")
        synced = await say(two, alex_two, f"device sync {device}")
        assert synced.title == f"Sync: {device}"
        assert len(first.sent_to(device, "SyncDevice")) == 1
        assert len(second.sent_to(device, "SyncDevice")) == 1


async def _check(url: str, *argv: str, **env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    clean.update(DESKHAND_DATABASE_URL=url, DESKHAND_SECRET_KEY=SECRET, DESKHAND_TENANT="acme",
                 DESKHAND_TENANT_NAME="Acme", **env)
    proc = await asyncio.create_subprocess_exec(DESKHAND, "check", *argv, env=clean,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_deskhand_check_prints_one_line_per_finding_and_exits_1_on_a_problem(
        tmp_path: Path) -> None:
    async with simulator() as (_, url), deskhand(tmp_path, url) as server:
        beta = await other_tenant(server)
        beta_alex = await person(server, beta, ALEX)
        await say(server, beta_alex, f"integrations set workspace-one url={url} username={USER} "
                                     f"password=not-the-password tenant_code={CODE}")
        db_url = str(server.runtime.db.engine.url)
        ws1 = {"DESKHAND_WS1_URL": url, "DESKHAND_WS1_USERNAME": USER,
               "DESKHAND_WS1_PASSWORD": PASSWORD, "DESKHAND_WS1_TENANT_CODE": CODE}
        (code_a, out_a), (code_b, out_b), (code_c, out_c), (code_d, out_d) = await asyncio.gather(
            _check(db_url, **ws1), _check(db_url, "--tenant", "beta", **ws1),
            _check(db_url, "--tenant", "nobody"), _check(db_url, "--only", "workspace-one"))
    assert code_a == 0, out_a
    lines = out_a.splitlines()
    assert "ok      workspace-one: Workspace ONE accepts deskhand's sign-in and lists 0 devices." in lines
    assert "off     teamviewer: Not set up for this tenant." in lines
    assert "off     servicenow: Not set up for this tenant." in lines and len(lines) == 4
    assert code_b == 1 and out_b.startswith("PROBLEM workspace-one: ") and PASSWORD not in out_b
    assert "not-the-password" not in out_b
    assert code_c == 1 and "there is no tenant `nobody`" in out_c
    # Without DESKHAND_WS1_* the deployment's own tenant has no Workspace ONE: not an error.
    assert code_d == 0 and out_d.splitlines() == ["off     workspace-one: Not set up for this tenant."]
