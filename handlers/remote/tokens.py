"""The tenant's TeamViewer sign-in in deskhand's database: the oauth module's TokenStore.

Tokens and PKCE verifiers are sealed with the secret key ring at rest; a refresh takes a lease
in job_claims, so two replicas never spend the same refresh token.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.secrets import SecretBox
from integrations.teamviewer.oauth import PendingSignIn, Tokens
from storage.claims import ClaimRepo
from storage.db import Database
from storage.remote import TeamViewerAuthRepo, TeamViewerOAuthState

LEASE_JOB = "teamviewer.refresh"


class DatabaseTokenStore:
    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db, self.box, self.tenant_id = db, box, tenant_id

    async def save_pending(self, state_hash: str, pending: PendingSignIn) -> None:
        async with self.db.uow() as uow:
            await uow.repo(TeamViewerAuthRepo).add_state(TeamViewerOAuthState(
                state_hash=state_hash, tenant_id=self.tenant_id, principal_id=pending.principal_id,
                verifier=self.box.seal(pending.verifier), expires_at=pending.expires_at))
            await uow.commit()

    async def take_pending(self, state_hash: str) -> PendingSignIn | None:
        async with self.db.uow() as uow:
            row = await uow.repo(TeamViewerAuthRepo).take_state(self.tenant_id, state_hash)
            await uow.commit()
        if row is None:
            return None
        return PendingSignIn(row.principal_id, self.box.open(row.verifier), row.expires_at)

    async def tokens(self) -> Tokens | None:
        async with self.db.uow() as uow:
            row = await uow.repo(TeamViewerAuthRepo).credential(self.tenant_id)
        if row is None:
            return None
        return Tokens(self.box.open(row.access_token), self.box.open(row.refresh_token),
                      row.expires_at, row.version)

    async def connect(self, access: str, refresh: str, expires_at: datetime, who: str) -> None:
        async with self.db.uow() as uow:
            await uow.repo(TeamViewerAuthRepo).connect(self.tenant_id, self.box.seal(access),
                                                       self.box.seal(refresh), expires_at, who)
            await uow.commit()

    async def rotate(self, version: int, access: str, refresh: str, expires_at: datetime) -> bool:
        async with self.db.uow() as uow:
            stored = await uow.repo(TeamViewerAuthRepo).rotate(
                self.tenant_id, version, self.box.seal(access), self.box.seal(refresh), expires_at)
            await uow.commit()
        return stored

    async def lease(self, holder: str, ttl: timedelta) -> bool:
        async with self.db.uow() as uow:
            got = await uow.repo(ClaimRepo).claim_lease(LEASE_JOB, str(self.tenant_id), holder, ttl)
            await uow.commit()
        return got

    async def release(self, holder: str) -> None:
        async with self.db.uow() as uow:
            await uow.repo(ClaimRepo).release(LEASE_JOB, str(self.tenant_id), holder)
            await uow.commit()
