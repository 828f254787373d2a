"""The SCIM protocol's edges: tokens and tenants, discovery, paging, and every refusal as a SCIM
error body (401, 400 invalidFilter/invalidSyntax/invalidValue, 404, 409, 413), never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.rbac_admin import bootstrap_admin
from tests.conftest import LiveServer
from tests.handlers.scim_env import Idp, idp, issue_token, say, scim_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def user(name: str, **extra: object) -> dict[str, object]:
    return {"schemas": [USER], "userName": name, "emails": [{"value": name, "primary": True}],
            "active": True, **extra}


async def refused(client: Idp, method: str, path: str, status: int, scim_type: str | None = None,
                  **kw: object) -> str:
    got, _, body = await client.call(method, path, **kw)  # type: ignore[arg-type]
    assert got == status, (got, body)
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    return str(body["detail"])


async def test_tokens_reach_only_their_tenant(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server:
        token_a, token_b = await issue_token(server), await issue_token(server, "beta")
        async with idp(server, token_a) as a, idp(server, token_b) as b:
            detail = await refused(a, "GET", "/Users", 401, token="scim_wrong")
            assert "Bearer" in detail
            status, headers, _ = await a.call("GET", "/Users", token=" ")
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
            _, _, ada = await a.call("POST", "/Users", user("ada@example.com"))
            _, _, bob = await b.call("POST", "/Users", user("bob@example.com"))
            # The same userName may live in both tenants; each sees only its own.
            assert (await b.call("POST", "/Users", user("ada@example.com")))[0] == 201
            _, _, page = await a.call("GET", "/Users")
            assert [u["userName"] for u in page["Resources"]] == ["ada@example.com"]
            await refused(a, "GET", f"/Users/{bob['id']}", 404)
            await refused(a, "PATCH", f"/Users/{bob['id']}", 404, body={
                "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
            await refused(a, "DELETE", f"/Users/{bob['id']}", 404)
            _, _, group_b = await b.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ops"})
            await refused(a, "GET", f"/Groups/{group_b['id']}", 404)
            # A tenant's group cannot take the other tenant's people.
            await refused(a, "POST", "/Groups", 400, "invalidValue", body={
                "schemas": [GROUP], "displayName": "Ops", "members": [{"value": bob["id"]}]})
            _, _, still = await b.call("GET", f"/Users/{bob['id']}")
            assert still["active"] is True and ada["id"] != bob["id"]


async def test_discovery_documents(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        status, _, config = await client.call("GET", "/ServiceProviderConfig")
        assert status == 200 and config["patch"]["supported"] is True
        assert config["filter"] == {"supported": True, "maxResults": 200}
        assert config["bulk"]["supported"] is False
        _, _, types = await client.call("GET", "/ResourceTypes")
        by_name = {t["name"]: t for t in types["Resources"]}
        assert by_name["User"]["endpoint"] == "/Users"
        assert by_name["User"]["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
        _, _, schemas = await client.call("GET", "/Schemas")
        ids = {s["id"] for s in schemas["Resources"]}
        assert {USER, GROUP, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} <= ids
        status, _, one = await client.call("GET", f"/Schemas/{USER}")
        assert status == 200 and any(a["name"] == "userName" for a in one["attributes"])
        await refused(client, "GET", "/Schemas/urn:nope", 404)
        await refused(client, "GET", "/Bulk", 404)


async def test_paging_and_filters(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        for n in range(5):
            assert (await client.call("POST", "/Users", user(f"p{n}@example.com",
                                                             externalId=f"x{n}")))[0] == 201
        _, _, page = await client.call("GET", "/Users", params={"startIndex": "2", "count": "2"})
        assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
        assert [u["userName"] for u in page["Resources"]] == ["p1@example.com", "p2@example.com"]
        _, _, page = await client.call("GET", "/Users", params={"startIndex": "0", "count": "-3"})
        assert (page["totalResults"], page["startIndex"], page["Resources"]) == (5, 1, [])
        _, _, page = await client.call("GET", "/Users", params={"startIndex": "9"})
        assert page["totalResults"] == 5 and page["Resources"] == []
        _, _, page = await client.call("GET", "/Users", params={
            "filter": 'externalId eq "x3" and userName eq "P3@EXAMPLE.COM"', "attributes": "userName"})
        assert page["Resources"] == [{"schemas": [USER], "id": page["Resources"][0]["id"],
                                      "userName": "p3@example.com"}]
        _, _, page = await client.call("GET", "/Users", params={"filter": 'externalId eq "X3"'})
        assert page["totalResults"] == 0  # externalId is caseExact
        await refused(client, "GET", "/Users", 400, "invalidValue", params={"count": "ten"})
        await refused(client, "GET", "/Users", 400, "invalidValue", params={"startIndex": "1.5"})
        for bad in ('userName co "p"', 'userName eq "a" or userName eq "b"', "not (userName pr)",
                    'title eq "x"', "userName eq 1", 'userName eq "x") or (1 eq 1',
                    'userName eq "x"; DROP TABLE principals; --', "x" * 2000, "((((", '"'):
            await refused(client, "GET", "/Users", 400, "invalidFilter", params={"filter": bad})
        _, _, page = await client.call("GET", "/Users")
        assert page["totalResults"] == 5  # nothing a filter said reached the database


async def test_bodies_refused_with_scim_errors(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        await refused(client, "POST", "/Users", 400, "invalidSyntax", raw=b"{not json")
        await refused(client, "POST", "/Users", 400, "invalidSyntax", raw=b"[1, 2]")
        await refused(client, "POST", "/Users", 400, "invalidSyntax", body=user(
            "u@example.com", favouriteColour="green"))
        await refused(client, "POST", "/Users", 400, "invalidValue", body={
            "schemas": [USER], "userName": "no-email-here"})
        await refused(client, "POST", "/Users", 400, "invalidValue", body=user("a" * 400 + "@x.com"))
        await refused(client, "POST", "/Users", 413, raw=b'{"userName": "' + b"a" * (1024 * 1024) + b'"}')
        _, _, ada = await client.call("POST", "/Users", user("ada@example.com"))
        await refused(client, "PATCH", f"/Users/{ada['id']}", 400, "invalidValue", body={
            "schemas": [PATCH], "Operations": [{"op": "explode", "path": "active"}]})
        await refused(client, "PATCH", f"/Users/{ada['id']}", 400, "invalidValue", body={
            "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "maybe"}]})
        await refused(client, "PUT", f"/Users/{ada['id']}", 409, "uniqueness", body=user(
            "ada@example.com", emails=[{"value": "alex.admin@example.com", "primary": True}]))
        await refused(client, "GET", "/Users/abc", 404)
        await refused(client, "GET", "/Users/99999999999999999999", 404)
        _, _, g = await client.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ops"})
        await refused(client, "POST", "/Groups", 409, "uniqueness", body={
            "schemas": [GROUP], "displayName": "ops"})
        await refused(client, "PATCH", f"/Groups/{g['id']}", 400, "invalidValue", body={
            "schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                                                "value": [{"value": "not-an-id"}]}]})


async def test_a_known_person_is_adopted_not_duplicated(tmp_path: Path) -> None:
    """The bootstrap administrator provisioned later by the IdP stays one person."""
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        async with server.runtime.db.uow() as uow:
            admin = await bootstrap_admin(uow, server.runtime.tenant_id, "root@example.com", "Root")
            await uow.commit()
        status, _, made = await client.call("POST", "/Users", user("Root@Example.com"))
        assert status == 201 and made["id"] == str(admin.principal_id)
        assert (await say(server, "root@example.com", "devices"))["title"] != "Not allowed"


@pytest.mark.postgres
async def test_the_sequence_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    async with scim_server(tmp_path, pg_url) as server, idp(server, await issue_token(server)) as c:
        await _sequence(server, c)


async def _sequence(server: LiveServer, client: Idp) -> None:
    _, _, ada = await client.call("POST", "/Users", user("ada@example.com"))
    assert (await client.call("POST", "/Users", user("ADA@example.com")))[0] == 409
    _, _, g = await client.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ops",
                                                    "members": [{"value": ada["id"]}]})
    _, _, page = await client.call("GET", "/Groups", params={"filter": f'members.value eq "{ada["id"]}"'})
    assert [x["id"] for x in page["Resources"]] == [g["id"]]
    status, _, patched = await client.call("PATCH", f"/Users/{ada['id']}", {
        "schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert status == 200 and patched["active"] is False
    assert (await client.call("DELETE", f"/Users/{ada['id']}"))[0] == 204
    _, _, page = await client.call("GET", "/Users", params={"filter": 'userName eq "ada@example.com"'})
    assert page["totalResults"] == 0


def test_scim_token_cli_creates_once_and_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DESKHAND_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("DESKHAND_TENANT", "acme")
    monkeypatch.setenv("DESKHAND_SECRET_KEY", "test-secret-key-0123456789abcdef")
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["scim-token", "rotate"]) == 1
    assert "no SCIM token yet" in capsys.readouterr().err
    assert cli.main(["scim-token", "create", "--tenant", "acme"]) == 0
    first = capsys.readouterr().out
    assert "scim_" in first and "/scim/v2" in first
    assert cli.main(["scim-token", "create", "--tenant", "acme"]) == 1
    assert "rotate" in capsys.readouterr().err
    assert cli.main(["scim-token", "rotate", "--tenant", "acme"]) == 0
    second = capsys.readouterr().out
    secret = lambda out: next(w for w in out.split() if w.startswith("scim_"))  # noqa: E731
    assert secret(first) != secret(second)
    assert cli.main(["scim-token", "create", "--tenant", "nobody"]) == 1
    assert "no tenant `nobody`" in capsys.readouterr().err


async def test_a_deleted_user_comes_back_with_nothing(tmp_path: Path) -> None:
    """DELETE ends the person's chat links and own grants: created again with the same email,
    they start from nothing, not from the old person's access."""
    from sqlalchemy import func, select

    from bot.rbac_admin import Granter, grant
    from storage.directory import ChatIdentity
    from storage.rbac import RoleAssignment

    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        _, _, made = await client.call("POST", "/Users", user("leaver@example.com"))
        async with server.runtime.db.uow() as uow:
            await grant(uow, server.runtime.tenant_id, Granter("test"), "Full Administrator",
                        email="leaver@example.com")
            await uow.commit()
        assert (await say(server, "leaver@example.com", "devices"))["title"] != "Not allowed"
        assert (await client.call("DELETE", f"/Users/{made['id']}"))[0] == 204
        status, _, again = await client.call("POST", "/Users", user("leaver@example.com"))
        assert status == 201 and again["active"] is True
        async with server.runtime.db.uow() as uow:
            pid = int(again["id"])
            links = await uow.session.scalar(select(func.count()).select_from(ChatIdentity)
                                             .where(ChatIdentity.principal_id == pid))
            grants = await uow.session.scalar(select(func.count()).select_from(RoleAssignment)
                                              .where(RoleAssignment.principal_id == pid))
        assert (links, grants) == (0, 0)
        assert (await say(server, "leaver@example.com", "devices"))["title"] == "Not allowed"


