"""Readers of the wipe tests: the wipe rows, their approval requests, and the wipes the Workspace
ONE simulator received (deskhand and the simulator come from ws1_env)."""

from __future__ import annotations

from sqlalchemy import select

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.device_wipes import DeviceWipe
from storage.workflow import ApprovalRepo, ApprovalRequest
from tests.conftest import LiveServer

WIPE_KINDS = ("DeviceWipe", "EnterpriseWipe")


async def wipes(live: LiveServer) -> list[DeviceWipe]:
    async with live.runtime.db.uow() as uow:
        q = select(DeviceWipe).order_by(DeviceWipe.id)
        return list((await uow.session.execute(q)).scalars().all())


async def request_of(live: LiveServer, row: DeviceWipe) -> ApprovalRequest | None:
    kind = "device.wipe" if row.kind == "wipe" else "device.enterprise-wipe"
    async with live.runtime.db.uow() as uow:
        return await uow.repo(ApprovalRepo).for_subject(kind, row.id)


def wipes_sent(sim: WorkspaceOneSimulator, device: str) -> list[str]:
    return [s.kind for s in sim.sent_to(device) if s.kind in WIPE_KINDS]
