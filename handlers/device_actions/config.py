"""DESKHAND_WS1_*: where Workspace ONE UEM is and how deskhand signs in to it."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.settings import http_url


class WorkspaceOneConfig(BaseModel):
    ws1_url: str = ""  # the tenant's API host, https://asNNN.awmdm.com/api/
    ws1_tenant_code: SecretStr | None = None  # the REST API key, sent as aw-tenant-code
    ws1_username: str = ""  # Basic: an API admin account (with the password)
    ws1_password: SecretStr | None = None
    ws1_client_id: str = ""  # OAuth client credentials (with the secret); wins over Basic
    ws1_client_secret: SecretStr | None = None
    ws1_token_url: str = "na"  # a region (na, emea, apac, uat) or the token URL itself
    ws1_api_version: int = Field(default=1, ge=1, le=4)

    @field_validator("ws1_url")
    @classmethod
    def _ws1_url(cls, value: str) -> str:
        return http_url(value) if value else value
