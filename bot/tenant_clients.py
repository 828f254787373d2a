"""Each tenant's vendor clients, built from that tenant's own configuration.

The effective configuration of a tenant is its record (storage/integrations.py). The process's
DESKHAND_* configuration belongs to the deployment's own tenant (DESKHAND_TENANT) only, and only
while that tenant has no record: another tenant without a record is "not set up", never handed
the deployment's credentials. Clients are kept per (tenant, record revision): before each use one
small read of the revision tells whether an admin changed the record (in any process), and a
changed record builds a new client. A replaced client is closed a little later (a request may
still be using it); every client is closed when the runtime stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from bot.errors import UserError
from bot.integration import Finding, Integration, config_of, off, problem, unseal
from bot.model import new_correlation_id
from integrations.http import VendorError
from storage.integrations import IntegrationRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.integrations")
GRACE = 60.0  # seconds a replaced client stays open for the requests still using it
Source = Literal["tenant record", "deployment default", "not set up"]
RECORD: Source = "tenant record"
DEFAULT: Source = "deployment default"
NONE: Source = "not set up"


@dataclass
class Effective:
    """What a tenant uses for one integration, and where it comes from."""

    integration: Integration
    config: BaseModel
    source: Source
    revision: str | None = None  # the record's; None without one
    record: dict[str, Any] = field(default_factory=dict)  # the record's values by key (opened)
    trouble: str = ""  # the record cannot be used as stored
    updated_by: str = ""

    @property
    def missing(self) -> list[str]:
        return self.integration.missing(self.config)

    @property
    def configured(self) -> bool:
        return self.source != NONE and not self.trouble and not self.missing


@dataclass
class _Made:
    revision: str | None
    config: BaseModel
    client: Any


class TenantClients:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.declared: dict[str, Integration] = {}
        self._options: dict[str, dict[str, Any]] = {}
        self._made: dict[tuple[int, str], _Made] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._retired: list[tuple[float, Integration, Any]] = []

    def declare(self, integration: Integration) -> None:
        if integration.name in self.declared:
            raise ValueError(f"integration {integration.name} is declared twice")
        self.declared[integration.name] = integration

    def tune(self, name: str, **options: Any) -> None:
        """Options every build of this integration gets (tests: a quick retry policy)."""
        self._options[name] = options
        for key in [k for k in self._made if k[1] == name]:
            self._retire(self.declared[name], self._made.pop(key).client)

    async def effective(self, tenant_id: int, name: str) -> Effective:
        integration = self.declared[name]
        async with self.rt.db.uow() as uow:
            row = await uow.repo(IntegrationRepo).get(tenant_id, name)
        if row is None:
            if tenant_id == self.rt.tenant_id:
                return Effective(integration, self.rt.config(integration.config), DEFAULT)
            return Effective(integration, integration.config(), NONE)
        found = Effective(integration, integration.config(), RECORD, row.revision,
                          updated_by=row.updated_by)
        try:
            found.record = unseal(integration, self.rt.secrets, row.values, row.sealed)
            found.config = config_of(integration, found.record)
        except (ValueError, ValidationError) as exc:  # the secret key or the model changed
            reason = str(exc) if not isinstance(exc, ValidationError) else \
                f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
            found.trouble = (f"The stored {integration.title} configuration cannot be used "
                             f"({reason}); set it again with `integrations set {name} ...`.")
        return found

    async def get(self, tenant_id: int, name: str) -> Any | None:
        """The tenant's client (None when its build says not set up); rebuilt after a change."""
        return (await self._current(tenant_id, name)).client

    async def config(self, tenant_id: int, name: str) -> BaseModel:
        """The tenant's effective configuration (cached with its client)."""
        return (await self._current(tenant_id, name)).config

    async def tenants_with(self, name: str) -> list[int]:
        """The tenants that may use this integration: those with a record, and the deployment's
        own tenant when its DESKHAND_* configuration is complete."""
        integration = self.declared[name]
        async with self.rt.db.uow() as uow:
            found = set(await uow.repo(IntegrationRepo).tenants(name))
        if not integration.missing(self.rt.config(integration.config)):
            found.add(self.rt.tenant_id)
        return sorted(found)

    async def _current(self, tenant_id: int, name: str) -> _Made:
        key = (tenant_id, name)
        await self._reap()
        async with self.rt.db.uow() as uow:
            revision = await uow.repo(IntegrationRepo).revision(tenant_id, name)
        made = self._made.get(key)
        if made is not None and made.revision == revision:
            return made
        async with self._locks.setdefault(key, asyncio.Lock()):
            made = self._made.get(key)
            if made is not None and made.revision == revision:
                return made  # another request built it meanwhile
            made = await self._build(tenant_id, name)
            old = self._made.get(key)
            self._made[key] = made
        if old is not None:
            self._retire(self.declared[name], old.client)
        return made

    async def _build(self, tenant_id: int, name: str) -> _Made:
        found = await self.effective(tenant_id, name)
        integration = found.integration
        if found.trouble:
            raise UserError(found.trouble, title=f"{integration.title} is not set up")
        try:
            client = integration.build(self.rt, tenant_id, found.config,
                                       **self._options.get(name, {}))
        except ValueError as exc:
            raise UserError(f"{integration.title} is set up wrongly for this workspace: {exc}. "
                            "Check it with `integrations list`.",
                            title=f"{integration.title} is not set up") from None
        return _Made(found.revision, found.config, client)

    def _retire(self, integration: Integration, client: Any) -> None:
        if client is not None and integration.close is not None:
            self._retired.append((time.monotonic() + GRACE, integration, client))

    async def _reap(self, everything: bool = False) -> None:
        now = time.monotonic()
        due = [r for r in self._retired if everything or r[0] <= now]
        self._retired = [r for r in self._retired if r not in due]
        for _, integration, client in due:
            await self._close(integration, client)

    @staticmethod
    async def _close(integration: Integration, client: Any) -> None:
        if client is None or integration.close is None:
            return
        try:
            await integration.close(client)
        except Exception:
            log.exception("closing a %s client failed", integration.title)

    async def check(self, tenant_id: int, names: list[str] | None = None
                    ) -> list[tuple[Integration, list[Finding]]]:
        """Each integration's findings for the tenant (`integrations test`, `deskhand check`)."""
        chosen = [self.declared[n] for n in names] if names else list(self.declared.values())
        return [(i, await self._check(tenant_id, i)) for i in chosen]

    async def _check(self, tenant_id: int, integration: Integration) -> list[Finding]:
        found = await self.effective(tenant_id, integration.name)
        if found.trouble:
            return [problem(found.trouble)]
        if not found.configured:
            if found.source == RECORD:
                return [problem(f"Not complete: it still needs {' and '.join(found.missing)}.")]
            return [off("Not set up for this tenant.")]
        try:
            return await integration.check(self.rt, tenant_id)
        except VendorError as exc:
            return [problem(exc.message)]
        except UserError as exc:
            return [problem(str(exc))]
        except Exception:
            cid = new_correlation_id()
            log.exception("checking %s failed (ref %s)", integration.title, cid)
            return [problem(f"The check itself failed on deskhand's side (ref {cid}).")]

    async def close(self) -> None:
        made, self._made = self._made, {}
        for (_, name), value in made.items():
            await self._close(self.declared[name], value.client)
        await self._reap(everything=True)
