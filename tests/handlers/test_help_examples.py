"""Every example `help` shows works for the person reading it in the demo: each is run as each
demo persona who is shown it, with 1E and TeamViewer simulated, and none may be refused for
scope or name a device (or person, or group) the demo does not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.demo import PERSONAS
from integrations.simulator_kit import serve
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.devices import DeviceRepo
from tests.bot.platforms._drivers import ConsoleClient
from tests.workflows.env import console, instruction_env

TV_TOKEN = "1234567-ScriptTokenForTests01"
# Refusals an example must never get: a device, person or group the demo lacks, or scope.
WRONG = ("Device not found", "Unknown person", "No such command")
OUT_OF_SCOPE = ("out of scope", "covers groups", "no directory group", "nobody with the email")


async def answer(client: ConsoleClient, text: str) -> dict[str, Any]:
    """The answer to `text` (approval requests a run posts to the room are skipped)."""
    await client.ws.send_json({"type": "command", "text": text})
    while True:
        message = await client.next()
        if message["private"] or not message["card"]["title"].startswith("Approval needed"):
            return message


def examples(card: dict[str, Any]) -> list[str]:
    shown = [s["text"] for s in card["sections"] if s.get("text", "").startswith("e.g. ")]
    return [e for line in shown for e in line.removeprefix("e.g. ").split("`")[1::2]]


async def test_each_help_example_works_for_each_persona_shown_it(tmp_path: Path) -> None:
    tv = TeamViewerSimulator(script_tokens=(TV_TOKEN,))
    tv_runner, tv_url = await serve(tv)
    tried: list[tuple[str, str]] = []
    wrong: list[tuple[str, str, str]] = []
    try:
        async with instruction_env(tmp_path, process={"teamviewer_url": f"{tv_url}/api/v1/",
                                                      "teamviewer_api_token": TV_TOKEN}) as env:
            async with env.rt.db.uow() as uow:
                rows = await uow.repo(DeviceRepo).page(env.rt.tenant_id, query=None, group_ids=None,
                                                       after=None, limit=1000)
            tv.seed_devices([(d.name, True) for d, _ in rows])
            # The administrator last: their examples grant roles, which would change what the
            # others are shown.
            for email, *_ in sorted(PERSONAS, key=lambda p: p[2] == "Full Administrator"):
                async with console(env.live, email) as client:
                    table = next(s for s in (await answer(client, "help"))["card"]["sections"]
                                 if s["type"] == "table")
                    names = sorted({row[0].split(" <")[0].split(" [")[0] for row in table["rows"]})
                    for name in names:
                        for example in examples((await answer(client, f"help {name}"))["card"]):
                            card = (await answer(client, example))["card"]
                            tried.append((email, example))
                            said = card["fallback"].lower()
                            if card["title"] in WRONG or any(w in said for w in OUT_OF_SCOPE):
                                wrong.append((email, example, card["fallback"][:160]))
    finally:
        await tv_runner.cleanup()
    assert len({e for _, e in tried}) > 25 and {email for email, _ in tried} == {p[0] for p in PERSONAS}
    assert wrong == [], "\n".join(map(str, wrong))
