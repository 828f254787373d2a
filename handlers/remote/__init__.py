"""Remote sessions through TeamViewer: `remote`, `remote list|close`, `teamviewer connect|status`.

Sessions are workflow rows (sessions.SESSIONS); one a crash left pending or closing is settled
by the sweep job (sweep.py); deskhand signs in with a script token or OAuth
(connection.py, tokens.py) and serves the OAuth callback (callback.py).
"""

from __future__ import annotations

from bot.capability import Capability, Route, on_use
from handlers.remote.config import CALLBACK_PATH, TeamViewerConfig

CAPABILITY = Capability(
    name="remote",
    work="handlers.remote.work:WORK",
    config=TeamViewerConfig,
    routes=(Route("GET", CALLBACK_PATH, on_use("handlers.remote.callback:oauth_callback")),),
    demo="handlers.remote.demo:demo_part",
)
