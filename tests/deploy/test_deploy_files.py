"""The deployment files agree with the code and with docs/operations.md.

compose.yaml, the Dockerfile and the systemd unit run the doc's steps (which
test_operations_path.py runs for real); every DESKHAND_* name they and the example file use is a
setting; the unit passes `systemd-analyze verify`; the doc's settings table is the one the code
makes, and `deskhand settings-doc --write` rewrites only what stands between its markers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Settings, load
from bot.cli import main
from bot.settings_doc import END, START, current_table, render
from tests.deploy.files import (
    COMPOSE,
    DOC,
    EXAMPLE,
    ROOT,
    UNIT,
    compose,
    doc_steps,
    docker_cmd,
    docker_env,
    dockerfile_build_stage_copies,
    example_keys,
    interpolate,
    unit_values,
)

SETTINGS = set(Settings.model_fields)
NOT_SETTINGS = {"DESKHAND_CONFIG"}  # names the settings file; not a setting itself


def unknown_names(names: list[str]) -> list[str]:
    """The DESKHAND_* names among `names` that are no setting."""
    return [n for n in names if n.startswith("DESKHAND_") and n not in NOT_SETTINGS
            and n.removeprefix("DESKHAND_").lower() not in SETTINGS]


def deskhand_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == "deskhand:local"}


def test_compose_the_dockerfile_and_the_unit_run_the_documented_steps() -> None:
    exports, steps = doc_steps()
    services = deskhand_services()
    # compose's one-off services and the listener, in the order their depends_on makes
    order: list[str] = []
    after = {n: set(s.get("depends_on", {})) for n, s in services.items()}
    while len(order) < len(services):
        ready = [n for n, deps in after.items() if n not in order and deps <= {*order, "postgres"}]
        assert len(ready) == 1, f"compose's order is not one chain: {ready}"
        order.append(ready[0])
    variables = {"ADMIN_EMAIL": steps[1][3], "POSTGRES_PASSWORD": "pw"}
    commands = [[interpolate(w, variables) for w in services[n]["command"]] for n in order]
    assert commands == steps
    conditions = [next(iter(services[n]["depends_on"].values()))["condition"] for n in order]
    assert conditions == ["service_healthy", "service_completed_successfully",
                          "service_completed_successfully"]
    assert docker_cmd() == steps[-1]
    (exec_start,) = unit_values("ExecStart")
    assert exec_start.split() == ["/opt/deskhand/bin/deskhand", *steps[-1][1:]]
    # the settings file the doc exports is the one the unit and compose name
    assert exports == {"DESKHAND_CONFIG": "/etc/deskhand/deskhand.toml"}
    assert f"DESKHAND_CONFIG={exports['DESKHAND_CONFIG']}" in unit_values("Environment")
    for service in services.values():
        assert service["environment"]["DESKHAND_CONFIG"] == exports["DESKHAND_CONFIG"]
        assert f"./deskhand.toml:{exports['DESKHAND_CONFIG']}:ro" in service["volumes"]


def test_every_deskhand_name_in_the_deployment_files_is_a_setting() -> None:
    compose_names = [n for s in deskhand_services().values() for n in s["environment"]]
    assert compose_names and unknown_names(compose_names) == []
    assert all(n.startswith("DESKHAND_") for n in compose_names)
    assert unknown_names(list(docker_env())) == [] and "DESKHAND_HOST" in docker_env()
    unit_names = [pair.split("=", 1)[0] for v in unit_values("Environment") for pair in v.split()]
    assert unknown_names(unit_names) == []
    keys = example_keys()
    assert len(keys) > 30 and sorted(set(keys) - SETTINGS) == []
    # the names a mistake would use are caught
    assert unknown_names(["DESKHAND_DATABSE_URL", "DESKHAND_CONFIG", "DESKHAND_PORT", "PATH"]) == [
        "DESKHAND_DATABSE_URL"]


def test_the_example_file_loads_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unfilled, it is valid settings (an operator starts from it); its secret key is not set,
    so `serve` refuses until it is filled in."""
    for name in [n for n in os.environ if n.startswith("DESKHAND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DESKHAND_CONFIG", str(EXAMPLE))
    settings = load()
    assert settings.mode == "production" and settings.secret_key is None
    assert settings.database_url == tomllib.loads(EXAMPLE.read_text())["database_url"]


def test_the_image_is_built_from_what_dockerignore_lets_through() -> None:
    allowed = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    copies = dockerfile_build_stage_copies()
    assert copies and set(copies) <= allowed
    assert all((ROOT / c).exists() for c in copies)


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    unit = tmp_path / "deskhand.service"  # the binary where this test's package is installed
    unit.write_text(UNIT.read_text().replace("/opt/deskhand/bin/deskhand",
                                             str(Path(sys.executable).parent / "deskhand")))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    unit.write_text(unit.read_text().replace("KillMode=mixed", "KillMode=gently"))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "KillMode" in done.stderr or "kill mode" in done.stderr  # it does read the unit


def test_the_settings_table_in_the_docs_is_the_one_the_code_makes() -> None:
    assert current_table(DOC.read_text()) == render(), (
        "docs/operations.md's settings table is out of date: run "
        "`deskhand settings-doc --write docs/operations.md`")


def test_settings_doc_rewrites_only_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "ops.md"
    doc.write_text(f"# Ops\n\nbefore\n{START}\n| stale |\n{END}\nafter\n")
    assert main(["settings-doc", "--write", str(doc)]) == 0
    assert doc.read_text() == f"# Ops\n\nbefore\n{START}\n{render()}{END}\nafter\n"
    assert main(["settings-doc", "--write", str(doc)]) == 0
    assert "is current" in capsys.readouterr().out
    doc.write_text("# Ops without markers\n")
    assert main(["settings-doc", "--write", str(doc)]) == 1
    assert "has no settings-table markers" in capsys.readouterr().err
    assert main(["settings-doc"]) == 0
    out = capsys.readouterr().out
    assert out == render() and out.count("\n") == len(SETTINGS) + 2
    assert COMPOSE.exists()  # the files these tests read are where the docs say
