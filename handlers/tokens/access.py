"""Whether data access is on in a tenant: one key in the tenant's settings row, changed only by
`data-access enable|disable` (disabling also deletes every token, which `settings set` could not)."""

from __future__ import annotations

from storage.tenants import SettingsRepo
from storage.uow import UnitOfWork

KEY = "data_access"


async def enabled(uow: UnitOfWork, tenant_id: int) -> bool:
    return bool((await uow.repo(SettingsRepo).get(tenant_id)).get(KEY, False))


async def put(uow: UnitOfWork, tenant_id: int, on: bool, by: str) -> None:
    settings = uow.repo(SettingsRepo)
    await settings.put(tenant_id, {**await settings.get(tenant_id), KEY: on}, by=by)
