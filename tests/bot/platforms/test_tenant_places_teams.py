"""A notice to someone who asked in a Teams chat of a tenant other than the deployment's own
(a decision, a run given up) goes where they asked, looked up in their tenant: never through a
row of the deployment's tenant for a conversation of the same id (one kept from before their
Microsoft 365 tenant was mapped, with a service URL that no longer answers)."""

from __future__ import annotations

import json
from pathlib import Path

from bot import places
from bot.identity import to_principal
from bot.model import Actor, PlatformIdentity, ReplyTarget
from bot.tenancy import TEAMS_TENANT
from cards.model import message_card
from storage.directory import DirectoryRepo
from storage.teams import TeamsConversationRepo
from tests.bot.platforms.test_tenants_teams import B_ALEX, B_PERSONAL, FABRIKAM, fake, said
from tests.bot.tenants_env import ALEX, BETA_ALEX, add_beta, map_workspace
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand

__all__ = ["fake"]  # the fake Bot Framework fixture


async def test_a_notice_reaches_the_chat_it_was_asked_in_within_its_tenant(
        tmp_path: Path, fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake) as live:
        rt = live.runtime
        beta = await add_beta(rt)
        await map_workspace(rt, beta, TEAMS_TENANT, FABRIKAM)
        assert f"You are {BETA_ALEX}" in await said(fake, live, B_ALEX, FABRIKAM, "whoami")
        async with rt.db.uow() as uow:
            row = await uow.repo(TeamsConversationRepo).get(beta, B_PERSONAL)
            assert row is not None
            reference = dict(row.reference)
            # The same chat, kept in acme while Fabrikam was not mapped: its service URL is gone.
            await uow.repo(TeamsConversationRepo).upsert(
                rt.tenant_id, B_PERSONAL, conversation_type="personal", aad_tenant_id=FABRIKAM,
                user_aad_id=B_ALEX.aad, service_url=f"{fake.service_url}gone/",
                reference={**reference, "serviceUrl": f"{fake.service_url}gone/"},
                installed=True)
            person = await uow.repo(DirectoryRepo).principal_by_email(beta, ALEX)
            await uow.commit()
        assert person is not None
        account = PlatformIdentity("teams", FABRIKAM, B_ALEX.aad)
        asked = ReplyTarget("teams", B_PERSONAL, extra={
            "reference": reference, "conversation_type": "personal", "team_id": None})
        place = json.loads(json.dumps(places.stored(asked, Actor(to_principal(person), account))))
        assert place["tenant"] == beta

        before = len(fake.posted())
        assert await places.tell(rt, place, message_card("Decided", "Your request was approved"))
        posted = fake.posted()[before:]
        assert [c.conversation for c in posted] == [B_PERSONAL]
