"""Unit of work: one session and transaction; rolls back unless `commit()` was called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import (
    ApprovalRepo,
    AuditRepo,
    CatalogueRepo,
    ClaimRepo,
    DeviceRepo,
    DirectoryRepo,
    InstructionRunRepo,
    RbacRepo,
    RemoteSessionRepo,
    SettingsRepo,
    TeamsConversationRepo,
    TeamViewerAuthRepo,
    TenantRepo,
    WorkflowCardRepo,
)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        s = self._session
        self.tenants = TenantRepo(s)
        self.directory = DirectoryRepo(s)
        self.rbac = RbacRepo(s)
        self.devices = DeviceRepo(s)
        self.settings = SettingsRepo(s)
        self.audit = AuditRepo(s)
        self.claims = ClaimRepo(s)
        self.teams = TeamsConversationRepo(s)
        self.remote_sessions = RemoteSessionRepo(s)
        self.teamviewer = TeamViewerAuthRepo(s)
        self.catalogue = CatalogueRepo(s)
        self.runs = InstructionRunRepo(s)
        self.approvals = ApprovalRepo(s)
        self.workflow_cards = WorkflowCardRepo(s)
        return self

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() ends the transaction without committing, so uncommitted writes are
        # discarded; loaded rows stay readable (detached) for the caller afterwards.
        session = self.session
        try:
            if exc_type is not None:
                await session.rollback()
        finally:
            await session.close()
            self._session = None
