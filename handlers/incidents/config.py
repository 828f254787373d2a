"""DESKHAND_SERVICENOW_*: where ServiceNow is and how deskhand signs in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.settings import http_url


class ServiceNowConfig(BaseModel):
    servicenow_url: str = Field("", description=(
        "the instance root, `https://<instance>.service-now.com/`; empty: no ServiceNow"))
    servicenow_username: str = Field("", description=(
        "Basic authentication's user (or the OAuth password grant's), with the password"))
    servicenow_password: SecretStr | None = Field(None, description="that user's password")
    servicenow_client_id: str = Field("", description="OAuth (with the secret); wins over Basic")
    servicenow_client_secret: SecretStr | None = Field(None, description=(
        "the OAuth client's secret"))
    servicenow_grant: Literal["password", "client_credentials"] = Field(
        "password", description="the OAuth grant deskhand uses")
    # Which incident field names the device is the tenant setting `targeted_device_field`.
    servicenow_device_table: str = Field(
        default="cmdb_ci", pattern=r"^[a-z][a-z0-9_]{0,79}$",
        description="the table a bare device reference of an incident is looked up in")
    servicenow_export_format: Literal["csv", "xlsx"] = Field("csv", description=(
        "the file a completed run's results are attached to its incident as"))

    @field_validator("servicenow_url")
    @classmethod
    def _servicenow_url(cls, value: str) -> str:
        return http_url(value) if value else value
