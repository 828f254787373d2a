"""SCIM creates and renames that race for one name or one person, on SQLite and PostgreSQL:
group names differing only in case are one name (the database says so too, so two requests at
once cannot both take it), and a person already in the directory is adopted by one SCIM user,
never by two at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.directory import DirectoryRepo
from tests.handlers.scim_env import idp, issue_token, scim_server
from tests.handlers.test_scim_writes import GROUP, made, ops, user

NAMES = ("Ops", "OPS", "ops", "oPs", "OpS", "oPS", "opS", "OPs")


async def test_racing_group_names_that_differ_in_case_make_one_group(tmp_path: Path,
                                                                     db_url: str) -> None:
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as c:
        answers = await asyncio.gather(*(c.call("POST", "/Groups", {
            "schemas": [GROUP], "displayName": name}) for name in NAMES))
        assert sorted(a[0] for a in answers) == [201] + [409] * (len(NAMES) - 1), answers
        assert {a[2]["scimType"] for a in answers if a[0] == 409} == {"uniqueness"}
        _, _, listed = await c.call("GET", "/Groups")
        assert listed["totalResults"] == 1

        # Renames race the same way: of several groups renamed to one name at once, one is.
        others = [await made(c, "/Groups", {"schemas": [GROUP], "displayName": f"Team {n}"})
                  for n in range(len(NAMES))]
        answers = await asyncio.gather(*(c.call("PATCH", f"/Groups/{g['id']}", ops(
            {"op": "replace", "value": {"displayName": f"Help {name}"}}))
            for g, name in zip(others, NAMES, strict=True)))
        assert sorted(a[0] for a in answers) == [204] + [409] * (len(NAMES) - 1), answers
        _, _, listed = await c.call("GET", "/Groups", params={"filter": 'displayName eq "help ops"'})
        assert listed["totalResults"] == 1


async def test_a_known_person_is_adopted_by_one_scim_user_at_most(tmp_path: Path,
                                                                 db_url: str) -> None:
    async with scim_server(tmp_path, db_url) as server, idp(server, await issue_token(server)) as c:
        rt = server.runtime
        async with rt.db.uow() as uow:  # the bootstrap administrator, before SCIM was set up
            boss = await uow.repo(DirectoryRepo).upsert_principal(rt.tenant_id, "boss@example.com",
                                                                  "Boss")
            await uow.commit()
        bodies = [{**user(f"boss{n}@idp.example"), "emails": [
            {"value": "boss@example.com", "primary": True}]} for n in range(6)]
        answers = await asyncio.gather(*(c.call("POST", "/Users", body) for body in bodies))
        assert sorted(a[0] for a in answers) == [201] + [409] * 5, answers
        [won] = [a[2] for a in answers if a[0] == 201]
        assert won["id"] == str(boss.id)
        _, _, got = await c.call("GET", f"/Users/{boss.id}")
        assert got["userName"] == won["userName"]
        _, _, listed = await c.call("GET", "/Users")
        assert listed["totalResults"] == 1
