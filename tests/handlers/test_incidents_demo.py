"""`deskhand demo` wiring of the incidents: the ServiceNow simulator on the demo's listener,
seeded from the fleet and the personas, and the client the settings now point at."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.runtime import Runtime
from handlers.incidents import demo
from handlers.incidents.config import ServiceNowConfig
from handlers.incidents.service import build
from tests.conftest import free_port


async def test_demo_mounts_a_seeded_simulator_the_client_reaches(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKHAND_SERVICENOW_URL", raising=False)
    settings = runtime.settings.model_copy()
    settings.port = free_port()
    part = demo.demo_part(settings)
    assert part is not None
    assert settings.servicenow_url == f"http://127.0.0.1:{settings.port}/_sim/servicenow/"
    await part.seed(runtime)
    app = web.Application()
    part.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    runtime.settings = settings
    client = build(runtime, runtime.tenant_id, runtime.config(ServiceNowConfig))
    assert client is not None
    try:
        everything = await client.incidents("recent", limit=50)
        assert len(everything) == demo.INCIDENTS + 1
        assert {i.state for i in everything} >= {"1", "2", "6"}  # open ones and resolved ones
        mine = await client.incidents("mine", assigned_to_email="riley.remote@example.com")
        assert mine and all(i.assigned_to_name == "Riley Remote" for i in mine)
        first = everything[-1]
        ci = await client.device(first)
        assert ci is not None and ci.name.startswith(("PC-", "MAC-", "PRN-"))
        caller = await client.caller_email(first)
        assert caller and caller.endswith("@example.com")
    finally:
        await client.aclose()
        await runner.cleanup()


def test_a_configured_servicenow_means_no_simulator(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_SERVICENOW_URL", "https://acme.service-now.com/")
    assert demo.demo_part(runtime.settings.model_copy()) is None
