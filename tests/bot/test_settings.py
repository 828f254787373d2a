"""Process settings (env and TOML, one line per problem) and per-tenant settings' refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.bootstrap import CAPABILITIES
from bot.bootstrap import load as load_settings
from bot.settings import SettingsError
from bot.tenant_settings import CoreTenantSettings, TenantSection, owner
from bot.tenant_settings import parse_value as parse_in
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.instructions.config import InstructionSettings, TachyonConfig
from handlers.remote.config import TeamViewerConfig

SECTIONS: list[type[TenantSection]] = [
    CoreTenantSettings, *(c.tenant_settings for c in CAPABILITIES if c.tenant_settings)]


def parse_value(key: str, raw: str) -> object:
    return parse_in(owner(SECTIONS, key), key, raw)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DESKHAND_"):
            monkeypatch.delenv(name)


def test_invalid_environment_gives_one_line_per_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"DESKHAND_PORT": "70000", "DESKHAND_MODE": "staging", "DESKHAND_DATABASE_URL": "mysql://db",
           "DESKHAND_PUBLIC_URL": "ftp://bot", "DESKHAND_TENANT": "Bad Tenant",
           "DESKHAND_SECRET_KEY": "fine-secret"}
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    lines = exc.value.lines
    assert sorted(line.split(":", 1)[0] for line in lines) == [
        "DESKHAND_DATABASE_URL", "DESKHAND_MODE", "DESKHAND_PORT", "DESKHAND_PUBLIC_URL",
        "DESKHAND_TENANT"]
    by_name = dict(line.split(": ", 1) for line in lines)
    assert by_name["DESKHAND_MODE"] == "Input should be 'production', 'demo' or 'dev'"
    assert by_name["DESKHAND_DATABASE_URL"] == (
        "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
    assert by_name["DESKHAND_PUBLIC_URL"] == "must start with http:// or https://"
    assert "65535" in by_name["DESKHAND_PORT"]
    assert all("\n" not in line and "fine-secret" not in line for line in lines)
    assert str(exc.value) == "\n".join(lines)


def test_capability_settings_are_read_and_refused_like_the_core(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each capability declares its DESKHAND_* fields; they load (env over TOML) and fail with
    the same one line per problem as the core's."""
    config = tmp_path / "deskhand.toml"
    config.write_text('tachyon_url = "https://1e.example.com/Consumer/"\ntachyon_max_fqdns = 500\n')
    monkeypatch.setenv("DESKHAND_CONFIG", str(config))
    monkeypatch.setenv("DESKHAND_TACHYON_MAX_FQDNS", "250")
    monkeypatch.setenv("DESKHAND_TEAMVIEWER_API_TOKEN", "1234567-script-token")
    settings = load_settings()
    assert isinstance(settings, TachyonConfig) and isinstance(settings, TeamViewerConfig)
    assert (settings.tachyon_url, settings.tachyon_max_fqdns) == ("https://1e.example.com/Consumer/", 250)
    assert "1234567-script-token" not in repr(settings)
    monkeypatch.setenv("DESKHAND_TACHYON_MAX_FQDNS", "0")
    monkeypatch.setenv("DESKHAND_TEAMVIEWER_URL", "webapi.teamviewer.com")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert sorted(exc.value.lines) == [
        "DESKHAND_TACHYON_MAX_FQDNS: Input should be greater than or equal to 1",
        "DESKHAND_TEAMVIEWER_URL: must start with http:// or https://"]


def test_valid_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_MODE", "demo")
    monkeypatch.setenv("DESKHAND_PORT", "4001")
    monkeypatch.setenv("DESKHAND_SLACK_BOT_TOKEN", "xoxb-1-secret")
    settings = load_settings()
    assert (settings.mode, settings.port, settings.console_on) == ("demo", 4001, True)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1-secret"
    assert "xoxb-1-secret" not in repr(settings)
    assert load_settings(mode="production").console_on is False


