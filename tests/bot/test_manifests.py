"""Slack and Teams manifests: schema-valid, from the registry, packaged; the committed copies current."""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft4Validator, Draft6Validator, Draft7Validator, ValidationError

from bot import bootstrap, manifests
from bot.bootstrap import Settings
from bot.context import Reply
from bot.registry import CommandSpec, Registry
from tests.fakes import bot_connector, schemas
from tests.fakes.schemas import require

REPO = Path(__file__).resolve().parents[2]
PUBLIC = "https://deskhand.example.com"
APP_ID = "00000000-0000-0000-0000-000000000000"
REGENERATE = ("run `DESKHAND_PUBLIC_URL=https://deskhand.example.com DESKHAND_TEAMS_APP_ID="
              "00000000-0000-0000-0000-000000000000 deskhand manifest all` (manifest/README.md)")


def test_every_schema_is_looked_up_in_one_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(schemas.ENV, raising=False)
    assert schemas.schemas_dir() == REPO.parent / "shared" / "schemas"
    monkeypatch.setenv(schemas.ENV, "")  # empty is unset, for the manifests and the cards alike
    assert schemas.schemas_dir() == REPO.parent / "shared" / "schemas"
    monkeypatch.setenv(schemas.ENV, str(tmp_path))
    (tmp_path / "teams-manifest.schema.json").write_text('{"title": "here"}')
    assert require("teams-manifest.schema.json") == {"title": "here"}
    assert bot_connector.card_validator() is None  # the card schema is looked for there too
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"slack-manifest\.schema\.1\.0\.0\.json is not in "
                       + re.escape(str(tmp_path)) + ".*DESKHAND_SHARED_SCHEMAS.*README"):
        require("slack-manifest.schema.1.0.0.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="DESKHAND_SHARED_SCHEMAS"):
        require("slack-manifest.schema.1.0.0.json")


def _tolerant_pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[ValidationError]:
    # Python's re has no \p{L} (the Teams schema uses it for Excel function names only): read it as \w,
    # a superset, so the validator never rejects a valid manifest and still runs every other pattern.
    if validator.is_type(instance, "string") and not re.search(pattern.replace(r"\p{L}", r"\w"), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft-04 has no `const`; borrow draft-06's so manifestVersion "1.29" is enforced by the schema too.
TeamsValidator = jsonschema.validators.extend(
    Draft4Validator, {"pattern": _tolerant_pattern, "const": Draft6Validator.VALIDATORS["const"]})


def validate_slack(data: dict[str, Any]) -> None:
    Draft7Validator(require("slack-manifest.schema.1.0.0.json")).validate(data)
    # The schema spells this rule `regex`, which validators ignore; check it here.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", data["display_information"]["background_color"])


def validate_teams(data: dict[str, Any]) -> None:
    teams_schema = require("teams-manifest.schema.json")
    TeamsValidator(teams_schema).validate(data)
    assert data["manifestVersion"] == teams_schema["properties"]["manifestVersion"]["const"] == "1.29"


def settings(**kw: Any) -> Settings:
    # Explicit values win over any DESKHAND_* variables in the test's environment.
    return Settings(**{"public_url": PUBLIC, "teams_app_id": APP_ID, "slack_app_token": None, **kw})


@pytest.fixture
def registry() -> Registry:
    return bootstrap.commands()


async def _noop(ctx: Any, cmd: Any) -> Reply:
    raise AssertionError("manifest tests never run handlers")


def synthetic(names: list[str]) -> Registry:
    reg = Registry()
    for name in names:
        reg.add(CommandSpec(name=name, summary=f"Does {name}.", handler=_noop))
    return reg


def test_validators_are_live() -> None:
    slack = manifests.slack_manifest(settings(), synthetic(["help"]))
    slack["display_information"]["name"] = "x" * 36
    with pytest.raises(ValidationError):
        validate_slack(slack)
    teams = manifests.teams_manifest(settings(), synthetic(["help"]))
    for key, bad in (("manifestVersion", "1.28"), ("accentColor", "blue"), ("id", "not-a-guid")):
        with pytest.raises(ValidationError):
            TeamsValidator(require("teams-manifest.schema.json")).validate({**teams, key: bad})


def test_slack_http_manifest(registry: Registry) -> None:
    data = manifests.slack_manifest(settings(), registry)
    validate_slack(data)
    url = f"{PUBLIC}/slack/events"
    assert all(c["url"] == url for c in data["features"]["slash_commands"])
    assert data["settings"]["event_subscriptions"] == {"request_url": url,
                                                       "bot_events": ["app_mention", "message.im"]}
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["oauth_config"]["scopes"]["bot"] == [
        "app_mentions:read", "chat:write", "chat:write.public", "commands", "files:write",
        "im:history", "users:read", "users:read.email"]
    assert data["features"]["app_home"]["messages_tab_enabled"] is True  # people DM the bot


def test_slack_socket_mode_has_no_urls(registry: Registry) -> None:
    data = manifests.slack_manifest(settings(public_url="http://127.0.0.1:3978", slack_app_token="xapp-1-x"),
                                    registry)
    validate_slack(data)
    assert data["settings"]["socket_mode_enabled"] is True
    assert "url" not in json.dumps(data) and "xapp" not in json.dumps(data)
    assert data["settings"]["interactivity"] == {"is_enabled": True}


def test_slack_slash_commands_are_exactly_the_groups(registry: Registry) -> None:
    data = manifests.slack_manifest(settings(), registry)
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert list(commands) == ["/deskhand", *(f"/{g}" for g in registry.groups())]
    assert set(commands) == {
        "/deskhand", "/approvals", "/audit", "/cancel", "/cert", "/channel", "/console",
        "/data-access", "/device", "/devices", "/help", "/history", "/identity", "/incident",
        "/instructions",
        "/integrations", "/remote", "/role", "/run", "/settings", "/teamviewer", "/token", "/whoami",
        "/why"}
    assert commands["/devices"]["usage_hint"] == "[<search>] [group=<group>]"
    assert commands["/devices"]["description"] == registry.commands["devices"].summary
    assert "usage_hint" not in commands["/whoami"]  # takes no arguments
    subs = [n.split(" ", 1)[1] for n in registry.commands if n.startswith("role ")]
    assert commands["/role"]["usage_hint"].startswith(" | ".join(subs))
    assert all(len(c["description"]) <= manifests.SLACK_DESCRIPTION_MAX for c in commands.values())


def test_slack_follows_the_registry() -> None:
    reg = synthetic(["help", "remote", "run question", "run action", "status", "x" * 40])
    data = manifests.slack_manifest(settings(), reg)
    validate_slack(data)
    names = [c["command"] for c in data["features"]["slash_commands"]]
    assert names == ["/deskhand", "/help", "/remote", "/run"]  # /status is Slack's own; 41 chars is too long
    assert "/deskhand help" in data["features"]["slash_commands"][0]["description"]  # reaches `status`


def test_slack_needs_https_unless_socket_mode(registry: Registry) -> None:
    with pytest.raises(manifests.ManifestError, match=r"DESKHAND_PUBLIC_URL.*https://.*SLACK_APP_TOKEN"):
        manifests.slack_manifest(settings(public_url="http://deskhand.example.com"), registry)


def test_yaml_matches_json(registry: Registry) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the YAML back")
    data = manifests.slack_manifest(settings(), registry)
    assert yaml.safe_load(manifests.to_yaml(data)) == data
    tricky = {"a": ["yes", "No", "", "#x", "a: b", "- x", "123", "é ✓", "say \"hi\"\n"], "b": {}, "c": [],
              "d": [{"k": 1, "l": [True, False]}], "e": {"f": {"g": "/x"}}}
    assert yaml.safe_load(manifests.to_yaml(tricky)) == tricky


def test_teams_manifest(registry: Registry) -> None:
    data = manifests.teams_manifest(settings(), registry)
    validate_teams(data)
    assert data["id"] == data["bots"][0]["botId"] == data["webApplicationInfo"]["id"] == APP_ID
    assert data["validDomains"] == ["deskhand.example.com"]
    assert data["bots"][0]["scopes"] == ["personal", "team", "groupChat"]
    assert data["icons"] == {"outline": "outline.png", "color": "color.png"}
    # More groups than the ten places: help first, then one command per group, none twice.
    titles = [c["title"] for c in data["bots"][0]["commandLists"][0]["commands"]]
    assert len(titles) == 10 and titles[0] == "help"
    assert set(titles) <= set(registry.commands)
    groups = [t.split(" ", 1)[0] for t in titles]
    assert len(set(groups)) == len(groups)


def test_teams_command_list_keeps_every_group_within_limits() -> None:
    names = ["help", *(f"g{i} one" for i in range(8)), "g0 two", "g0 three", "g1 two", "z" * 33]
    chosen = [s.name for s in manifests.teams_commands(synthetic(names))]
    assert len(chosen) == 10
    assert chosen == ["help", "g0 one", "g0 two", *(f"g{i} one" for i in range(1, 8))]
    many = [f"g{i:02d}" for i in range(15)]
    data = manifests.teams_manifest(settings(), synthetic(["help", *many]))
    validate_teams(data)
    titles = [c["title"] for c in data["bots"][0]["commandLists"][0]["commands"]]
    assert titles == ["help", *many[:9]]


def test_teams_needs_an_app_id_and_https(registry: Registry) -> None:
    with pytest.raises(manifests.ManifestError, match="DESKHAND_TEAMS_APP_ID is not set"):
        manifests.teams_manifest(settings(teams_app_id=""), registry)
    with pytest.raises(manifests.ManifestError, match="not a GUID"):
        manifests.teams_manifest(settings(teams_app_id="my-bot"), registry)
    with pytest.raises(manifests.ManifestError, match="https://"):
        manifests.teams_manifest(settings(public_url="http://127.0.0.1:3978"), registry)


def read_png(body: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGBA bytes) of an 8-bit RGBA PNG, checking every chunk's CRC."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(body):
        (length,) = struct.unpack(">I", body[pos : pos + 4])
        kind, data = body[pos + 4 : pos + 8], body[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", body[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + data)
        header = data if kind == b"IHDR" else header
        idat += data if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, color, interlace) == (8, 6, 0)
    raw, stride = zlib.decompress(idat), width * 4 + 1
    assert len(raw) == height * stride and all(raw[r * stride] == 0 for r in range(height))
    return width, height, b"".join(raw[r * stride + 1 : (r + 1) * stride] for r in range(height))


def test_teams_package(registry: Registry) -> None:
    body = manifests.teams_package(settings(), registry)
    assert body == manifests.teams_package(settings(), registry)  # reproducible
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest == manifests.teams_manifest(settings(), registry)
    validate_teams(manifest)
    width, height, color = read_png(archive.read(manifest["icons"]["color"]))
    assert (width, height) == (192, 192) and set(color[3::4]) == {255}  # opaque
    width, height, outline = read_png(archive.read(manifest["icons"]["outline"]))
    assert (width, height) == (32, 32)
    assert set(outline[0::4]) == set(outline[1::4]) == set(outline[2::4]) == {255}  # white
    alpha = outline[3::4]
    assert alpha[0] == alpha[31] == alpha[-1] == 0 and max(alpha) == 255  # on transparent
    assert 0.1 < sum(a > 127 for a in alpha) / len(alpha) < 0.5


def test_committed_manifest_folder_is_current(registry: Registry, tmp_path: Path) -> None:
    written = manifests.write_all(tmp_path, settings(), registry)
    for path in written:
        committed = REPO / "manifest" / path.relative_to(tmp_path)
        assert committed.is_file(), f"{committed} is missing: {REGENERATE}"
        if path.suffix == ".png":  # compare pixels: zlib builds may compress differently
            assert read_png(committed.read_bytes()) == read_png(path.read_bytes()), f"stale: {REGENERATE}"
        else:
            assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: {REGENERATE}"
    assert (REPO / "manifest" / "README.md").is_file()


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli(registry: Registry, tmp_path: Path) -> None:
    env = {"DESKHAND_PUBLIC_URL": PUBLIC, "DESKHAND_TEAMS_APP_ID": APP_ID}
    done = cli(tmp_path, "manifest", "slack", **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == manifests.slack_manifest(settings(), registry)
    done = cli(tmp_path, "manifest", "slack", "-o", "out/slack.yaml", **env)
    assert done.returncode == 0, done.stderr
    expected = manifests.to_yaml(manifests.slack_manifest(settings(), registry))
    assert (tmp_path / "out/slack.yaml").read_text() == expected
    done = cli(tmp_path, "manifest", "teams", "--privacy-url", "https://it.example.com/privacy", **env)
    assert done.returncode == 0, done.stderr
    teams = json.loads(done.stdout)
    validate_teams(teams)
    assert teams["developer"]["privacyUrl"] == "https://it.example.com/privacy"
    done = cli(tmp_path, "teams-package", **env)
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(tmp_path / "deskhand-teams.zip").namelist()
    assert sorted(names) == ["color.png", "manifest.json", "outline.png"]


def test_cli_errors_are_one_clear_line(tmp_path: Path) -> None:
    done = cli(tmp_path, "manifest", "teams", DESKHAND_PUBLIC_URL=PUBLIC)
    assert done.returncode == 1 and done.stdout == ""
    assert "DESKHAND_TEAMS_APP_ID is not set" in done.stderr and "Traceback" not in done.stderr
    done = cli(tmp_path, "manifest", "slack", DESKHAND_SLACK_APP_TOKEN="xapp-1-secret-value",
               DESKHAND_PUBLIC_URL="http://localhost:3978", DESKHAND_TEAMS_APP_ID="bad")
    assert done.returncode == 0 and "secret-value" not in done.stdout + done.stderr
    assert json.loads(done.stdout)["settings"]["socket_mode_enabled"] is True
    (tmp_path / "blocker").write_text("a file, not a folder")
    done = cli(tmp_path, "teams-package", "-o", "blocker/x.zip", DESKHAND_PUBLIC_URL=PUBLIC,
               DESKHAND_TEAMS_APP_ID=APP_ID)
    assert done.returncode == 1 and "cannot write" in done.stderr and "Traceback" not in done.stderr
