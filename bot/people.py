"""What deactivating a person does, in one place (the contract of issue 16).

PLACEHOLDER from the SCIM branch (i16-scim): only the flag changes here. The people branch
(i16-people) owns this module and adds every effect (console sign-ins end, pending approval
requests cancelled, data-access tokens stop, audited); the integrator keeps that version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.directory import DirectoryRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime


async def deactivate(runtime: Runtime, tenant_id: int, principal_id: int, by: str) -> None:
    await _flag(runtime, tenant_id, principal_id, False)


async def reactivate(runtime: Runtime, tenant_id: int, principal_id: int, by: str) -> None:
    await _flag(runtime, tenant_id, principal_id, True)


async def _flag(runtime: Runtime, tenant_id: int, principal_id: int, active: bool) -> None:
    async with runtime.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal(principal_id)
        if row is not None and row.tenant_id == tenant_id and row.active != active:
            row.active = active
            await uow.commit()
