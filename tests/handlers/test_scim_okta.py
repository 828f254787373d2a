"""Okta's provisioning sequence over HTTP (integrations.md 5.2), ending each time with a chat
command whose allow/deny follows what Okta last said."""

from __future__ import annotations

from pathlib import Path

from tests.handlers.scim_env import OKTA_AGENT, grant_group, idp, issue_token, say, scim_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EMAIL = "test.user@okta.local"


def okta_user(**extra: object) -> dict[str, object]:
    return {"schemas": [USER], "userName": EMAIL,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": EMAIL, "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": True, **extra}


async def test_okta_provisions_pushes_groups_and_deactivates(tmp_path: Path, db_url: str) -> None:
    """On SQLite and PostgreSQL (the `db_url` fixture)."""
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server),
                                                    OKTA_AGENT) as okta:
        # Test connector and import: integer counts, a stable first page.
        status, _, page = await okta.call("GET", "/Users", params={"startIndex": "1", "count": "2"})
        assert status == 200 and page["totalResults"] == 0 and page["Resources"] == []
        assert page["startIndex"] == 1 and isinstance(page["itemsPerPage"], int)

        # Existence check, then create.
        status, _, page = await okta.call("GET", "/Users", params={
            "filter": f'userName eq "{EMAIL}"', "startIndex": "1", "count": "100"})
        assert (status, page["totalResults"]) == (200, 0)
        status, headers, user = await okta.call("POST", "/Users", okta_user())
        assert status == 201 and user["id"] and user["userName"] == EMAIL
        assert headers["Location"] == f"{server.url}/scim/v2/Users/{user['id']}"
        assert "password" not in user and user["active"] is True
        uid = user["id"]
        status, _, again = await okta.call("POST", "/Users", okta_user())
        assert status == 409 and again["scimType"] == "uniqueness" and again["status"] == "409"

        # userName compares case-insensitively.
        status, _, page = await okta.call("GET", "/Users", params={
            "filter": 'userName eq "TEST.USER@OKTA.LOCAL"'})
        assert page["totalResults"] == 1 and page["Resources"][0]["id"] == uid

        # Profile change by PUT after a GET.
        status, _, got = await okta.call("GET", f"/Users/{uid}")
        assert got["id"] == uid and got["name"]["givenName"] == "Test"
        assert status == 200
        status, _, put = await okta.call("PUT", f"/Users/{uid}", {
            **okta_user(), "id": uid, "name": {"givenName": "Tess", "familyName": "User"},
            "displayName": "Tess User"})
        assert status == 200 and put["displayName"] == "Tess User"

        # Push Groups: create empty, then add the member with a rename riding along.
        status, _, group = await okta.call("POST", "/Groups", {
            "schemas": [GROUP], "displayName": "Help Desk", "members": []})
        assert status == 201
        gid = group["id"]
        await grant_group(server, "Console Viewer", "Help Desk")
        assert (await say(server, EMAIL, "devices"))["title"] == "Not allowed"

        # A group PATCH answers 204 (integrations.md 5.1: Okta takes it) with the new version.
        status, headers, body = await okta.call("PATCH", f"/Groups/{gid}", {
            "schemas": [PATCH], "Operations": [
                {"op": "replace", "value": {"id": gid, "displayName": "Help Desk"}},
                {"op": "add", "path": "members", "value": [{"value": uid, "display": EMAIL}]}]})
        assert (status, body) == (204, None)
        status, _, group = await okta.call("GET", f"/Groups/{gid}")
        assert [m["value"] for m in group["members"]] == [uid]
        assert headers["ETag"] == group["meta"]["version"]
        assert (await say(server, EMAIL, "devices"))["title"] != "Not allowed"

        # Membership removed by a filter path: denied on the very next command.
        # Asked for attributes, a PATCH answers with the group as asked.
        status, _, group = await okta.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
            {"op": "remove", "path": f'members[value eq "{uid}"]'}]}, params={"attributes": "members"})
        assert status == 200 and group["id"] == gid and not group.get("members")
        assert (await say(server, EMAIL, "devices"))["title"] == "Not allowed"

        # Full push puts them back.
        status, _, _ = await okta.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "members", "value": [{"value": uid}]}]})
        _, _, group = await okta.call("GET", f"/Groups/{gid}")
        assert status == 204 and [m["value"] for m in group["members"]] == [uid]
        assert (await say(server, EMAIL, "devices"))["title"] != "Not allowed"

        # Deactivate (Okta never deletes): still readable, refused in chat.
        status, _, user = await okta.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {"active": False}}]})
        assert status == 200 and user["active"] is False
        status, _, page = await okta.call("GET", "/Users", params={"filter": f'userName eq "{EMAIL}"'})
        assert page["Resources"][0]["active"] is False
        card = await say(server, EMAIL, "devices")
        assert card["title"] == "Your account is deactivated"

        # Reactivated by a full PUT (AIW integrations).
        status, _, user = await okta.call("PUT", f"/Users/{uid}", okta_user(id=uid))
        assert status == 200 and user["active"] is True
        assert (await say(server, EMAIL, "devices"))["title"] != "Not allowed"

        # Unlink with delete.
        status, _, _ = await okta.call("DELETE", f"/Groups/{gid}")
        assert status == 204
        assert (await okta.call("GET", f"/Groups/{gid}"))[0] == 404
        assert (await say(server, EMAIL, "devices"))["title"] == "Not allowed"
