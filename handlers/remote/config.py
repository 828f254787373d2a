"""DESKHAND_TEAMVIEWER_*: how deskhand signs in to TeamViewer and where sessions are listed."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.settings import http_url

CALLBACK_PATH = "/oauth/teamviewer/callback"  # where TeamViewer sends an admin back (callback.py)


class TeamViewerConfig(BaseModel):
    teamviewer_url: str = Field("https://webapi.teamviewer.com/api/v1/", description=(
        "TeamViewer's Web API"))
    teamviewer_api_token: SecretStr | None = Field(None, description=(
        "a TeamViewer script token; wins over OAuth when set"))
    teamviewer_client_id: str = Field("", description=(
        "a TeamViewer OAuth app (with the secret), connected with `teamviewer connect`"))
    teamviewer_client_secret: SecretStr | None = Field(None, description=(
        "the OAuth app's secret"))
    teamviewer_authorize_url: str = Field(
        "https://login.teamviewer.com/oauth2/authorize", description=(
            "where `teamviewer connect` sends the admin's browser to sign in"))
    teamviewer_session_group: str = Field("deskhand", description=(
        "the session-list group new remote sessions go to"))

    @field_validator("teamviewer_url", "teamviewer_authorize_url")
    @classmethod
    def _teamviewer_urls(cls, value: str) -> str:
        return http_url(value)
