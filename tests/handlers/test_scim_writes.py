"""SCIM writes that race and versions (RFC 7644 3.14): concurrent PATCHes to one group or one
user all land, on SQLite and PostgreSQL; `meta.version` is the ETag, If-Match refuses a stale
write with 412 and changes nothing, If-None-Match answers 304."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.handlers.scim_env import Idp, idp, issue_token, scim_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MEMBERS = 16


def user(name: str) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, "emails": [{"value": name, "primary": True}]}


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


async def made(client: Idp, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, _, got = await client.call("POST", path, body)
    assert status == 201, got
    return got  # type: ignore[no-any-return]


async def test_concurrent_member_adds_to_one_group_all_land(tmp_path: Path, db_url: str) -> None:
    """Okta and Entra send one PATCH per membership change, many at once; each used to read the
    members, add its own and write the list back, so most of the adds were lost."""
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as c:
        people = [(await made(c, "/Users", user(f"m{n}@example.com")))["id"] for n in range(MEMBERS)]
        group = await made(c, "/Groups", {"schemas": [GROUP], "displayName": "Help Desk"})
        # Each member's own profile changes at the same time: a person's row and the group's
        # row are locked by different requests, and none may wait on the other for ever.
        answers = await asyncio.gather(
            *(c.call("PATCH", f"/Groups/{group['id']}", ops(
                {"op": "add", "path": "members", "value": [{"value": pid}]})) for pid in people),
            *(c.call("PATCH", f"/Users/{pid}", ops(
                {"op": "replace", "path": "displayName", "value": f"Member {pid}"}))
              for pid in people))
        assert [a[0] for a in answers] == [204] * MEMBERS + [200] * MEMBERS, [a[2] for a in answers]
        _, _, final = await c.call("GET", f"/Groups/{group['id']}")
        assert sorted(m["value"] for m in final["members"]) == sorted(people)
        for pid in people:
            _, _, got = await c.call("GET", f"/Users/{pid}")
            assert got["displayName"] == f"Member {pid}"
            assert [g["value"] for g in got["groups"]] == [group["id"]]
        # Removals race the same way (Entra's value-list form).
        answers = await asyncio.gather(*(c.call("PATCH", f"/Groups/{group['id']}", ops(
            {"op": "Remove", "path": "members", "value": [{"value": pid}]}))
            for pid in people[::2]))
        assert [a[0] for a in answers] == [204] * len(people[::2])
        _, _, final = await c.call("GET", f"/Groups/{group['id']}")
        assert sorted(m["value"] for m in final["members"]) == sorted(people[1::2])


async def test_concurrent_changes_to_one_user_all_land(tmp_path: Path, db_url: str) -> None:
    """Entra sends one PATCH per changed attribute; none may undo another."""
    attrs = {"nickName": "Babs", "title": "Engineer", "userType": "Employee", "locale": "en-GB",
             "preferredLanguage": "en", "timezone": "Europe/London", "displayName": "Barbara",
             "profileUrl": "https://example.com/babs"}
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as c:
        babs = await made(c, "/Users", user("babs@example.com"))
        answers = await asyncio.gather(*(c.call("PATCH", f"/Users/{babs['id']}", ops(
            {"op": "Add", "path": name, "value": value})) for name, value in attrs.items()))
        assert [a[0] for a in answers] == [200] * len(attrs), [a[2] for a in answers]
        _, _, got = await c.call("GET", f"/Users/{babs['id']}")
        assert {name: got.get(name) for name in attrs} == attrs


async def test_versions_guard_writes(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as c:
        status, _, config = await c.call("GET", "/ServiceProviderConfig")
        assert config["etag"] == {"supported": True}
        ada = await made(c, "/Users", user("ada@example.com"))
        status, headers, got = await c.call("GET", f"/Users/{ada['id']}")
        first = got["meta"]["version"]
        assert first.startswith('W/"') and headers["ETag"] == first == ada["meta"]["version"]
        # Unchanged: 304 and no body; any other tag: the resource.
        status, headers, body = await c.call("GET", f"/Users/{ada['id']}",
                                             headers={"If-None-Match": first})
        assert (status, body, headers["ETag"]) == (304, None, first)
        status, _, _ = await c.call("GET", f"/Users/{ada['id']}", headers={"If-None-Match": 'W/"x"'})
        assert status == 200

        status, headers, changed = await c.call("PATCH", f"/Users/{ada['id']}", ops(
            {"op": "replace", "path": "title", "value": "Analyst"}), headers={"If-Match": first})
        assert status == 200 and changed["meta"]["version"] not in (first, None)
        assert headers["ETag"] == changed["meta"]["version"]
        # The old version is stale now: refused, and nothing written.
        status, _, error = await c.call("PATCH", f"/Users/{ada['id']}", ops(
            {"op": "replace", "path": "title", "value": "Spy"}), headers={"If-Match": first})
        assert (status, error["schemas"], error["status"]) == (412, [ERROR], "412")
        assert changed["meta"]["version"] in error["detail"]
        status, _, _ = await c.call("PUT", f"/Users/{ada['id']}", user("ada@example.com"),
                                    headers={"If-Match": first})
        assert status == 412
        status, _, _ = await c.call("DELETE", f"/Users/{ada['id']}", headers={"If-Match": first})
        assert status == 412
        _, _, got = await c.call("GET", f"/Users/{ada['id']}")
        assert got["title"] == "Analyst" and got["active"] is True
        # A list of tags, one of them current, and `*`, both match.
        current = got["meta"]["version"]
        status, _, _ = await c.call("PUT", f"/Users/{ada['id']}", {**user("ada@example.com"),
                                    "title": "Lead"}, headers={"If-Match": f'W/"old", {current}'})
        assert status == 200
        status, _, _ = await c.call("PATCH", f"/Users/{ada['id']}", ops(
            {"op": "replace", "path": "title", "value": "Head"}), headers={"If-Match": "*"})
        assert status == 200


async def test_a_group_versions_its_members(tmp_path: Path) -> None:
    """A membership change is a new version of the group and of the member (its `groups`)."""
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as c:
        ada = await made(c, "/Users", user("ada@example.com"))
        ops_group = await made(c, "/Groups", {"schemas": [GROUP], "displayName": "Ops"})
        before = ops_group["meta"]["version"]
        status, headers, _ = await c.call("PATCH", f"/Groups/{ops_group['id']}", ops(
            {"op": "add", "path": "members", "value": [{"value": ada["id"]}]}),
            headers={"If-Match": before})
        _, _, grown = await c.call("GET", f"/Groups/{ops_group['id']}")
        assert status == 204 and headers["ETag"] == grown["meta"]["version"] != before
        _, _, member = await c.call("GET", f"/Users/{ada['id']}")
        assert member["meta"]["version"] != ada["meta"]["version"]
        # Without its members a group has no version to give (it is a digest of them).
        status, headers, bare = await c.call("GET", f"/Groups/{ops_group['id']}",
                                             params={"excludedAttributes": "members"})
        assert status == 200 and "ETag" not in headers and "version" not in bare["meta"]
        status, _, _ = await c.call("DELETE", f"/Groups/{ops_group['id']}",
                                    headers={"If-Match": before})
        assert status == 412
        status, _, _ = await c.call("DELETE", f"/Groups/{ops_group['id']}",
                                    headers={"If-Match": grown["meta"]["version"]})
        assert status == 204


async def test_racing_deactivations_end_as_the_last_one_said(tmp_path: Path, db_url: str) -> None:
    """`active` is applied after the commit (bot/people.py), so the deactivation of one PATCH
    and the reactivation of another may run in either order: each request checks afterwards
    that the person is as the last committed PATCH said (its title tells which that was)."""
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as c:
        carl = await made(c, "/Users", user("carl@example.com"))
        for burst in range(3):
            answers = await asyncio.gather(*(c.call("PATCH", f"/Users/{carl['id']}", ops(
                {"op": "replace", "value": {"active": n % 2 == burst % 2, "title": str(n)}}))
                for n in range(8)))
            assert [a[0] for a in answers] == [200] * 8
            _, _, got = await c.call("GET", f"/Users/{carl['id']}")
            last_said = int(got["title"]) % 2 == burst % 2
            assert got["active"] is last_said, (burst, got["title"])


async def test_a_rename_keeps_group_names_unique(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as c:
        ops_group = await made(c, "/Groups", {"schemas": [GROUP], "displayName": "Ops"})
        dev = await made(c, "/Groups", {"schemas": [GROUP], "displayName": "Dev"})
        status, _, error = await c.call("PATCH", f"/Groups/{dev['id']}", ops(
            {"op": "replace", "value": {"displayName": "OPS"}}))
        assert (status, error["scimType"]) == (409, "uniqueness")
        status, _, _ = await c.call("PATCH", f"/Groups/{ops_group['id']}", ops(
            {"op": "replace", "value": {"displayName": "OPS"}}))  # its own name, recased
        _, _, got = await c.call("GET", f"/Groups/{ops_group['id']}")
        assert status == 204 and got["displayName"] == "OPS"
