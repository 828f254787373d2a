"""DESKHAND_SERVICENOW_*: where ServiceNow is and how deskhand signs in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.settings import http_url


class ServiceNowConfig(BaseModel):
    servicenow_url: str = ""  # the instance root, https://<instance>.service-now.com/
    servicenow_username: str = ""  # Basic (or the OAuth password grant's user), with the password
    servicenow_password: SecretStr | None = None
    servicenow_client_id: str = ""  # OAuth, with the secret; wins over Basic
    servicenow_client_secret: SecretStr | None = None
    servicenow_grant: Literal["password", "client_credentials"] = "password"  # the OAuth grant
    # Where a bare device reference is looked up; which incident field names the device is
    # the tenant setting `targeted_device_field` (the devices settings).
    servicenow_device_table: str = Field(default="cmdb_ci", pattern=r"^[a-z][a-z0-9_]{0,79}$")
    servicenow_export_format: Literal["csv", "xlsx"] = "csv"  # a run's results attached to its incident

    @field_validator("servicenow_url")
    @classmethod
    def _servicenow_url(cls, value: str) -> str:
        return http_url(value) if value else value
