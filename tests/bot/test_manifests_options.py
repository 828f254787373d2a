"""Manifest options an operator sets: Slack command names (a prefix, or `/deskhand` alone) and
whole-word descriptions; the Teams package's version and its default developer links."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot import bootstrap, manifests
from bot.registry import CommandSpec, Registry
from bot.settings import SettingsError
from tests.bot.test_manifests import (
    APP_ID,
    PUBLIC,
    _noop,
    cli,
    settings,
    synthetic,
    validate_slack,
    validate_teams,
)


@pytest.fixture
def registry() -> Registry:
    return bootstrap.commands()


def slash(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["command"]: c for c in data["features"]["slash_commands"]}


def test_a_prefix_names_every_group_command_and_keeps_the_umbrella(registry: Registry) -> None:
    data = manifests.slack_manifest(settings(slack_command_prefix="dh-"), registry)
    validate_slack(data)
    commands = slash(data)
    assert list(commands) == ["/deskhand", *(f"/dh-{g}" for g in registry.groups())]
    assert {"/run", "/cancel", "/help", "/history", "/settings"}.isdisjoint(commands)
    assert commands["/dh-role"]["usage_hint"].endswith("(then its arguments; /dh-help role explains)")
    assert all(c["url"] == f"{PUBLIC}/slack/events" for c in commands.values())


def test_a_prefix_frees_builtin_names_and_still_keeps_slacks_length_limit() -> None:
    reg = synthetic(["help", "status", "x" * 28, "y" * 29])
    names = list(slash(manifests.slack_manifest(settings(slack_command_prefix="dh-"), reg)))
    # /dh-status is no longer Slack's own /status; "/dh-" + 29 letters is 33 characters, one too many.
    assert names == ["/deskhand", "/dh-help", "/dh-status", "/dh-" + "x" * 28]


def test_single_mode_registers_the_umbrella_alone(registry: Registry) -> None:
    data = manifests.slack_manifest(settings(slack_commands="single", slack_command_prefix="dh-"), registry)
    validate_slack(data)
    [umbrella] = data["features"]["slash_commands"]
    assert umbrella["command"] == "/deskhand" and umbrella["usage_hint"] == "<command> [arguments], e.g. help"
    assert umbrella["description"] == "Run any deskhand command; /deskhand help lists the ones you may run."


def test_descriptions_are_whole_and_within_the_limit(registry: Registry) -> None:
    for prefix in ("", "it-"):
        every = slash(manifests.slack_manifest(settings(slack_command_prefix=prefix), registry)).values()
        assert all(len(c["description"]) <= manifests.SLACK_DESCRIPTION_MAX for c in every)
        assert not any("…" in c["description"] for c in every)  # every real one fits, unshortened
    long_summary = "Does " + "something rather important " * 6 + "today."
    reg = Registry()
    reg.add(CommandSpec("help", long_summary, _noop))
    for n in range(12):
        reg.add(CommandSpec(f"group subcommand{n:02d}", "Does it.", _noop))
    data = manifests.slack_manifest(settings(), reg)
    validate_slack(data)
    commands = slash(data)
    cut = commands["/help"]["description"]
    assert len(cut) <= manifests.SLACK_DESCRIPTION_MAX and cut.endswith("…")
    assert long_summary.startswith(cut[:-1] + " ")  # cut between words, never inside one
    listed = commands["/group"]["description"]  # shortened by listing fewer names, not by cutting
    assert listed.startswith("Group commands: subcommand00, ") and listed.endswith(" more.")
    assert len(listed) <= manifests.SLACK_DESCRIPTION_MAX


@pytest.mark.parametrize("prefix", ["DH-", "-dh", "dh run", "d" * 17, "dh/"])
def test_a_bad_prefix_stops_start_up_with_what_is_allowed(prefix: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_SLACK_COMMAND_PREFIX", prefix)
    with pytest.raises(SettingsError) as err:
        bootstrap.load()
    assert err.value.lines == ["DESKHAND_SLACK_COMMAND_PREFIX: must be up to 16 lower-case letters, "
                               "digits, - or _, starting with a letter or digit (e.g. dh-), as Slack "
                               "command names allow"]


def test_the_teams_version_is_given_or_derived_from_the_build() -> None:
    package = manifests.app_version()
    major, minor, _ = package.split(".")
    assert manifests.teams_version() == package
    assert manifests.teams_version("2.10.0") == "2.10.0"
    assert manifests.teams_version(build=417) == f"{major}.{minor}.417"
    assert manifests.teams_version(build=262171430) == f"{major}.{minor}.262171430"  # date -u +%y%j%H%M
    for bad in ("1.2", "1.2.3-beta.1", "1.2.3+build.4", "01.2.3", "v1.2.3", "1.2.2147483648", ""):
        with pytest.raises(manifests.ManifestError, match=r"is not MAJOR\.MINOR\.PATCH"):
            manifests.teams_version(bad)
    with pytest.raises(manifests.ManifestError, match="--build -1 must be a whole number"):
        manifests.teams_version(build=-1)
    with pytest.raises(manifests.ManifestError, match="--build 2147483648"):
        manifests.teams_version(build=2**31)


def test_the_teams_manifest_takes_the_version_and_links_to_deskhands_own_pages(registry: Registry) -> None:
    data = manifests.teams_manifest(settings(), registry, manifests.TeamsOptions(version="3.1.4"))
    validate_teams(data)
    assert data["version"] == "3.1.4"
    assert data["developer"] == {"name": "deskhand", "websiteUrl": f"{PUBLIC}/about",
                                 "privacyUrl": f"{PUBLIC}/privacy", "termsOfUseUrl": f"{PUBLIC}/terms"}


def test_the_cli_version_flags(tmp_path: Path) -> None:
    env = {"DESKHAND_PUBLIC_URL": PUBLIC, "DESKHAND_TEAMS_APP_ID": APP_ID}
    done = cli(tmp_path, "manifest", "teams", "--version", "1.4.2", **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == "1.4.2"
    done = cli(tmp_path, "teams-package", "--build", "42", "-o", "app.zip", **env)
    assert done.returncode == 0, done.stderr
    version = json.loads(zipfile.ZipFile(tmp_path / "app.zip").read("manifest.json"))["version"]
    assert version.endswith(".42") and f"version {version}" in done.stdout
    done = cli(tmp_path, "teams-package", "--version", "1.4", **env)
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr
    assert "'1.4' is not MAJOR.MINOR.PATCH" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = cli(tmp_path, "manifest", "teams", "--version", "1.4.2", "--build", "7", **env)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
    done = cli(tmp_path, "manifest", "slack", DESKHAND_PUBLIC_URL=PUBLIC, DESKHAND_SLACK_COMMANDS="single",
               DESKHAND_SLACK_COMMAND_PREFIX="dh-")
    assert done.returncode == 0, done.stderr
    assert [c["command"] for c in json.loads(done.stdout)["features"]["slash_commands"]] == ["/deskhand"]
