"""Process settings: DESKHAND_* environment variables over an optional TOML file.

`CoreSettings` holds the runtime's and the chat platforms' settings; each capability declares
its own (a pydantic model of its DESKHAND_* fields) and the composition root merges them all
into one `Settings` class (bot/bootstrap.py), so every variable is read and checked once, in
one place. Invalid settings stop start-up with one line per problem (see `load_settings`).
"""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.secrets import MIN_LENGTH
from bot.settings_file import unknown_keys
from storage.pg_connect import connect_args

Mode = Literal["production", "demo", "dev"]


def http_url(value: str) -> str:
    """A field validator for URLs deskhand calls or links to."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESKHAND_", extra="ignore")

    # Each field's description is its row in docs/operations.md's settings table
    # (`deskhand settings-doc`): say what it does for an operator, and the unit.
    mode: Mode = Field("production", description=(
        "`production` for real use; `demo` and `dev` turn the web console on with a persona "
        "picker that lets anyone act as anyone: never on a network"))
    database_url: str = Field("sqlite+aiosqlite:///./deskhand.db", description=(
        "`sqlite+aiosqlite:///path.db` (one process) or "
        "`postgresql+asyncpg://user:password@host:5432/db`; libpq's `sslmode`, `sslrootcert`, "
        "`sslcert` and `sslkey` are accepted in the URL"))
    secret_key: SecretStr | None = Field(None, description=(
        "required by `serve`, at least 16 characters: encrypts the secrets and tokens stored in "
        "the database and signs download links; keep it with the backups"))
    secret_keys: SecretStr | None = Field(None, description=(
        "the secret key ring, instead of `DESKHAND_SECRET_KEY` (never both): keys separated by "
        "commas, newest first, each at least 16 characters; new secrets are sealed and links "
        "signed with the first, stored ones open with any (docs/security.md, \"Rotating the "
        "secret key\")"))
    public_url: str = Field("http://127.0.0.1:3978", description=(
        "the https URL people, Slack and Teams reach deskhand at (the reverse proxy's): download "
        "links, console sign-in links and the OAuth callback are built from it"))
    host: str = Field("127.0.0.1", description=(
        "the address the listener binds: 127.0.0.1 behind a proxy on the same host, 0.0.0.0 in "
        "a container"))
    port: int = Field(3978, ge=1, le=65535, description="the listener's port")
    tenant: str = Field("default", pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description=(
        "the slug of the deployment's own tenant: the one the `DESKHAND_*` integration settings "
        "and the command-line tools act on"))
    tenant_name: str = Field("Default tenant", description=(
        "that tenant's display name, given when it is first created"))
    console_enabled: bool | None = Field(None, description=(
        "the web console at `/console`; unset: on in demo/dev, off in production, where it "
        "signs people in with single-use links"))
    console_link_minutes: int = Field(5, ge=1, le=30, description=(
        "how long a console sign-in link works (minutes)"))
    console_session_hours: int = Field(12, ge=1, le=168, description=(
        "how long a console session lasts (hours)"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description=(
        "the lowest level written to standard error"))
    log_format: Literal["text", "json"] = Field("text", description=(
        "`json`: one object per line, with the correlation id, tenant, platform and command of "
        "the request being handled (docs/security.md#logs)"))
    # /metrics (bot/metrics_web.py): on a listener of its own when a port is set; on the public
    # listener only with a bearer token.
    metrics_port: int | None = Field(None, ge=1, le=65535, description=(
        "serve `/metrics` on a listener of its own at this port; unset: no metrics listener"))
    metrics_host: str = Field("127.0.0.1", description=(
        "the address the metrics listener binds (0.0.0.0 in a container, published only to the "
        "scraper)"))
    metrics_token: SecretStr | None = Field(None, description=(
        "a bearer token (at least 16 characters) Prometheus sends for `/metrics`; with it "
        "`/metrics` is also served on the public listener; without it and without a port, there "
        "are no metrics"))
    replica_id: str = Field("", description=(
        "names this process in job leases and heartbeats; empty: `host:pid`. With several "
        "replicas, give each its own or leave it empty"))
    # Chat work after the ack runs in worker processes that `serve` starts (bot/workers.py),
    # at a lower CPU priority, so acks come first under load. docs/architecture.md,
    # "The inbox and worker processes".
    workers: int = Field(1, ge=0, le=32, description=(
        "worker processes `serve` starts to run chat requests after the ack, when Slack or "
        "Teams is configured; 0 runs them in the listener's process"))
    worker_nice: int = Field(10, ge=0, le=19, description=(
        "how much lower the workers' CPU priority is than the listener's (nice steps)"))
    # A listener with worker processes is not ready while none has reported (bot/heartbeat.py).
    worker_heartbeat: int = Field(10, ge=1, le=60, description=(
        "how often each worker reports that it is alive (seconds)"))
    worker_stale_after: int = Field(30, ge=2, le=600, description=(
        "`/readyz` is 503 while no worker has reported for this long (seconds; at least twice "
        "`DESKHAND_WORKER_HEARTBEAT`)"))
    inbox_max_age: int = Field(600, ge=60, le=86_400, description=(
        "a chat request still queued after this long is answered \"too late\", never run "
        "(seconds)"))
    stuck_after: int = Field(300, ge=5, le=86_400, description=(
        "a workflow row still in a passing state (a session being started or closed) this long "
        "was left by a crash, and its sweep settles it (seconds)"))

    slack_signing_secret: SecretStr | None = Field(None, description=(
        "Slack's signing secret: HTTP mode, `POST /slack/events` checks every request with it"))
    slack_signing_secret_previous: SecretStr | None = Field(None, description=(
        "while the signing secret is being rotated: the one it replaces, also accepted on "
        "requests; unset it once every process has the new one"))
    slack_bot_token: SecretStr | None = Field(None, description="the Slack bot token, `xoxb-...`")
    slack_app_token: SecretStr | None = Field(None, description=(
        "the app-level token `xapp-...` for Socket Mode (no inbound endpoint for Slack)"))
    slack_api_url: str = Field("https://slack.com/api/", description=(
        "Slack's Web API base; change it only for a test double"))
    # Slash command names (bot/platforms/slack/commands.py). The umbrella `/deskhand` is never prefixed.
    slack_command_prefix: str = Field("", description=(
        "a prefix for Slack slash commands so they do not clash with other apps: `dh-` makes "
        "`/dh-run`, `/dh-help`...; regenerate the manifest after changing it"))
    slack_commands: Literal["all", "single"] = Field("all", description=(
        "`all` registers one slash command per command group beside `/deskhand`; `single` "
        "registers `/deskhand` alone"))

    teams_app_id: str = Field("", description=(
        "the Azure Bot's Microsoft App ID; empty: `/api/messages` refuses every request"))
    teams_app_password: SecretStr | None = Field(None, description=(
        "the app registration's client secret (not for UserAssignedMSI)"))
    teams_app_password_previous: SecretStr | None = Field(None, description=(
        "while the client secret is being rotated: the one it replaces, tried when Entra refuses "
        "`DESKHAND_TEAMS_APP_PASSWORD` as `invalid_client`"))
    teams_tenant_id: str = Field("", description=(
        "the Entra tenant id, for SingleTenant and UserAssignedMSI"))
    teams_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        "MultiTenant", description="the Azure Bot's app type")
    teams_openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration", description=(
            "where the Bot Framework publishes the keys its requests are signed with (other "
            "clouds, tests)"))
    teams_token_url: str = Field("", description=(
        "where bot tokens come from; empty: `https://login.microsoftonline.com/<tenant>/oauth2/"
        "v2.0/token`, `botframework.com` as the tenant unless SingleTenant"))
    # Who runs this deskhand and how to reach them: its /about, /privacy and /terms pages say so
    # (bot/info_pages.py), and the Teams app links to them.
    operator_name: str = Field("", max_length=100, description=(
        "who runs this deskhand, named on its `/about`, `/privacy` and `/terms` pages"))
    operator_contact: str = Field("", max_length=200, description=(
        "how to reach them (an email or a URL becomes a link) on those pages"))

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
        if value.startswith("postgresql"):
            connect_args(value)  # sslmode & co.: refused here, at start-up, with what is allowed
        return value

    @model_validator(mode="before")
    @classmethod
    def _blank_secrets_are_unset(cls, data: Any) -> Any:
        # `DESKHAND_SLACK_SIGNING_SECRET=` (an unfilled template, `${VAR:-}` in compose) would
        # otherwise be a key everybody knows: anyone could sign Slack requests with it.
        if not isinstance(data, dict):
            return data
        secret = {n for n, f in cls.model_fields.items() if SecretStr in typing.get_args(f.annotation)}
        return {k: v for k, v in data.items()
                if not (k in secret and isinstance(v, str) and not v.strip())}

    @field_validator("secret_keys")
    @classmethod
    def _secret_keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:  # blank is unset too (_blank_secrets_are_unset)
            return None
        if info.data.get("secret_key"):
            raise ValueError("set DESKHAND_SECRET_KEYS or DESKHAND_SECRET_KEY, not both: put the "
                             "current key in DESKHAND_SECRET_KEYS (newest first) and unset "
                             "DESKHAND_SECRET_KEY")
        keys = _ring(value)
        if not all(keys):
            raise ValueError("an entry is empty: give the keys newest first, separated by commas")
        if len(set(keys)) < len(keys):
            raise ValueError("a key is listed twice")
        if any(len(key) < MIN_LENGTH for key in keys):
            raise ValueError(f"every key must be at least {MIN_LENGTH} characters")
        return value

    @field_validator("slack_command_prefix")
    @classmethod
    def _slack_command_prefix(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,15}", value):
            raise ValueError("must be up to 16 lower-case letters, digits, - or _, starting with a "
                             "letter or digit (e.g. dh-), as Slack command names allow")
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
    def secret_ring(self) -> list[str]:
        """The secret keys, newest first (empty when neither setting is given)."""
        if self.secret_keys is not None:
            return _ring(self.secret_keys)
        return [self.secret_key.get_secret_value()] if self.secret_key else []

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


def _ring(value: SecretStr) -> list[str]:
    return [key.strip() for key in value.get_secret_value().split(",")]


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
    if config_file and (problems := unknown_keys(Path(config_file), settings_cls.model_fields)):
        raise SettingsError([f"DESKHAND_CONFIG: {line}" for line in problems])
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
