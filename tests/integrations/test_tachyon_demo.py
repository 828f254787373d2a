"""`deskhand demo` wiring: the simulator mounted on the demo's listener, seeded from the fleet."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from bot.demo import DEVICE_COUNT, FLEET_SIZE, MOBILE_OS, OTHER_DEVICES, mobile
from bot.runtime import Runtime
from bot.settings import section
from handlers.instructions import demo
from handlers.instructions.config import TachyonConfig
from handlers.instructions.vendor import client_for
from integrations.tachyon.responses import FIRST_START
from storage.devices import DeviceRepo
from tests.conftest import free_port
from tests.integrations.test_tachyon_client import FAST, until


async def test_demo_mounts_a_seeded_simulator_and_points_settings_at_it(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DESKHAND_TACHYON_URL", "DESKHAND_TACHYON_TOKEN", "DESKHAND_TACHYON_APPROVER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = runtime.settings.model_copy()
    settings.port = free_port()
    tachyon = demo.demo_part(settings)
    assert tachyon is not None
    assert settings.tachyon_url == f"http://127.0.0.1:{settings.port}/_sim/tachyon/Consumer/"
    assert settings.tachyon_token is not None and settings.tachyon_approver_token is not None
    await tachyon.seed(runtime)
    phones = sum(1 for _, os_name, _ in OTHER_DEVICES if os_name.lower().startswith(MOBILE_OS))
    assert len(tachyon.sim.devices) == FLEET_SIZE - phones > DEVICE_COUNT  # no 1E agent on phones
    tachyon.sim.switches.step_seconds, tachyon.sim.switches.answer_seconds = 0.02, 0.05
    tachyon.sim.switches.error_percent = tachyon.sim.switches.offline_percent = 0
    app = web.Application()
    tachyon.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    try:
        async with runtime.db.uow() as uow:
            rows = await uow.repo(DeviceRepo).page(runtime.tenant_id, query="PC-", group_ids=None,
                                                   after=None, limit=6)
        expected = {d.fqdn: bool(d.attributes["teamviewer_full_client"]) for d, _ in rows}
        client = client_for(section(settings, TachyonConfig), policy=FAST)
        assert client is not None
        async with client:
            check = await client.definition("1E-TeamViewer-CheckFullClientInstalled")
            assert check is not None
            issued = await client.issue(check, {}, fqdns=list(expected))
            await until(client, issued.id, lambda s: s.terminal)
            page = await client.responses(issued.id, FIRST_START, 100)
            assert {r.fqdn: r.values["Installed"] for r in page.rows} == expected
            london = await client.issue(101, {}, scope={"Attribute": "managementgroup", "Operator": "==",
                                                        "Value": "London"})
            await until(client, london.id, lambda s: s.terminal)
            assert (await client.statistics(london.id)).success == 50
            # 1E's answers come from the same fleet facts as the inventory: PC-0042 and all.
            everyone = await client.issue(101, {}, scope={})
            await until(client, everyone.id, lambda s: s.terminal)
            answered = {r.fqdn: r.values for r in (await client.responses(everyone.id, FIRST_START,
                                                                          1000)).rows}
            async with runtime.db.uow() as uow:
                fleet = await uow.repo(DeviceRepo).page(runtime.tenant_id, query=None, group_ids=None,
                                                        after=None, limit=1000)
            computers = [d for d, _ in fleet if not mobile(d)]
            assert len(answered) == len(computers) == FLEET_SIZE - phones
            assert not any(mobile(d) and d.fqdn in answered for d, _ in fleet)
            for device in computers:
                said = answered[device.fqdn or ""]
                if device.os.startswith("Ubuntu"):
                    assert said["OperatingSystem"] == device.os
                elif device.os.startswith("macOS"):
                    assert said["OperatingSystem"] == "macOS" and said["Version"].startswith("15.")
                else:
                    family, version = device.os.rsplit(" ", 1)  # "Windows 11", "23H2"
                    assert (said["OperatingSystem"], said["Version"]) == (
                        f"Microsoft {family} Enterprise", version), device.name
            pc42 = next(d for d, _ in fleet if d.name == "PC-0042")
            said = answered[pc42.fqdn or ""]
            name = said["OperatingSystem"].removeprefix("Microsoft ").removesuffix(" Enterprise")
            assert f"{name} {said['Version']}" == pc42.os
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}/_sim/tachyon") as raw:
            state = (await raw.post("/_control", json={"latency": 0.0, "devices": 500})).json()
            assert state["devices"] == 500 and state["instructions"] == 3
            assert (await raw.post("/_control", json={"nonsense": 1})).status_code == 400
    finally:
        await runner.cleanup()
