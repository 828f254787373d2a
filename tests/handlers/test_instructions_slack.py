"""`/run` through Slack's real HTTP path: the run card is a public message updated with
chat.update as 1E answers, and *Export CSV* uploads the file to the conversation."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

from tests.fakes.slack_api import ALEX, CHANNEL, Call, FakeSlack
from tests.workflows.env import ALEX as ALEX_EMAIL
from tests.workflows.env import instruction_env


async def message_with(fake: FakeSlack, text: str, seconds: float = 20) -> Call:
    deadline = time.monotonic() + seconds
    while True:
        for call in reversed(fake.calls):
            if call.method in ("chat.postMessage", "chat.update") and text in str(call.args.get("text")):
                return call
        assert time.monotonic() < deadline, f"no Slack message with {text!r}"
        await asyncio.sleep(0.05)


def button(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                if e["text"]["text"] == label)


async def test_run_card_updates_in_place_and_export_uploads_to_slack(tmp_path: Path) -> None:
    async with instruction_env(tmp_path, slack=True) as env:
        slack = env.slack
        assert slack is not None
        slack.fake.add_user(ALEX, ALEX_EMAIL)
        status, body, took = await slack.command(ALEX, "/run", "GetOperatingSystem on PC-0001")
        assert (status, body) == (200, "") and took < 3
        posted = (await slack.fake.wait_for("chat.postMessage"))[0]
        assert posted.args["channel"] == CHANNEL and "GetOperatingSystem on PC-0001" in posted.args["text"]
        done = await message_with(slack.fake, "State: completed")
        assert done.method == "chat.update" and done.args["ts"] == posted.result["ts"]
        export = button(done.args["blocks"], "Export CSV")
        await slack.send(slack.action_body(ALEX, export["action_id"], export["value"],
                                           ts=posted.result["ts"]))
        await slack.fake.wait_for("files.completeUploadExternal")
        await slack.idle()
        [content] = slack.fake.uploads.values()
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["kind", "device", "responded (UTC)", "OperatingSystem"]
        assert rows[1][:2] == ["answer", "pc-0001.corp.example.com"]
        upload = slack.fake.called("files.getUploadURLExternal")[0].args
        assert str(upload["filename"]).startswith("deskhand-") and str(upload["filename"]).endswith(".csv")