async def test_ids_that_are_not_ours_are_refused_not_crashed_on(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        await refused(client, "GET", "/Users/\u00b2", 404)
        await refused(client, "GET", "/Groups/" + "9" * 30, 404)
        await refused(client, "POST", "/Groups", 400, "invalidValue", body={
            "schemas": [GROUP], "displayName": "Ops", "members": [{"value": "\u00b2"}]})
        for path in ('/Users?filter=id eq "' + "9" * 30 + '"',
                     '/Groups?filter=members.value eq "' + "9" * 30 + '"',
                     '/Groups?filter=id eq "\u00b2"'):
            status, _, page = await client.call("GET", path)
            assert status == 200 and page["totalResults"] == 0, (path, page)


async def test_groups_made_by_hand_stay_out_of_the_idps_reach(tmp_path: Path) -> None:
    """A directory group an administrator made (roles may be bound to it) is not SCIM's to
    list, rename, change or delete; pushing one of the same name is a uniqueness conflict."""
    from storage.directory import DirectoryRepo

    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        async with server.runtime.db.uow() as uow:
            made = await uow.repo(DirectoryRepo).ensure_group(server.runtime.tenant_id, "Admins")
            await uow.commit()
        _, _, page = await client.call("GET", "/Groups")
        assert page["totalResults"] == 0
        await refused(client, "GET", f"/Groups/{made.id}", 404)
        await refused(client, "DELETE", f"/Groups/{made.id}", 404)
        await refused(client, "PATCH", f"/Groups/{made.id}", 404, body={
            "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"displayName": "X"}}]})
        await refused(client, "POST", "/Groups", 409, "uniqueness",
                      body={"schemas": [GROUP], "displayName": "admins"})
        status, _, own = await client.call("POST", "/Groups", {"schemas": [GROUP],
                                                               "displayName": "Ops"})
        assert status == 201 and (await client.call("GET", f"/Groups/{own['id']}"))[0] == 200


async def test_roles_and_entitlements_sent_by_an_idp_are_not_kept(tmp_path: Path) -> None:
    """Nothing in deskhand is granted by SCIM `roles`: keeping and echoing them would suggest so."""
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        status, _, made = await client.call("POST", "/Users", user(
            "rolo@example.com", roles=[{"value": "admin"}], entitlements=[{"value": "all"}]))
        assert status == 201 and "roles" not in made and "entitlements" not in made
        _, _, got = await client.call("GET", f"/Users/{made['id']}")
        assert "roles" not in got and "entitlements" not in got
