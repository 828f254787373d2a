"""What Okta and Entra look people and groups up by, over HTTP on SQLite and PostgreSQL (the
typed email filter is JSON SQL of each): `emails[type eq "work"].value`, `emails.value`,
`externalId`, `id`, group `displayName`, Entra's member check `id eq ... and members eq ...`,
`members[value eq ...]`; the rest is 400 invalidFilter naming what is supported. And a user's
read-only `groups`: the SCIM groups they are in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.directory import DirectoryRepo
from tests.handlers.scim_env import Idp, idp, issue_token, scim_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def found(client: Idp, path: str, query: str, **params: str) -> list[dict[str, Any]]:
    status, _, page = await client.call("GET", path, params={"filter": query, **params})
    assert status == 200 and page["totalResults"] == len(page["Resources"]), page
    return page["Resources"]  # type: ignore[no-any-return]


async def ids(client: Idp, path: str, query: str, **params: str) -> list[str]:
    return [r["id"] for r in await found(client, path, query, **params)]


async def test_lookups_okta_and_entra_send(tmp_path: Path, db_url: str) -> None:
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as c:
        _, _, upn = await c.call("POST", "/Users", {
            "schemas": [USER], "userName": "Test_User@contoso.com", "externalId": "0a21f0f2",
            "emails": [{"primary": True, "type": "work", "value": "Test_User@contoso.com"}]})
        _, _, home = await c.call("POST", "/Users", {
            "schemas": [USER], "userName": "casey", "externalId": "00ujl29u",
            "emails": [{"primary": True, "type": "home", "value": "casey@example.net"},
                       {"type": "work", "value": "casey@contoso.com"}]})
        # Entra's matching attribute, the type and the value both case-insensitive.
        assert await ids(c, "/Users", 'emails[type eq "work"].value eq "test_user@contoso.com"') \
            == [upn["id"]]
        assert await ids(c, "/Users", 'emails[Type eq "WORK"].value eq "TEST_USER@contoso.com"') \
            == [upn["id"]]
        assert await ids(c, "/Users", 'emails[type eq "home"].value eq "test_user@contoso.com"') \
            == []
        assert await ids(c, "/Users", 'emails[type eq "home"].value eq "casey@example.net"') \
            == [home["id"]]
        # The email filters compare the email deskhand keeps (the primary): Casey's work email
        # is not it, so a create with it would be a new person (docs/scim.md).
        assert await ids(c, "/Users", 'emails[type eq "work"].value eq "casey@contoso.com"') == []
        assert await ids(c, "/Users", 'emails.value eq "Casey@Example.net"') == [home["id"]]
        assert await ids(c, "/Users", 'emails[value eq "casey@example.net"]') == [home["id"]]
        assert await ids(c, "/Users", 'emails eq "casey@example.net"') == [home["id"]]
        assert await ids(c, "/Users", 'externalId eq "00ujl29u"') == [home["id"]]
        assert await ids(c, "/Users", f'id eq "{upn["id"]}" and userName eq "test_user@contoso.com"') \
            == [upn["id"]]

        _, _, desk = await c.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Help Desk",
                                                      "externalId": "g-1",
                                                      "members": [{"value": upn["id"]}]})
        _, _, ops = await c.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ops"})
        assert await ids(c, "/Groups", 'displayName eq "help desk"') == [desk["id"]]
        assert await ids(c, "/Groups", 'externalId eq "g-1"') == [desk["id"]]
        assert await ids(c, "/Groups", f'members[value eq "{upn["id"]}"]') == [desk["id"]]
        assert await ids(c, "/Groups", f'members.value eq "{home["id"]}"') == []
        # Entra's check whether a person is (still) in a group, asking for the id alone.
        member_check = f'id eq "{desk["id"]}" and members eq "{upn["id"]}"'
        assert await found(c, "/Groups", member_check, attributes="id") == [
            {"schemas": [GROUP], "id": desk["id"]}]
        assert await ids(c, "/Groups", f'id eq "{ops["id"]}" and members eq "{upn["id"]}"') == []


async def test_filters_outside_what_is_supported_say_what_is(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as c:
        for path, query in (("/Users", 'emails[type eq "work"]'),
                            ("/Users", 'emails[value co "x"]'),
                            ("/Users", 'emails[type eq "work" or value eq "x"]'),
                            ("/Users", 'emails[primary eq true].value eq "x"'),
                            ("/Users", 'phoneNumbers[type eq "work"].value eq "1"'),
                            ("/Users", 'emails[value eq "a" and value eq "b"]'),
                            ("/Users", 'emails[type eq "work"].value eq 5'),
                            ("/Groups", 'members[display eq "ada"]'),
                            ("/Groups", 'members[value ne "1"]')):
            status, _, error = await c.call("GET", path, params={"filter": query})
            assert (status, error["scimType"]) == (400, "invalidFilter"), (query, error)
        _, _, error = await c.call("GET", "/Users", params={"filter": 'emails[type eq "work"]'})
        assert 'emails[type eq "..."].value' in error["detail"] and "userName" in error["detail"]
        _, _, error = await c.call("GET", "/Groups", params={"filter": 'members[display eq "a"]'})
        assert 'members[value eq "..."]' in error["detail"]


async def test_a_user_shows_the_scim_groups_they_are_in(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as c:
        _, _, ada = await c.call("POST", "/Users", {"schemas": [USER], "userName": "ada@example.com",
                                                    "groups": []})
        assert "groups" not in ada
        made = []
        for name in ("Ops", "Help Desk"):
            _, _, group = await c.call("POST", "/Groups", {"schemas": [GROUP], "displayName": name,
                                                           "members": [{"value": ada["id"]}]})
            made.append(group)
        # A group made by hand that Ada is in stays out of SCIM's view, here too.
        async with server.runtime.db.uow() as uow:
            repo = uow.repo(DirectoryRepo)
            admins = await repo.ensure_group(server.runtime.tenant_id, "Admins")
            await repo.add_member(admins.id, int(ada["id"]))
            await uow.commit()
        base = server.url + "/scim/v2"
        expected = [{"value": g["id"], "display": g["displayName"], "$ref": f"{base}/Groups/{g['id']}"}
                    for g in made]
        _, _, got = await c.call("GET", f"/Users/{ada['id']}")
        assert got["groups"] == expected
        page = await found(c, "/Users", 'userName eq "ada@example.com"')
        assert page[0]["groups"] == expected
        page = await found(c, "/Users", 'userName eq "ada@example.com"', excludedAttributes="groups")
        assert "groups" not in page[0]
        # Read-only: a PUT that lists groups changes no membership, and a PATCH of them is refused.
        status, _, put = await c.call("PUT", f"/Users/{ada['id']}", {
            "schemas": [USER], "userName": "ada@example.com", "groups": [{"value": str(admins.id)}]})
        assert status == 200 and put["groups"] == expected
        status, _, error = await c.call("PATCH", f"/Users/{ada['id']}", {
            "schemas": [PATCH], "Operations": [{"op": "add", "path": "groups",
                                                "value": [{"value": str(admins.id)}]}]})
        assert status == 400 and error["scimType"] == "mutability", error
        await c.call("PATCH", f"/Groups/{made[0]['id']}", {"schemas": [PATCH], "Operations": [
            {"op": "remove", "path": f'members[value eq "{ada["id"]}"]'}]})
        _, _, got = await c.call("GET", f"/Users/{ada['id']}")
        assert got["groups"] == expected[1:]
