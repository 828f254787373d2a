"""deskhand on loopback with ServiceNow, 1E and TeamViewer played by their simulators.

The ServiceNow simulator holds the inventory's devices as CIs, the owners and personas as users,
and four incidents the tests name (`Incidents`): on a London device (assigned to Riley), on a
Singapore device (assigned to Sam), a resolved one Riley called in, and one on a printer the
inventory does not know.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.demo import PERSONAS
from integrations.http import RetryPolicy
from integrations.servicenow.client import POLICY
from integrations.servicenow.simulator import ServiceNowSimulator
from integrations.simulator_kit import serve
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.devices import Device, DeviceRepo
from tests.workflows.env import ALEX, RILEY, SAM, Env, instruction_env

SNOW_USER, SNOW_PASSWORD = "deskhand.integration", "snow-password-0123456789"
TV_TOKEN = "1234567-ScriptTokenForTests01"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)


@dataclass
class Incidents:
    london: str  # open, on a London device, called in by its owner, assigned to Riley
    singapore: str  # new, on a Singapore device, assigned to Sam
    resolved: str  # resolved, on the London device, called in by Riley, assigned to Alex
    printer: str  # open, on a CI the inventory does not know
    london_device: Device
    singapore_device: Device


@dataclass
class SnowEnv:
    env: Env
    snow: ServiceNowSimulator
    tv: TeamViewerSimulator
    incidents: Incidents

    @property
    def rt(self) -> Any:
        return self.env.rt

    def record(self, number: str) -> dict[str, Any]:
        return next(r for r in self.snow.instance.tables["incident"].values() if r["number"] == number)

    def notes(self, number: str) -> list[str]:
        return self.snow.instance.notes(self.record(number)["sys_id"])

    async def wait_notes(self, number: str, count: int, seconds: float = 10) -> list[str]:
        deadline = time.monotonic() + seconds
        while len(notes := self.notes(number)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{number} has {len(notes)} work notes, not {count}: {notes}")
            await asyncio.sleep(0.05)
        return notes


def snow_settings(url: str) -> dict[str, Any]:
    return {"servicenow_url": url, "servicenow_username": SNOW_USER, "servicenow_password": SNOW_PASSWORD}


async def first_device(rt: Any, group: str) -> Device:
    async with rt.db.uow() as uow:
        inventory = uow.repo(DeviceRepo)
        groups = {g.name: g.id for g in await inventory.groups(rt.tenant_id)}
        [(device, _)] = await inventory.page(rt.tenant_id, query=None, group_ids=[groups[group]],
                                             after=None, limit=1)
    return device


async def seed_snow(sim: ServiceNowSimulator, rt: Any) -> Incidents:
    async with rt.db.uow() as uow:
        rows = await uow.repo(DeviceRepo).page(rt.tenant_id, query=None, group_ids=None, after=None,
                                               limit=1000)
    sim.seed_fleet([(d.name, d.serial or "", d.owner_email or "") for d, _ in rows],
                   [(email, name) for email, name, *_ in PERSONAS], incidents=0)
    london, singapore = await first_device(rt, "London"), await first_device(rt, "Singapore")
    inst = sim.instance

    def add(summary: str, device: str, caller: str, assigned: str, state: str) -> str:
        return str(inst.insert("incident", {
            "short_description": summary, "state": state, "cmdb_ci": inst.ci_by_name(device),
            "caller_id": inst.add_user(caller), "assigned_to": inst.add_user(assigned)})["number"])

    printer = inst.add_ci("PRN-3F-EAST", "PRN0003")
    numbers = (add("Laptop will not connect to VPN", london.name, london.owner_email or "", RILEY, "2"),
               add("Disk almost full", singapore.name, singapore.owner_email or "", SAM, "1"),
               add("Outlook keeps asking for password", london.name, RILEY, ALEX, "6"))
    on_printer = str(inst.insert("incident", {
        "short_description": "Printer jams", "state": "1", "cmdb_ci": printer,
        "caller_id": inst.add_user(ALEX)})["number"])
    return Incidents(*numbers, on_printer, london, singapore)


@asynccontextmanager
async def snow_env(tmp_path: Path, *, configured: bool = True, **kw: Any) -> AsyncIterator[SnowEnv]:
    """ServiceNow + 1E + TeamViewer simulators and deskhand with the console (and `kw`)."""
    snow = ServiceNowSimulator(users={SNOW_USER: SNOW_PASSWORD})
    tv = TeamViewerSimulator(script_tokens=(TV_TOKEN,))
    snow_runner, servicenow_url = await serve(snow)
    tv_runner, tv_url = await serve(tv)
    process = {"teamviewer_url": f"{tv_url}/api/v1/", "teamviewer_api_token": TV_TOKEN,
               **(snow_settings(servicenow_url) if configured else {}), **kw.pop("process", {})}
    try:
        async with instruction_env(tmp_path, process=process, **kw) as env:
            rt = env.rt
            incidents = await seed_snow(snow, rt)
            tv.seed_devices([(incidents.london_device.name, True)])
            rt.tenant_clients.tune("teamviewer", policy=FAST)
            if configured:
                rt.tenant_clients.tune("servicenow", policy=FAST)
            yield SnowEnv(env, snow, tv, incidents)
    finally:
        await tv_runner.cleanup()
        await snow_runner.cleanup()
