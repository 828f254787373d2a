"""DESKHAND_TEAMVIEWER_*: how deskhand signs in to TeamViewer and where sessions are listed."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr, field_validator

from bot.settings import http_url


class TeamViewerConfig(BaseModel):
    teamviewer_url: str = "https://webapi.teamviewer.com/api/v1/"
    teamviewer_api_token: SecretStr | None = None  # a script token; wins over OAuth when set
    teamviewer_client_id: str = ""  # OAuth app (with the secret): `teamviewer connect`
    teamviewer_client_secret: SecretStr | None = None
    teamviewer_authorize_url: str = "https://login.teamviewer.com/oauth2/authorize"
    teamviewer_session_group: str = "deskhand"  # the session-list group new sessions go to

    @field_validator("teamviewer_url", "teamviewer_authorize_url")
    @classmethod
    def _teamviewer_urls(cls, value: str) -> str:
        return http_url(value)
