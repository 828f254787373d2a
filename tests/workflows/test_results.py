"""Stored responses: keyset paging through 10,000 answers in the console, and the CSV/XLSX exports
behind their signed links (names, contents, formula neutralising, access re-checked)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import aiohttp
import openpyxl
from sqlalchemy import insert

from storage.devices import Device, DeviceRepo
from storage.directory import DirectoryRepo
from storage.instructions import InstructionResponse
from tests.workflows.env import (
    ALEX,
    AVERY,
    NINA,
    SAM,
    card_state,
    click,
    console,
    field,
    instruction_env,
    next_where,
    sim_fleet,
    title_has,
)

BULK = 10_000


async def test_paging_through_10000_answers_with_the_more_button(tmp_path: Path) -> None:
    async with instruction_env(tmp_path, error_percent=0, answer_seconds=1) as env:
        async with env.rt.db.uow() as uow:
            group = await uow.repo(DeviceRepo).ensure_group(env.rt.tenant_id, "Bulk")
            await uow.session.execute(insert(Device), [
                {"tenant_id": env.rt.tenant_id, "name": f"BULK-{n:05d}", "attributes": {},
                 "fqdn": f"bulk-{n:05d}.corp.example.com", "management_group_id": group.id}
                for n in range(BULK)])
            await uow.commit()
        await sim_fleet(env.rt.db, env.rt.tenant_id, env.sim)
        await env.settings(max_targets=BULK, response_batch_size=1000, page_size=100)
        async with console(env.live, ALEX) as alex:
            posted = await alex.say("run GetOperatingSystem on group:Bulk")
            done = await next_where(alex, card_state(posted["id"], "completed"),
                                    seconds=60)
            assert field(done, "Stored") == f"{BULK} answers, 0 device errors"
            await click(alex, done, "Show results")
            page = await next_where(alex, title_has("Answers of"))
            seen: list[str] = []
            for n in range(BULK // 100):
                table = page["card"]["sections"][0]
                assert table["caption"] == f"Answers {n * 100 + 1}-{n * 100 + 100} of {BULK}"
                seen += [row[0] for row in table["rows"]]
                if n == BULK // 100 - 1:
                    assert table["more"] is None
                    break
                more = table["more"]
                await alex.ws.send_json({"type": "action", "message_id": page["id"],
                                         "action_id": more["action_id"], "value": more["value"]})
                page = await next_where(alex, lambda m, i=page["id"]: m["id"] == i)
        assert len(seen) == len(set(seen)) == BULK
        assert seen == sorted(seen)  # stored in the order 1E paged them: by FQDN here
        assert env.issued() == 1


async def test_csv_and_xlsx_exports_hold_every_answer_and_error(tmp_path: Path) -> None:
    async with instruction_env(tmp_path, error_percent=20) as env:
        await env.settings(export_file_prefix="acme-it")
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run InstalledSoftware productName=% on group:Singapore for INC0000077")
            done = await next_where(avery, card_state(posted["id"], "completed"))
            run = (await env.runs())[-1]
            async with env.rt.db.uow() as uow:  # a device that answers with a formula
                await uow.session.execute(insert(InstructionResponse), [{
                    "run_id": run.id, "is_error": False, "fqdn": "evil.corp.example.com",
                    "values": {"Product": "=HYPERLINK(\"http://x\")", "Version": "1", "Publisher": "@me"}}])
                await uow.commit()
            links = {}
            for fmt in ("CSV", "XLSX"):
                await click(avery, done, f"Export {fmt}")
                card = await next_where(avery, title_has(f"{fmt} export of run {run.id}"))
                links[fmt] = card["card"]["buttons"][0]["url"]
        async with aiohttp.ClientSession() as http:
            async with http.get(links["CSV"]) as r:
                assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
                name = re.search(r'filename="([^"]+)"', r.headers["Content-Disposition"]).group(1)  # type: ignore[union-attr]
                body = (await r.read()).decode("utf-8-sig")
            async with http.get(links["XLSX"]) as r:
                assert r.status == 200
                xname = re.search(r'filename="([^"]+)"', r.headers["Content-Disposition"]).group(1)  # type: ignore[union-attr]
                book = openpyxl.load_workbook(io.BytesIO(await r.read()), read_only=True)
        assert re.fullmatch(r"acme-it-INC0000077-\d{8}T\d{6}Z\.csv", name)
        assert re.fullmatch(r"acme-it-INC0000077-\d{8}T\d{6}Z\.xlsx", xname)
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[0] == ["kind", "device", "responded (UTC)", "Product", "Version", "Publisher",
                           "1E status", "message"]
        answers = [r for r in rows[1:] if r[0] == "answer"]
        errors = [r for r in rows[1:] if r[0] == "error"]
        run = await env.run(run.id)
        assert len(answers) == run.answers_stored + 1 and len(errors) == run.errors_stored > 0
        assert all(r[6] == "2" and r[7] for r in errors)
        others = {kind: [r for r in rows[1:] if r[0] == kind] for kind in ("no data", "not implemented",
                                                                            "too large")}
        assert [r[6] for r in others["no data"]] == ["1"] * run.no_data_stored
        assert [r[6] for r in others["not implemented"]] == ["3"] * run.not_implemented_stored
        assert [r[6] for r in others["too large"]] == ["4"] * run.too_large_stored
        assert len(rows) == 1 + len(answers) + run.others_stored and run.too_large_stored > 0
        evil = next(r for r in answers if r[1] == "evil.corp.example.com")
        assert evil[3] == "'=HYPERLINK(\"http://x\")" and evil[5] == "'@me"
        assert book.sheetnames == ["Answers", "Device errors", "No data", "Not implemented", "Too large",
                                   "Run"]
        sheet = list(book["Answers"].iter_rows(values_only=True))
        assert sheet[0] == ("device", "responded (UTC)", "Product", "Version", "Publisher")
        assert len(sheet) == run.answers_stored + 2
        assert ("evil.corp.example.com", None, "'=HYPERLINK(\"http://x\")", "1", "'@me") in sheet
        assert len(list(book["Device errors"].iter_rows(values_only=True))) == run.errors_stored + 1
        assert len(list(book["Too large"].iter_rows(values_only=True))) == run.too_large_stored + 1
        about = dict(book["Run"].iter_rows(values_only=True))
        assert about["incident"] == "INC0000077" and about["requested by"] == AVERY


async def test_exports_recheck_who_may_read(tmp_path: Path) -> None:
    async with instruction_env(tmp_path) as env:
        async with console(env.live, AVERY) as avery:
            posted = await avery.say("run GetOperatingSystem on PC-0001")
            done = await next_where(avery, card_state(posted["id"], "completed"))
        run = (await env.runs())[-1]
        async with console(env.live, NINA) as nina:
            await click(nina, done, "Export CSV")
            refused = await next_where(nina, lambda m: m["private"])
            assert refused["card"]["title"] == "Not allowed"
        async with env.rt.db.uow() as uow:
            sam = await uow.repo(DirectoryRepo).principal_by_email(env.rt.tenant_id, SAM)
        assert sam is not None
        forged = env.rt.downloads.url("instruction.export", {"t": env.rt.tenant_id, "p": sam.id,
                                                               "r": run.id, "f": "csv"})
        async with aiohttp.ClientSession() as http, http.get(forged) as r:
            assert r.status == 403 and "may no longer read" in await r.text()
