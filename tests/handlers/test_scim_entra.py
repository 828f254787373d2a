"""Microsoft Entra's provisioning sequence over HTTP, with its habits (integrations.md 5.3):
capitalised ops, booleans as strings, no-path replace with dotted and URN keys, its group schema
URI, member removal by a value list, `excludedAttributes=members`; chat follows each step."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.handlers.scim_env import grant_group, idp, issue_token, say, scim_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
UPN = "Test_User_4d1e@contoso.com"


def entra_user() -> dict[str, object]:
    return {"schemas": [USER, ENTERPRISE], "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": UPN, "active": True,
            "emails": [{"primary": True, "type": "work", "value": UPN}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
            "roles": [], ENTERPRISE: {"employeeNumber": "701984", "department": "IT"}}


async def test_entra_provisions_with_its_habits(tmp_path: Path, db_url: str) -> None:
    """On SQLite and PostgreSQL (the `db_url` fixture)."""
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as entra:
        # Test connection: a random value, an empty list (not a 404).
        status, _, page = await entra.call("GET", "/Users", params={
            "filter": f'userName eq "{uuid.uuid4()}"'})
        assert (status, page["totalResults"], page["Resources"]) == (200, 0, [])
        status, _, page = await entra.call("GET", "/Groups", params={
            "filter": f'displayName eq "{uuid.uuid4()}"', "excludedAttributes": "members"})
        assert (status, page["totalResults"]) == (200, 0)

        status, _, user = await entra.call("POST", "/Users", entra_user())
        assert status == 201 and user[ENTERPRISE]["employeeNumber"] == "701984"
        assert user["userName"] == UPN  # stored verbatim
        uid = user["id"]
        email = UPN.lower()
        status, _, page = await entra.call("GET", "/Users", params={
            "filter": f'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" and userName eq "{UPN}"'})
        assert page["totalResults"] == 1

        # One op per path, capitalised; then the flagged no-path replace with dotted/URN keys.
        status, _, user = await entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Tess User"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": UPN},
            {"op": "Add", "path": "nickName", "value": "Tess"}]})
        assert status == 200 and user["displayName"] == "Tess User" and user["nickName"] == "Tess"
        status, _, user = await entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {"name.givenName": "Tessa",
                                        f"{ENTERPRISE}:employeeNumber": "42"}}]})
        assert user["name"]["givenName"] == "Tessa" and user[ENTERPRISE]["employeeNumber"] == "42"
        assert user[ENTERPRISE]["department"] == "IT"

        # A group with Microsoft's extra schema URI, created empty, then members added.
        status, _, group = await entra.call("POST", "/Groups", {
            "schemas": [GROUP, MS_GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Endpoint Team", "meta": {"resourceType": "Group"}})
        assert status == 201
        gid = group["id"]
        await grant_group(server, "Console Viewer", "Endpoint Team")
        assert (await say(server, email, "devices"))["title"] == "Not allowed"
        status, _, _ = await entra.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": uid}]}]})
        assert status == 204  # what Entra asks of a group PATCH
        status, _, page = await entra.call("GET", "/Groups", params={
            "filter": 'displayName eq "Endpoint Team"', "excludedAttributes": "members"})
        assert page["totalResults"] == 1 and "members" not in page["Resources"][0]
        assert (await say(server, email, "devices"))["title"] != "Not allowed"

        # Member removal with a value list (no filter).
        status, _, _ = await entra.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
            {"op": "Remove", "path": "members", "value": [{"value": uid}]}]})
        assert status == 204
        status, _, group = await entra.call("GET", f"/Groups/{gid}")
        assert not group.get("members")
        assert (await say(server, email, "devices"))["title"] == "Not allowed"
        await entra.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": uid}]}]})
        assert (await say(server, email, "devices"))["title"] != "Not allowed"

        # Disable with a boolean as a string, then enable the same way.
        status, _, user = await entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"}]})
        assert status == 200 and user["active"] is False
        assert (await entra.call("GET", f"/Users/{uid}"))[2]["active"] is False
        assert (await say(server, email, "devices"))["title"] == "Your account is deactivated"
        status, _, user = await entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": "True"}]})
        assert user["active"] is True
        assert (await say(server, email, "devices"))["title"] != "Not allowed"

        # Scoped out with "Delete" enabled: gone from SCIM, refused in chat.
        assert (await entra.call("DELETE", f"/Users/{uid}"))[0] == 204
        status, _, missing = await entra.call("GET", f"/Users/{uid}")
        assert status == 404 and missing["status"] == "404"
        assert missing["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert (await say(server, email, "devices"))["title"] == "Your account is deactivated"
        status, _, group = await entra.call("GET", f"/Groups/{gid}")
        assert not group.get("members")

        # Provisioned again later: the same person comes back, active.
        status, _, again = await entra.call("POST", "/Users", entra_user())
        assert status == 201 and again["id"] == uid and again["active"] is True
