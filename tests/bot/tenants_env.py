"""A second tenant beside the deployment's own (`acme`, demo-seeded): `beta`, with the same
people (the same emails) and devices of its own, and rows of acme's that beta must never reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import rbac_admin
from bot.demo import seed
from bot.rbac import ensure_system_roles
from bot.rbac_admin import Granter
from bot.runtime import Runtime
from bot.tenancy import KINDS
from storage.audit import AuditEvent, AuditRepo
from storage.device_wipes import DeviceWipe
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.instructions import InstructionRun, InstructionRunRepo
from storage.tenants import ChatWorkspace, TenantRepo, WorkspaceRepo
from storage.workflow import ApprovalRepo, ApprovalRequest

ALEX, NINA = "alex.admin@example.com", "nina.new@example.com"
BETA_ALEX = "Alex of Beta"  # beta's Alex: Full Administrator there, like acme's


@dataclass(frozen=True)
class AcmeRows:
    """Rows of acme's whose ids a card from beta could carry."""

    device: int
    run: int
    request: int
    wipe: int


async def add_beta(rt: Runtime) -> int:
    """Tenant `beta`: the demo's people (Alex renamed), three devices, Nina an Auditor there."""
    async with rt.db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("beta", "Beta")
        await ensure_system_roles(uow, tenant.id)
        await seed(uow, tenant.id, devices=3)
        await rbac_admin.grant(uow, tenant.id, Granter("test"), "Auditor", email=NINA)
        alex = await uow.repo(DirectoryRepo).principal_by_email(tenant.id, ALEX)
        assert alex is not None
        alex.display_name = BETA_ALEX
        await uow.commit()
        return tenant.id


async def map_workspace(rt: Runtime, tenant_id: int, kind: str, external: str,
                        token: str | None = None) -> None:
    async with rt.db.uow() as uow:
        await uow.repo(WorkspaceRepo).add(ChatWorkspace(
            tenant_id=tenant_id, platform=KINDS[kind].platform, kind=kind, external_id=external,
            bot_token=rt.secrets.seal(token) if token else None))
        await uow.commit()


async def acme_rows(rt: Runtime) -> AcmeRows:
    """A device, a run waiting for approval with its request, and a wipe being confirmed."""
    now = datetime.now(UTC)
    async with rt.db.uow() as uow:
        device = await uow.repo(DeviceRepo).find(rt.tenant_id, "PC-0001")
        assert device is not None
        run = await uow.repo(InstructionRunRepo).add(InstructionRun(
            tenant_id=rt.tenant_id, state="awaiting_approval", definition_name="Restart",
            definition_vendor_id=1, kind="action", target_label="PC-0001",
            requester_email="avery.actioner@example.com", correlation_id="acme-run",
            approval_required=True))
        request = await uow.repo(ApprovalRepo).add(ApprovalRequest(
            tenant_id=rt.tenant_id, subject_kind="instruction.run", subject_id=run.id,
            summary="Restart on PC-0001", state="pending",
            requester_email="avery.actioner@example.com", expires_at=now + timedelta(hours=1)))
        wipe = DeviceWipe(tenant_id=rt.tenant_id, state="confirming", kind="wipe",
                          device_id=device.id, device_name=device.name, ws1_id=1,
                          requester_email="sam.standard@example.com", correlation_id="acme-wipe")
        uow.session.add(wipe)
        await uow.commit()
        return AcmeRows(device.id, run.id, request.id, wipe.id)


async def unchanged(rt: Runtime, rows: AcmeRows) -> bool:
    async with rt.db.uow() as uow:
        run = await uow.repo(InstructionRunRepo).get(rt.tenant_id, rows.run)
        request = await uow.repo(ApprovalRepo).get(rt.tenant_id, rows.request)
        wipe = await uow.session.get(DeviceWipe, rows.wipe)
    return (run is not None and run.state == "awaiting_approval" and request is not None
            and request.state == "pending" and wipe is not None and wipe.state == "confirming")


async def audit(rt: Runtime, tenant_id: int) -> list[AuditEvent]:
    async with rt.db.uow() as uow:
        return list(await uow.repo(AuditRepo).query(tenant_id, limit=1000))