def test_a_blank_secret_is_unset_not_a_key_everybody_knows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty Slack signing secret would let anyone sign requests: blank is as if not set."""
    config = tmp_path / "deskhand.toml"
    config.write_text('slack_bot_token = ""\nteamviewer_api_token = " "\n')
    monkeypatch.setenv("DESKHAND_CONFIG", str(config))
    monkeypatch.setenv("DESKHAND_SLACK_SIGNING_SECRET", "")
    monkeypatch.setenv("DESKHAND_WS1_PASSWORD", "  ")
    settings = load_settings()
    assert isinstance(settings, TeamViewerConfig) and isinstance(settings, WorkspaceOneConfig)
    assert (settings.slack_signing_secret, settings.slack_bot_token, settings.teamviewer_api_token,
            settings.ws1_password) == (None, None, None, None)
    monkeypatch.setenv("DESKHAND_SLACK_SIGNING_SECRET", "s3cret")
    assert load_settings().slack_signing_secret is not None


def test_toml_file_under_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "deskhand.toml"
    config.write_text('mode = "dev"\nport = 4100\ntenant = "globex"\n'
                      'tenant_name = "Globex Corp"\nteams_app_type = "SingleTenant"\n')
    monkeypatch.setenv("DESKHAND_CONFIG", str(config))
    settings = load_settings()
    assert (settings.mode, settings.port, settings.tenant, settings.tenant_name,
            settings.teams_app_type) == ("dev", 4100, "globex", "Globex Corp", "SingleTenant")
    monkeypatch.setenv("DESKHAND_PORT", "4200")
    assert load_settings().port == 4200  # the environment wins over the file


NEW_KEY, OLD_KEY = "new-key-" + "n" * 24, "old,key-" + "o" * 24


def test_the_secret_key_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    """DESKHAND_SECRET_KEYS, newest first; DESKHAND_SECRET_KEY alone is a ring of one (taken
    whole, commas and all); both at once are refused in one line."""
    assert load_settings().secret_ring == []
    monkeypatch.setenv("DESKHAND_SECRET_KEY", OLD_KEY)
    assert load_settings().secret_ring == [OLD_KEY]
    monkeypatch.setenv("DESKHAND_SECRET_KEYS", f" {NEW_KEY} , {OLD_KEY.replace(',', '.')}")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert exc.value.lines == [
        "DESKHAND_SECRET_KEYS: set DESKHAND_SECRET_KEYS or DESKHAND_SECRET_KEY, not both: put the "
        "current key in DESKHAND_SECRET_KEYS (newest first) and unset DESKHAND_SECRET_KEY"]
    monkeypatch.delenv("DESKHAND_SECRET_KEY")
    assert load_settings().secret_ring == [NEW_KEY, OLD_KEY.replace(",", ".")]
    monkeypatch.setenv("DESKHAND_SECRET_KEYS", " ")
    assert load_settings().secret_ring == []  # empty is not set
    for ring, problem in ((f"{NEW_KEY},,{NEW_KEY}x", "an entry is empty: give the keys newest "
                           "first, separated by commas"),
                          (f"{NEW_KEY}, {NEW_KEY}", "a key is listed twice"),
                          (f"{NEW_KEY},short-key", "every key must be at least 16 characters")):
        monkeypatch.setenv("DESKHAND_SECRET_KEYS", ring)
        with pytest.raises(SettingsError) as exc:
            load_settings()
        assert exc.value.lines == [f"DESKHAND_SECRET_KEYS: {problem}"]
        assert NEW_KEY not in str(exc.value) and "short-key" not in str(exc.value)


@pytest.mark.parametrize(("content", "line"), [
    (None, "DESKHAND_CONFIG: no such file"),
    ("port = \n", "DESKHAND_CONFIG: Invalid value (at line 1, column 8)"),
    ('port = "abc"\n', "DESKHAND_PORT: Input should be a valid integer"),
    ('teams_app_type = "Personal"\n', "DESKHAND_TEAMS_APP_TYPE: Input should be 'MultiTenant'"),
])
def test_bad_toml_file_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         content: str | None, line: str) -> None:
    config = tmp_path / "deskhand.toml"
    if content is not None:
        config.write_text(content)
    monkeypatch.setenv("DESKHAND_CONFIG", str(config))
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert len(exc.value.lines) == 1
    assert exc.value.lines[0].startswith(line)


def test_unknown_keys_in_the_toml_file_are_refused_with_the_nearest_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic-settings would pass over them, leaving the default in force without a word."""
    config = tmp_path / "deskhand.toml"
    config.write_text('DESKHAND_DATABASE_URL = "postgresql+asyncpg://deskhand@db/deskhand"\n'
                      'PORT = 4000\nworkres = 4\ntenant = "acme"\nfrobnicate = true\n'
                      '[slack]\nbot_token = "xoxb-1"\n')
    monkeypatch.setenv("DESKHAND_CONFIG", str(config))
    with pytest.raises(SettingsError) as exc:
        load_settings()
    rule = "(keys are the settings of docs/operations.md in lower case, without DESKHAND_)"
    at = f"DESKHAND_CONFIG: unknown key {{}} in {config}: "
    assert exc.value.lines == [
        at.format("DESKHAND_DATABASE_URL") + f"write it as database_url {rule}",
        at.format("PORT") + f"write it as port {rule}",
        at.format("workres") + f"did you mean workers? {rule}",
        at.format("frobnicate") + rule.strip("()"),
        at.format("slack") + "settings are top-level keys, not tables, e.g. slack_api_url, "
                             f"slack_app_token, slack_bot_token, slack_command_prefix {rule}"]
    config.write_text('database_url = "sqlite+aiosqlite:///x.db"\nport = 4000\nworkers = 4\n')
    assert (load_settings().port, load_settings().workers) == (4000, 4)


