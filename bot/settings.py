"""Process settings: DESKHAND_* environment variables over an optional TOML file.

`CoreSettings` holds the runtime's and the chat platforms' settings; each capability declares
its own (a pydantic model of its DESKHAND_* fields) and the composition root merges them all
into one `Settings` class (bot/bootstrap.py), so every variable is read and checked once, in
one place. Invalid settings stop start-up with one line per problem (see `load_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Mode = Literal["production", "demo", "dev"]


def http_url(value: str) -> str:
    """A field validator for URLs deskhand calls or links to."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESKHAND_", extra="ignore")

    mode: Mode = "production"
    database_url: str = "sqlite+aiosqlite:///./deskhand.db"
    secret_key: SecretStr | None = None
    public_url: str = "http://127.0.0.1:3978"
    host: str = "127.0.0.1"
    port: int = Field(3978, ge=1, le=65535)
    tenant: str = Field("default", pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    tenant_name: str = "Default tenant"
    console_enabled: bool | None = None  # None: on in demo/dev, off in production
    # In production the console signs people in with single-use links (bot/console_signin.py).
    console_link_minutes: int = Field(5, ge=1, le=30)
    console_session_hours: int = Field(12, ge=1, le=168)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # json: one object per line, with the correlation id, tenant, platform and command (bot/logs.py)
    log_format: Literal["text", "json"] = "text"
    # /metrics (bot/metrics_web.py): on a listener of its own when a port is set (loopback unless
    # DESKHAND_METRICS_HOST says otherwise); on the public listener only with a bearer token.
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None
    replica_id: str = ""  # names this process in job leases; defaults to host:pid
    # Chat work after the ack runs in this many `deskhand worker` processes that `serve` starts
    # (0: in the listener's own process); they run at this much lower CPU priority, so acks
    # come first under load. docs/architecture.md, "The inbox and worker processes".
    workers: int = Field(1, ge=0, le=32)
    worker_nice: int = Field(10, ge=0, le=19)
    # Every worker reports this often (seconds); a listener with worker processes is not ready
    # while none has reported for DESKHAND_WORKER_STALE_AFTER seconds (bot/heartbeat.py).
    worker_heartbeat: int = Field(10, ge=1, le=60)
    worker_stale_after: int = Field(30, ge=2, le=600)
    # A request still queued after this many seconds is answered "too late", never run.
    inbox_max_age: int = Field(600, ge=60, le=86_400)
    # A workflow row still in a passing state (a session being started or closed) this many
    # seconds after it got there was left by a crash: its capability's sweep settles it.
    stuck_after: int = Field(300, ge=5, le=86_400)

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    teams_app_id: str = ""
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str = ""
    teams_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "MultiTenant"
    # Where Bot Framework signing keys and bot tokens come from; overridable for tests and clouds.
    teams_openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    teams_token_url: str = ""  # default: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        try:
            make_url(value)
        except (ArgumentError, ValueError):  # not echoed: the URL may hold a password
            raise ValueError("is not a valid URL: check the port is a number and that special "
                             "characters in the password are percent-encoded (@ as %40)") from None
        return value

    @field_validator("metrics_port")
    @classmethod
    def _metrics_port(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value == info.data.get("port"):
            raise ValueError("must differ from DESKHAND_PORT: metrics get a listener of their own")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # DESKHAND_METRICS_TOKEN= (empty) is unset
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (e.g. from `openssl rand -hex 32`)")
        return value

    @field_validator("worker_stale_after")
    @classmethod
    def _worker_stale_after(cls, value: int, info: ValidationInfo) -> int:
        beat = info.data.get("worker_heartbeat")
        if beat is not None and value < 2 * beat:
            raise ValueError(f"must be at least twice DESKHAND_WORKER_HEARTBEAT ({beat} s), so "
                             "one late report does not make the listener unready")
        return value

    @field_validator("public_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @property
    def console_on(self) -> bool:
        return self.console_enabled if self.console_enabled is not None else self.mode != "production"

    @property
    def console_signs_in(self) -> bool:
        """Outside demo/dev mode nobody picks a persona: a sign-in link says who you are."""
        return self.mode == "production"

    @property
    def replica(self) -> str:
        return self.replica_id or f"{os.uname().nodename}:{os.getpid()}"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("DESKHAND_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


class SettingsError(Exception):
    """Start-up settings are wrong; `lines` says each problem once."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


S = TypeVar("S", bound=CoreSettings)
C = TypeVar("C")


def section(settings: CoreSettings, cls: type[C]) -> C:
    """A capability's own settings: its part of the merged Settings (bot/bootstrap.py)."""
    if not isinstance(settings, cls):
        raise TypeError(f"{cls.__name__} is not part of these settings: is its capability "
                        "installed in bot/bootstrap.py?")
    return settings


def load_settings(settings_cls: type[S], **overrides: Any) -> S:
    config_file = os.environ.get("DESKHAND_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError([f"DESKHAND_CONFIG: no such file {config_file}"])
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"DESKHAND_{name}: {msg}")
        raise SettingsError(lines) from None
    except ValueError as exc:  # a TOML syntax error
        raise SettingsError([f"DESKHAND_CONFIG: {exc}"]) from None
