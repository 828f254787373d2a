"""DESKHAND_WS1_*: where Workspace ONE UEM is and how deskhand signs in to it."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.settings import http_url


class WorkspaceOneConfig(BaseModel):
    ws1_url: str = Field("", description=(
        "Workspace ONE UEM's API host, `https://asNNN.awmdm.com/api/`; empty: no Workspace ONE"))
    ws1_tenant_code: SecretStr | None = Field(None, description=(
        "the REST API key, sent as `aw-tenant-code`"))
    ws1_username: str = Field("", description=(
        "Basic authentication: an API admin account (with the password)"))
    ws1_password: SecretStr | None = Field(None, description="that account's password")
    ws1_client_id: str = Field("", description=(
        "OAuth client credentials (with the secret); win over Basic"))
    ws1_client_secret: SecretStr | None = Field(None, description="the OAuth client's secret")
    ws1_token_url: str = Field("na", description=(
        "where OAuth tokens come from: a region (`na`, `emea`, `apac`, `uat`: "
        "`https://<region>.uemauth.workspaceone.com/connect/token`) or the token URL itself"))
    ws1_api_version: int = Field(default=1, ge=1, le=4, description=(
        "the API version deskhand asks for (`Accept: application/json;version=N`)"))

    @field_validator("ws1_url")
    @classmethod
    def _ws1_url(cls, value: str) -> str:
        return http_url(value) if value else value
