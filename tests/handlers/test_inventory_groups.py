"""Management groups follow the vendor's group by its id: a group renamed in TeamViewer,
Workspace ONE or 1E renames deskhand's group and the role scopes naming it (the people scoped
to it keep their devices); a new name another deskhand group has is refused, and said."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from bot.runtime import Runtime
from handlers.inventory.sync import run_sync
from storage.audit import AuditRepo
from storage.devices import DeviceRepo, ManagementGroup
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo
from storage.tenants import SettingsRepo
from storage.vendor_groups import Renamed, VendorGroupRepo
from tests.conftest import LiveServer, sqlite_url
from tests.handlers.integrations_env import person, say, text_of
from tests.handlers.inventory_env import admin, deskhand, inventory, simulators

SAM = "sam@example.com"


async def settings(rt: Runtime, **values: object) -> None:
    async with rt.db.uow() as uow:
        current = await uow.repo(SettingsRepo).get(rt.tenant_id)
        await uow.repo(SettingsRepo).put(rt.tenant_id, {**current, **values}, "test")
        await uow.commit()


async def scoped(rt: Runtime, group: str) -> None:
    """Sam may see the devices of `group` only."""
    async with rt.db.uow() as uow:
        await uow.repo(DirectoryRepo).upsert_principal(rt.tenant_id, SAM, "Sam")
        await rbac_admin.grant(uow, rt.tenant_id, Granter("test"), "Endpoint Standard",
                               email=SAM, scope=Scope(device_groups=[group]))
        await uow.commit()


async def sam_sees(rt: Runtime) -> str:
    return text_of(await say(LiveServer(rt, ""), await person(LiveServer(rt, ""), rt.tenant_id,
                                                              SAM), "devices"))


async def groups(rt: Runtime) -> dict[str, tuple[str | None, str | None]]:
    async with rt.db.uow() as uow:
        rows = await uow.repo(DeviceRepo).groups(rt.tenant_id)
    return {g.name: (g.vendor, g.vendor_ref) for g in rows}


async def scopes(rt: Runtime) -> list[list[str] | None]:
    async with rt.db.uow() as uow:
        return [a.device_groups for a, _ in await uow.repo(RbacRepo).assignments(rt.tenant_id)]


async def test_a_teamviewer_group_renamed_at_the_source(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        await settings(rt, inventory_group_source="teamviewer")
        await run_sync(rt, rt.tenant_id)
        assert (await inventory(rt))["MAC-0001"][0] == "Support"
        assert (await groups(rt))["Support"][0] == "teamviewer"
        await scoped(rt, "support")
        assert "MAC-0001" in await sam_sees(rt)

        sims.tv.rename_group("Support", "Support EU")
        card = await say(LiveServer(rt, ""), await admin(rt), "devices sync")
        assert ("TeamViewer renamed group Support to Support EU: so did deskhand, with the 1 role "
                "assignment(s) scoped to it.") in text_of(card)
        rows = {r[0]: r[1:] for r in card.sections[0].rows}  # type: ignore[union-attr]
        assert rows["TeamViewer"][3] == "0"  # nobody moved: the group is the same one
        found = await inventory(rt)
        assert found["MAC-0001"][0] == found["PC-0001"][0] == "Support EU"
        assert "Support" not in await groups(rt)
        assert [s for s in await scopes(rt) if s] == [["Support EU"]]
        assert "MAC-0001" in await sam_sees(rt)
        async with rt.db.uow() as uow:
            [audited] = [e for e in await uow.repo(AuditRepo).query(rt.tenant_id)
                         if e.action == "group.rename"]
        assert (audited.target, audited.outcome, audited.params) == (
            "Support", "ok", {"to": "Support EU", "scopes": 1})

        # A new name another deskhand group has: the group keeps its own, and the card says so.
        async with rt.db.uow() as uow:
            await uow.repo(DeviceRepo).ensure_group(rt.tenant_id, "Helpdesk")
            await uow.commit()
        sims.tv.rename_group("Support EU", "helpdesk")
        card = await say(LiveServer(rt, ""), await admin(rt), "devices sync")
        assert "deskhand has another group called helpdesk: Support EU keeps its name" in \
            text_of(card)
        assert (await inventory(rt))["MAC-0001"][0] == "Support EU"
        assert [s for s in await scopes(rt) if s] == [["Support EU"]]


async def test_a_workspace_one_organization_group_renamed_at_the_source(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        await settings(rt, inventory_group_source="workspace-one")
        await run_sync(rt, rt.tenant_id)
        assert (await inventory(rt))["IPH-0001"][0] == "Corp"
        assert (await groups(rt))["Corp"] == ("workspace-one", "570")
        await scoped(rt, "Corp")

        for d in sims.ws1.devices:
            d.group = "Corp HQ"
        report = await run_sync(rt, rt.tenant_id)
        [ws1] = [s for s in report.sources if s.name == "workspace-one"]
        assert (ws1.moved, [(r.old, r.new, r.scopes) for r in ws1.renamed]) == (
            0, [("Corp", "Corp HQ", 1)])
        assert (await inventory(rt))["IPH-0001"][0] == "Corp HQ"
        assert "IPH-0001" in await sam_sees(rt)

        # A device moved to another organization group (another id) moves, and nothing is renamed.
        sims.ws1.devices[1].group, sims.ws1.devices[1].group_id = "Field", 571
        report = await run_sync(rt, rt.tenant_id)
        [ws1] = [s for s in report.sources if s.name == "workspace-one"]
        assert (ws1.moved, ws1.renamed) == (1, [])
        assert (await inventory(rt))["IPH-0001"][0] == "Field"


async def test_a_1e_group_renamed_and_a_mapping_that_pins_a_name(tmp_path: Path) -> None:
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        # A group linked by hand to its 1E id (`groups link`) is that 1E group from now on.
        async with rt.db.uow() as uow:
            linked = await uow.repo(DeviceRepo).ensure_group(rt.tenant_id, "Paris office")
            linked.tachyon_id = "2"
            await uow.commit()
        report = await run_sync(rt, rt.tenant_id)
        assert [(r.old, r.new) for r in report.sources[0].renamed] == [("Paris office", "Paris")]
        found = await inventory(rt)
        assert (found["PC-0001"][0], found["PC-0005"][0]) == ("London", "Paris")
        assert (await groups(rt))["Paris"] == ("1e", "2") and "Paris office" not in await groups(rt)
        await scoped(rt, "London")

        sims.one.set_devices([replace(d, group="London HQ") if d.group_id == 1 else d
                              for d in sims.one.devices])
        report = await run_sync(rt, rt.tenant_id)
        assert (report.sources[0].moved, [(r.old, r.new) for r in report.sources[0].renamed]) == (
            0, [("London", "London HQ")])
        assert (await inventory(rt))["PC-0001"][0] == "London HQ"
        assert [s for s in await scopes(rt) if s] == [["London HQ"]]
        async with rt.db.uow() as uow:
            hq = (await uow.session.execute(select(ManagementGroup).where(
                ManagementGroup.name == "London HQ"))).scalar_one()
        assert hq.tachyon_id == "1"  # `group:` runs still go to 1E as its management group

        # An administrator's mapping pins deskhand's name whatever 1E calls the group.
        await settings(rt, inventory_group_map=["London HQ=London"])
        report = await run_sync(rt, rt.tenant_id)
        assert report.sources[0].renamed == [] and report.sources[0].moved == 3
        assert (await inventory(rt))["PC-0001"][0] == "London"


async def test_a_group_following_one_vendor_is_never_re_pointed_by_another(tmp_path: Path) -> None:
    """A TeamViewer admin names a group after Workspace ONE's Finance, renames it away and then
    renames their own group to Finance: Finance, and the scopes naming it, stay Workspace ONE's."""
    async with simulators() as sims, deskhand(sqlite_url(tmp_path), sims) as rt:
        renamed: list[Renamed] = []

        async def group(source: str, name: str, ref: str) -> int | None:
            async with rt.db.uow() as uow:
                found = await uow.repo(VendorGroupRepo).group_id(
                    rt.tenant_id, source, name, ref, False, renamed)
                await uow.commit()
            return found

        finance = await group("workspace-one", "Finance", "w1")
        contractors = await group("teamviewer", "Contractors", "t9")
        assert await group("teamviewer", "Finance", "t10") == finance  # same name, same group...
        assert (await groups(rt))["Finance"] == ("workspace-one", "w1")  # ...still Workspace ONE's
        assert await group("teamviewer", "A", "t10") not in (finance, contractors)
        assert await group("teamviewer", "Finance", "t9") == contractors
        assert [(r.old, r.new, r.taken) for r in renamed] == [("Contractors", "Finance", True)]
        assert (await groups(rt))["Finance"] == ("workspace-one", "w1")
        assert await group("workspace-one", "Finance", "w1") == finance
