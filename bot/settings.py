"""Process settings: DESKHAND_* environment variables over an optional TOML file.

Invalid settings stop start-up with one line per problem (see `load_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Mode = Literal["production", "demo", "dev"]


class Settings(BaseSettings):
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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    replica_id: str = ""  # names this process in job leases; defaults to host:pid
    # Chat work after the ack runs in this many `deskhand worker` processes that `serve` starts
    # (0: in the listener's own process); they run at this much lower CPU priority, so acks
    # come first under load. docs/architecture.md, "The inbox and worker processes".
    workers: int = Field(1, ge=0, le=32)
    worker_nice: int = Field(10, ge=0, le=19)
    # A request still queued after this many seconds is answered "too late", never run.
    inbox_max_age: int = Field(600, ge=60, le=86_400)

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

    teamviewer_url: str = "https://webapi.teamviewer.com/api/v1/"
    teamviewer_api_token: SecretStr | None = None  # a script token; wins over OAuth when set
    teamviewer_client_id: str = ""  # OAuth app (with the secret): `teamviewer connect`
    teamviewer_client_secret: SecretStr | None = None
    teamviewer_authorize_url: str = "https://login.teamviewer.com/oauth2/authorize"
    teamviewer_session_group: str = "deskhand"  # the session-list group new sessions go to
    tachyon_url: str = ""  # the Consumer API root, https://<server>/Consumer/
    tachyon_consumer: str = "deskhand"  # the consumer name registered in 1E (X-Tachyon-Consumer)
    tachyon_token: SecretStr | None = None  # X-Tachyon-Authenticate for deskhand's principal
    tachyon_approver_token: SecretStr | None = None  # a second principal for 1E-side approvals
    # Most FQDNs sent in one Instructions/Targeted body; 1E's own limit is not documented, so a
    # larger group goes out as its 1E management group's scope (`deskhand groups link`).
    tachyon_max_fqdns: int = Field(default=10_000, ge=1, le=100_000)
    ws1_url: str = ""
    servicenow_url: str = ""
    idp_token_url: str = ""

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("public_url", "slack_api_url", "teamviewer_url", "teamviewer_authorize_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def console_on(self) -> bool:
        return self.console_enabled if self.console_enabled is not None else self.mode != "production"

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


def load_settings(**overrides: Any) -> Settings:
    config_file = os.environ.get("DESKHAND_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError([f"DESKHAND_CONFIG: no such file {config_file}"])
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"DESKHAND_{name}: {msg}")
        raise SettingsError(lines) from None
    except ValueError as exc:  # a TOML syntax error
        raise SettingsError([f"DESKHAND_CONFIG: {exc}"]) from None
