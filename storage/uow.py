"""Unit of work: one session and transaction; rolls back unless `commit()` was called.

Repositories are built on first use (`uow.repo(DeviceRepo)`) and reused within the unit of work.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.base import Repo

R = TypeVar("R", bound=Repo)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._repos: dict[type[Repo], Repo] = {}

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        return self

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    def repo(self, cls: type[R]) -> R:
        """The `cls` repository on this unit of work's session: built on first use, then reused."""
        found = self._repos.get(cls)
        if found is None:
            found = self._repos[cls] = cls(self.session)
        return cast(R, found)

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
            self._repos.clear()
