"""`deskhand demo` wiring of the device actions: the Workspace ONE simulator on the demo's
listener, seeded from the fleet, and the client the settings now point at."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.demo import FLEET_SIZE
from bot.runtime import Runtime
from handlers.device_actions import demo
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.service import WorkspaceOne
from integrations.workspace_one.client import By, Command
from integrations.workspace_one.models import Platform
from storage.devices import DeviceRepo
from tests.conftest import free_port


async def test_demo_mounts_a_seeded_simulator_the_client_reaches(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKHAND_WS1_URL", raising=False)
    settings = runtime.settings.model_copy()
    settings.port = free_port()
    part = demo.demo_part(settings)
    assert part is not None
    assert settings.ws1_url == f"http://127.0.0.1:{settings.port}/_sim/workspace-one/api/"
    await part.seed(runtime)
    assert len(part.sim.devices) == FLEET_SIZE
    platforms = {d.name[:3]: d.platform for d in part.sim.devices}
    assert platforms == {"PC-": Platform.WINDOWS, "MAC": Platform.MACOS, "IPH": Platform.IOS,
                         "AND": Platform.ANDROID, "LNX": Platform.LINUX}
    app = web.Application()
    part.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    runtime.settings = settings
    service = WorkspaceOne(runtime.config(WorkspaceOneConfig))
    try:
        async with runtime.db.uow() as uow:
            [(device, _)] = await uow.repo(DeviceRepo).page(runtime.tenant_id, query="MAC",
                                                            group_ids=None, after=None, limit=1)
        assert service.client is not None
        found = await service.client.device(By.SERIAL, device.serial or "")
        assert found is not None and found.platform is Platform.MACOS
        assert found.user_email == device.owner_email
        await service.client.command(found, Command.LOCK)
        assert [s.kind for s in part.sim.sent_to(device.name)] == ["Lock"]
    finally:
        await service.aclose()
        await runner.cleanup()
