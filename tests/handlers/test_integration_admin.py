"""`integrations list|set|unset|test` from the console (WebSocket): values checked against the
config model, secrets sealed in the database and never in chat or the audit trail, the next
command using what an admin just changed."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bot.demo import FLEET_SIZE
from bot.model import ReplyTarget
from bot.places import said_privately
from integrations.simulator_kit import serve
from integrations.tachyon.simulator import TachyonSimulator
from storage.integrations import IntegrationRepo
from tests.bot.test_smoke_console import ConsoleClient, persona_id
from tests.handlers.integrations_env import ALEX, SAM, deskhand, person, say, seed_sim, text_of
from tests.handlers.test_remote import console
from tests.handlers.ws1_env import CODE, PASSWORD, USER, audit_of, simulator

OWN_PASSWORD, OWN_CODE = "own-password-4567", "OWNCODE77"


async def test_set_list_unset_and_the_next_command_uses_the_change(tmp_path: Path) -> None:
    async with simulator() as (deployment, deployment_url), \
            simulator("own-admin", OWN_PASSWORD, OWN_CODE) as (own, own_url), \
            deskhand(tmp_path, deployment_url) as server:
        rt = server.runtime
        device = await seed_sim(deployment, server, rt.tenant_id)
        await seed_sim(own, server, rt.tenant_id)
        async with console(server, ALEX) as alex:
            listed = text_of((await alex.say("integrations list"))["card"])
            assert "*Workspace ONE* (`workspace-one`): configured" in listed
            assert "the deployment's DESKHAND_* configuration" in listed
            assert "password: set" in listed and PASSWORD not in listed and CODE not in listed
            assert "*TeamViewer* (`teamviewer`): not set up" in listed

            for typed, said in (
                ("integrations set workspace-one colour=blue", "workspace-one has no `colour`; "
                 "its keys are url, tenant_code, username, password, client_id"),
                ("integrations set workspace-one api_version=9",
                 "api_version must be a whole number from 1 to 4, not `9`"),
                ("integrations set workspace-one url=ftp://x", "url must be an http(s) URL"),
                ("integrations set workday url=https://x", "There is no integration `workday`"),
                ("integrations set workspace-one", "Give at least one `key=value`"),
            ):
                refused = (await alex.say(typed))["card"]
                assert said in text_of(refused), (typed, text_of(refused))
            async with rt.db.uow() as uow:
                assert await uow.repo(IntegrationRepo).of_tenant(rt.tenant_id) == []

            await alex.say(f"device lock {device}")  # the deployment's Workspace ONE
            changed = (await alex.say(f"integrations set workspace-one url={own_url} "
                                      f"username=own-admin password={OWN_PASSWORD} "
                                      f"tenant_code={OWN_CODE}"))["card"]
            assert changed["title"] == "Workspace ONE configuration changed"
            assert "now uses its own Workspace ONE configuration" in text_of(changed)
            assert OWN_PASSWORD not in text_of(changed) and OWN_CODE not in text_of(changed)
            listed = text_of((await alex.say("integrations list"))["card"])
            assert "this workspace's own configuration (last changed by alex.admin" in listed
            assert "password: set" in listed and "tenant_code: set" in listed
            assert OWN_PASSWORD not in listed
            locked = (await alex.say(f"device lock {device}"))["card"]
            assert locked["title"] == f"Lock: {device}"
            assert [s.kind for s in deployment.sent_to(device, "Lock")] == ["Lock"]
            assert [s.kind for s in own.sent_to(device, "Lock")] == ["Lock"]

            # Half a record is not topped up from DESKHAND_WS1_*: it is not set up.
            await alex.say("integrations unset workspace-one password")
            listed = text_of((await alex.say("integrations list"))["card"])
            assert "incomplete: needs username and password" in listed
            refused = (await alex.say(f"device lock {device}"))["card"]
            assert refused["title"] == "Workspace ONE is not set up"
            assert len(deployment.sent_to(device, "Lock")) == 1

            gone = (await alex.say("integrations unset workspace-one"))["card"]
            assert "uses the deployment's DESKHAND_* configuration again" in text_of(gone)
            await alex.say(f"device lock {device}")
            assert len(deployment.sent_to(device, "Lock")) == 2 and len(own.sent_to(device, "Lock")) == 1
            nothing = (await alex.say("integrations unset workspace-one"))["card"]
            assert nothing["title"] == "Nothing to remove"


async def test_secrets_are_sealed_at_rest_and_kept_out_of_chat_and_audit(tmp_path: Path) -> None:
    async with simulator() as (_, url), deskhand(tmp_path, url) as server:
        rt = server.runtime
        async with console(server, ALEX) as alex:
            said = await alex.say(f"integrations set workspace-one url={url} username={USER} "
                                  f"password={OWN_PASSWORD} tenant_code={OWN_CODE} "
                                  "client_secret=oauth-secret-0000")
        pid = await persona_id(server, ALEX)  # what a reconnecting browser is sent again
        async with aiohttp.ClientSession() as http, \
                http.ws_connect(f"{server.url}/console/ws?persona={pid}") as ws:
            echoed = json.dumps(await ConsoleClient(ws).next("hello"))
        assert "password=[redacted]" in echoed and "username=api-admin" in echoed
        async with console(server, SAM) as sam:
            denied = await sam.say(f"integrations set workspace-one tenant_code={OWN_CODE}")
            assert denied["card"]["title"] == "Not allowed"
        async with rt.db.engine.connect() as conn:
            [(values, sealed)] = (await conn.execute(text(
                "SELECT \"values\", sealed FROM integration_configs"))).all()
        raw = f"{values} {sealed}"
        for secret in (OWN_PASSWORD, OWN_CODE, "oauth-secret-0000"):
            assert secret not in raw and secret not in json.dumps(said) and secret not in echoed
        sealed = json.loads(sealed) if isinstance(sealed, str) else sealed
        assert set(sealed) == {"password", "tenant_code", "client_secret"}
        assert rt.secrets.open(sealed["password"]) == OWN_PASSWORD
        assert (json.loads(values) if isinstance(values, str) else values)["username"] == USER
        rows = [*await audit_of(server, "integrations set")]
        assert [(r.kind, r.outcome) for r in rows] == [("command", "ok"), ("denial", "denied")]
        assert rows[0].params["values"]["username"] == USER
        assert rows[0].params["values"]["password"] == "[redacted]"
        trail = json.dumps([(r.params, r.detail) for r in rows])
        assert OWN_PASSWORD not in trail and OWN_CODE not in trail and "oauth-secret" not in trail


async def test_secrets_are_taken_only_where_the_person_alone_saw_them(tmp_path: Path) -> None:
    channel = ReplyTarget("teams", "19:general@thread.tacv2", extra={"conversation_type": "channel"})
    personal = ReplyTarget("teams", "a:1", extra={"conversation_type": "personal"})
    mention = ReplyTarget("slack", "C0123", extra={"received": 1.0})
    slash = ReplyTarget("slack", "C0123", extra={"response_url": "https://hooks.slack.com/x"})
    assert [said_privately(t) for t in (channel, personal, mention, slash)] == [False, True, False, True]
    async with simulator() as (_, url), deskhand(tmp_path, url) as server:
        rt = server.runtime
        alex = await person(server, rt.tenant_id, ALEX)
        refused = await say(server, alex, "integrations set teamviewer api_token=tv-9999", channel)
        assert refused.title == "Secrets only in a private chat"
        assert "`api_token` is a secret" in text_of(refused) and "tv-9999" not in text_of(refused)
        plain = await say(server, alex, "integrations set teamviewer session_group=desk", channel)
        assert plain.title == "TeamViewer configuration changed"  # nothing secret in it
        taken = await say(server, alex, "integrations set teamviewer api_token=tv-9999", personal)
        assert taken.title == "TeamViewer configuration changed"
        assert "api_token: set" in text_of(taken)


async def test_workspace_one_check_says_ok_or_what_is_wrong(tmp_path: Path) -> None:
    async with simulator() as (sim, url), deskhand(tmp_path, url) as server:
        await seed_sim(sim, server, server.runtime.tenant_id)
        async with console(server, ALEX) as alex:
            good = (await alex.say("integrations test workspace-one"))["card"]
            assert good["title"] == "Integration check" and "0 problem(s) found." in text_of(good)
            assert ("Workspace ONE | ok | Workspace ONE accepts deskhand's sign-in and lists "
                    f"{FLEET_SIZE} devices.") in text_of(good).replace('"', "")
            await alex.say(f"integrations set workspace-one url={url} username={USER} "
                           f"password=wrong-password tenant_code={CODE}")
            bad = text_of((await alex.say("integrations test workspace-one"))["card"])
            assert "PROBLEM" in bad and "1 problem(s) found." in bad
            assert "401" in bad or "refused" in bad
            assert "wrong-password" not in bad
            every = text_of((await alex.say("integrations test"))["card"])
            assert "TeamViewer" in every and "Not set up for this tenant." in every
        [first, second, _] = await audit_of(server, "integrations test")
        assert first.params["problems"] == 0 and second.params["problems"] == 1


async def test_1e_check_retrieves_instructions_and_checks_the_consumer(tmp_path: Path) -> None:
    token = "tachyon-token-0123456789"
    sim = TachyonSimulator(tokens={token: "svc@corp.example.com"}, consumers=("deskhand",))
    runner, tachyon_url = await serve(sim)
    try:
        async with simulator() as (_, url), deskhand(tmp_path, url) as server:
            alex = await person(server, server.runtime.tenant_id, ALEX)
            off = text_of(await say(server, alex, "integrations test 1e"))
            assert "1E Tachyon | off | Not set up for this tenant." in off
            await say(server, alex, f"integrations set 1e url={tachyon_url} token={token}")
            good = text_of(await say(server, alex, "integrations test 1e"))
            assert "1E accepts the consumer 'deskhand' and deskhand's token." in good
            assert "instructions deskhand may use" in good and "0 problem(s)" in good
            await say(server, alex, "integrations set 1e consumer=helpdesk-bot")
            entitled = text_of(await say(server, alex, "integrations test 1e"))
            assert "PROBLEM" in entitled and "consumer 'helpdesk-bot' is registered" in entitled
            assert token not in entitled
    finally:
        await runner.cleanup()


def test_a_new_url_drops_the_stored_secrets_unless_typed_again() -> None:
    """Credentials stored for one host never go to a host an admin types later."""
    from bot.integration import parse
    from handlers.device_actions.service import INTEGRATION

    current = {"url": "https://as1.awmdm.com/api/", "username": "api", "password": "pw-1",
               "tenant_code": "code-1"}
    moved = parse(INTEGRATION, current, {"url": "https://elsewhere.example.com/api/"})
    assert moved == {"url": "https://elsewhere.example.com/api/", "username": "api"}
    retyped = parse(INTEGRATION, current, {"url": "https://as2.awmdm.com/api/", "password": "pw-2",
                                           "tenant_code": "code-2"})
    assert (retyped["password"], retyped["tenant_code"]) == ("pw-2", "code-2")
    same = parse(INTEGRATION, current, {"url": current["url"], "username": "other"})
    assert same["password"] == "pw-1"  # the same URL typed again keeps them
