"""DESKHAND_IDP_*: which identity provider deskhand proves its certificate to, and as whom."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.settings import http_url
from integrations.idp import ENTRA_TOKEN_PATH


class IdpSettings(BaseModel):
    idp_kind: Literal["", "entra", "okta"] = Field("", description=(
        "the identity provider deskhand's certificates are for; empty: none, `cert activate` "
        "refuses"))
    # msal's authority is Entra's token URL without /oauth2/v2.0/token.
    idp_token_url: str = Field("", description=(
        "Entra: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`; Okta: "
        "`https://<org>.okta.com/oauth2/v1/token` (okta.* scopes) or "
        "`.../oauth2/<server id>/v1/token`"))
    idp_client_id: str = Field("", description=(
        "the app registration (Entra) or the API service app (Okta)"))
    idp_scope: str = Field("", description=(
        "empty: Entra's `https://graph.microsoft.com/.default`, Okta's `okta.apps.read`"))
    idp_ca_file: str = Field("", description=(
        "a CA bundle to trust for the IdP's TLS (a private CA)"))
    idp_certificate_subject: str = Field("deskhand", description=(
        "the CN of the certificates deskhand makes"))

    @field_validator("idp_token_url")
    @classmethod
    def _idp_token_url(cls, value: str) -> str:
        return http_url(value) if value else value

    @model_validator(mode="after")
    def _idp_entra_token_url(self) -> IdpSettings:
        if self.idp_kind == "entra" and not self.idp_token_url.endswith(ENTRA_TOKEN_PATH):
            raise ValueError(f"DESKHAND_IDP_TOKEN_URL for Entra ends with {ENTRA_TOKEN_PATH} "
                             "(https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token)")
        return self
