"""1E's other responses (integrations.md 2.5): no data, errors, not implemented and too large are
stored, counted and shown apart; 1E's own error count is shown beside what was stored; a Status
deskhand does not know is listed as an error with its number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.workflows.env import (
    AVERY,
    button,
    card_state,
    click,
    console,
    field,
    instruction_env,
    next_where,
    title_has,
)


def rows(message: dict[str, Any]) -> list[list[str]]:
    return next(s for s in message["card"]["sections"] if s["type"] == "table")["rows"]  # type: ignore[no-any-return]


async def test_each_kind_of_other_response_has_its_own_count_and_view(tmp_path: Path) -> None:
    # 50 devices, 20 of them give an other response, whose Status cycles 2, 1, 3, 4, 9.
    async with instruction_env(tmp_path, error_percent=20, other_statuses=(2, 1, 3, 4, 9)) as env:
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run GetOperatingSystem on group:Singapore")
            done = await next_where(avery, card_state(posted["id"], "completed"))
            run = (await env.runs())[-1]
            assert (run.errors_stored, run.no_data_stored, run.not_implemented_stored,
                    run.too_large_stored, run.answers_stored) == (8, 4, 4, 4, 30)
            # 1E's counts (its error count: Status 2 only, in this simulator) beside what was stored.
            assert field(done, "Progress") == ("sent 50 · received 50 · outstanding 0 · errors 4 · "
                                               "no data 4 · not implemented 4")
            assert field(done, "Stored") == ("30 answers, 8 device errors, 4 no data, "
                                             "4 not implemented, 4 too large")
            labels = [b["label"] for b in done["card"]["buttons"]]
            assert labels[:5] == ["Show results", "Show device errors", "Show no data",
                                  "Show not implemented", "Show too large"]
            seen: dict[str, list[list[str]]] = {}
            for label, title in (("Show device errors", "Device errors"), ("Show no data", "No data"),
                                 ("Show not implemented", "Not implemented"),
                                 ("Show too large", "Too large")):
                await click(avery, done, label)
                seen[title] = rows(await next_where(avery, title_has(f"{title} of ")))
        assert sorted(r[1] for r in seen["Device errors"]) == ["2"] * 4 + ["9 (unknown: an error)"] * 4
        assert [r[1] for r in seen["No data"]] == ["1"] * 4
        assert [r[1] for r in seen["Not implemented"]] == ["3"] * 4
        assert [r[1] for r in seen["Too large"]] == ["4"] * 4
        devices = [r[0] for view in seen.values() for r in view]
        assert len(devices) == len(set(devices)) == 20  # each device in one view only


async def test_devices_that_answered_without_data_are_not_device_errors(tmp_path: Path) -> None:
    async with instruction_env(tmp_path, error_percent=100, other_statuses=(1,)) as env:
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run GetOperatingSystem on PC-0001")
            done = await next_where(avery, card_state(posted["id"], "completed"))
            assert field(done, "Stored") == "0 answers, 0 device errors, 1 no data"
            assert field(done, "Progress").endswith("errors 0 · no data 1")
            labels = [b["label"] for b in done["card"]["buttons"]]
            assert "Show device errors" not in labels
            await click(avery, done, "Show no data")
            view = await next_where(avery, title_has("No data of "))
            assert rows(view) == [["pc-0001.corp.example.com", "1", ""]]
            assert button(done, "Show no data")["action_id"].endswith(":n")