@pytest.mark.parametrize(("key", "raw", "message"), [
    ("keep_answers_minutes", "5", "keep_answers_minutes must be a whole number from 10 to 10080, not `5`"),
    ("response_keep_days", "366", "response_keep_days must be a whole number from 1 to 365, not `366`"),
    ("status_wait_seconds", "soon", "status_wait_seconds must be a whole number from 1 to 300, not `soon`"),
    ("response_batch_size", "9", "response_batch_size must be a whole number from 10 to 10000, not `9`"),
    ("page_size", "30", "page_size must be one of 10, 25, 50, 100, not `30`"),
    ("enable_approval", "maybe", "enable_approval must be on or off, not `maybe`"),
    ("export_file_prefix", "my report",
     "export_file_prefix must be text matching ^[A-Za-z0-9_-]{1,40}$, not `my report`"),
    ("colour", "red", "unknown setting `colour`; settings: page_size, targeted_device_field"),
])
def test_tenant_settings_refuse_with_the_allowed_values(key: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_value(key, raw)
    assert str(exc.value).startswith(message)


def test_tenant_settings_accept_text_from_chat() -> None:
    assert parse_value("keep_answers_minutes", "10080") == 10080
    assert parse_value("page_size", "25") == 25
    assert parse_value("enable_approval", "Off") is False
    assert parse_value("email_validation_exceptions", "a@x.com, b@x.com,") == ["a@x.com", "b@x.com"]
    core = CoreTenantSettings.load({"page_size": 50, "retired_setting": 1, "max_targets": 9})
    loaded = InstructionSettings.load({"page_size": 50, "retired_setting": 1})
    assert core.page_size == 50 and loaded.keep_answers_minutes == 120  # each reads its own keys
    with pytest.raises(ValueError, match="less than or equal to 365"):
        InstructionSettings.load({}).response_keep_days = 400


def test_every_tenant_setting_has_one_owner() -> None:
    keys = [k for s in SECTIONS for k in s.model_fields]
    assert len(keys) == len(set(keys))
