"""`deskhand directory import` as a real process on a temporary SQLite database: dry run,
import, idempotent re-import, bad rows reported by line with nothing half-imported, and a role
bound to an imported group reaching its members."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage.audit import AuditRepo
from storage.db import Database
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo
from tests.bot.test_cli import _env, run
from tests.conftest import sqlite_url

PEOPLE = """email,name,groups
alice@example.com,Alice Archer,London;Service Desk
Bob@Example.com , Bob Baker ,
"carol@example.com","Carol, Jr.",service desk; London ;London
"""


async def directory(url: str, slug: str = "acme") -> dict[str, tuple[str, bool, list[str]]]:
    db = Database(url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug(slug)
            if tenant is None:  # a dry run writes not even the tenant
                return {}
            repo = uow.repo(DirectoryRepo)
            return {p.email: (p.display_name, p.active,
                              [g.display_name for g in await repo.groups_of(p.id)])
                    for p in await repo.principals(tenant.id)}
    finally:
        await db.dispose()


async def imports(url: str) -> list[dict[str, object]]:
    db = Database(url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug("acme")
            assert tenant is not None
            rows = await uow.repo(AuditRepo).query(tenant.id)
            return [r.params for r in rows if r.action == "directory.import"]
    finally:
        await db.dispose()


def test_import_dry_run_idempotent_and_bad_rows(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    env = _env(url)
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    [upgraded] = run((env, ["db", "upgrade"]), cwd=tmp_path)
    assert upgraded.code == 0

    [dry] = run((env, ["directory", "import", str(people), "--dry-run"]), cwd=tmp_path)
    assert dry.code == 0, dry.err
    assert dry.out.splitlines() == [
        "  line 2: create alice@example.com (Alice Archer); joins London, Service Desk",
        "  line 3: create bob@example.com (Bob Baker)",
        "  line 4: create carol@example.com (Carol, Jr.); joins London, Service Desk",
        "dry run for tenant acme: 3 to create, 0 to update, 0 unchanged; 2 group(s) to create; "
        "4 membership(s) to add, 0 to remove; nothing was written"]
    assert asyncio.run(directory(url)) == {}

    [done] = run((env, ["directory", "import", str(people)]), cwd=tmp_path)
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1] == (
        "imported into tenant acme: 3 created, 0 updated, 0 unchanged; 2 group(s) created; "
        "4 membership(s) added, 0 removed")
    expected = {"alice@example.com": ("Alice Archer", True, ["London", "Service Desk"]),
                "bob@example.com": ("Bob Baker", True, []),
                "carol@example.com": ("Carol, Jr.", True, ["London", "Service Desk"])}
    assert asyncio.run(directory(url)) == expected

    [again] = run((env, ["directory", "import", str(people)]), cwd=tmp_path)
    assert again.out.strip() == ("imported into tenant acme: 0 created, 0 updated, 3 unchanged; "
                                 "0 group(s) created; 0 membership(s) added, 0 removed")
    assert asyncio.run(directory(url)) == expected

    [bound] = run((env, ["rbac", "grant", "Auditor", "--group", "service desk"]), cwd=tmp_path)
    assert bound.code == 0, bound.err
    carol, bob = run((env, ["rbac", "why", "carol@example.com", "audit.read"]),
                     (env, ["rbac", "why", "bob@example.com", "audit.read"]), cwd=tmp_path)
    assert carol.out.startswith("allowed") and bob.out.startswith("denied"), (carol.out, bob.out)

    changed = tmp_path / "changed.csv"
    changed.write_text("email,name,groups\nalice@example.com,Alice A.,Paris\n", encoding="utf-8")
    [update] = run((env, ["directory", "import", str(changed)]), cwd=tmp_path)
    assert update.out.splitlines()[0] == (
        "  line 2: update alice@example.com: name 'Alice Archer' -> 'Alice A.'; joins Paris; "
        "leaves London, Service Desk")
    assert asyncio.run(directory(url))["alice@example.com"] == ("Alice A.", True, ["Paris"])

    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,groups\nnew@example.com,New Person,Oslo\nnot-an-email,X,\n"
                   "bob@example.com,,\nnew@example.com,Again,\nz@example.com,Z,a,b\n",
                   encoding="utf-8")
    header = tmp_path / "header.csv"
    header.write_text("mail,name\nx@example.com,X\n", encoding="utf-8")
    [refused, no_header, missing, tenant] = run(
        (env, ["directory", "import", str(bad)]), (env, ["directory", "import", str(header)]),
        (env, ["directory", "import", str(tmp_path / "nope.csv")]),
        (env, ["directory", "import", str(people), "--tenant", "other"]), cwd=tmp_path)
    assert refused.code == 1 and refused.out == ""
    assert refused.err.splitlines() == [
        f"deskhand: {bad} has 4 bad row(s); nothing was imported:",
        "  line 3: 'not-an-email' is not an email address",
        "  line 4: the name is empty",
        "  line 5: new@example.com is also on line 2; each person once",
        "  line 6: more fields than the 3 columns (quote values that hold commas)"]
    assert "new@example.com" not in asyncio.run(directory(url))  # nothing half-imported
    assert no_header.code == 1 and "must name email and name" in no_header.err
    assert missing.code == 1 and "cannot read" in missing.err
    assert tenant.code == 1 and tenant.err.strip() == "deskhand: there is no tenant 'other'"
    counts = asyncio.run(imports(url))
    assert len(counts) == 3 and {"created": 3, "updated": 0, "unchanged": 0, "groups_created": 2,
                                 "joins": 4, "leaves": 0, "scim_left": 0} in counts


async def test_import_leaves_the_idps_groups_to_the_idp(tmp_path: Path) -> None:
    """A group the IdP made over SCIM keeps the members SCIM gave it, whatever the file says;
    the import says which memberships it left alone. Hand-made groups follow the file."""
    from tests.handlers.scim_env import idp, issue_token, scim_server

    url = sqlite_url(tmp_path)
    user = "urn:ietf:params:scim:schemas:core:2.0:User"
    async with scim_server(tmp_path, url) as server, \
            idp(server, await issue_token(server)) as okta:
        status, _, carol = await okta.call("POST", "/Users", {
            "schemas": [user], "userName": "carol@example.com", "displayName": "Carol",
            "emails": [{"value": "carol@example.com", "primary": True}], "active": True})
        assert status == 201
        status, _, _ = await okta.call("POST", "/Groups", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering", "members": [{"value": carol["id"]}]})
        assert status == 201

    # The server is stopped (SQLite: its scheduler would hold the file) before the import runs.
    people = tmp_path / "people.csv"
    people.write_text("email,name,groups\nalice@example.com,Alice,engineering;London\n"
                      "carol@example.com,Carol,London\n", encoding="utf-8")
    env = _env(url)
    [dry, done, again] = [run((env, ["directory", "import", str(people), *extra]),
                              cwd=tmp_path)[0] for extra in (["--dry-run"], [], [])]
    for result in (dry, done):
        assert result.code == 0, result.err
        assert result.out.splitlines()[:2] == [
            "  line 2: create alice@example.com (Alice); joins London; left to the IdP (SCIM "
            "group): Engineering (join)",
            "  line 3: update carol@example.com: joins London; left to the IdP (SCIM group): "
            "Engineering (leave)"]
    assert done.out.splitlines()[-1] == (
        "imported into tenant acme: 1 created, 1 updated, 0 unchanged; 1 group(s) created; "
        "2 membership(s) added, 0 removed; 2 membership(s) of SCIM groups left to the IdP")
    assert again.out.splitlines()[-1].endswith(
        "0 membership(s) added, 0 removed; 2 membership(s) of SCIM groups left to the IdP")
    found = await directory(url)
    assert found["carol@example.com"][2] == ["Engineering", "London"]
    assert found["alice@example.com"][2] == ["London"]
