"""Remote sessions through TeamViewer: `remote`, `remote list|close`, `teamviewer connect|status`.

Sessions are workflow rows (sessions.SESSIONS); one a crash left pending or closing is settled
by the sweep job (sweep.py); deskhand signs in with a script token or OAuth
(connection.py, tokens.py) and serves the OAuth callback (callback.py).
"""

from __future__ import annotations

from bot.capability import Capability, Route
from bot.events import Listener
from bot.people import PERSON_DEACTIVATED
from bot.rekey import Sealed
from bot.sweeps import sweep_job
from handlers.remote import commands
from handlers.remote.callback import oauth_callback
from handlers.remote.config import TeamViewerConfig
from handlers.remote.connection import CALLBACK_PATH, INTEGRATION
from handlers.remote.offboard import close_sessions_of
from handlers.remote.sweep import SWEEP
from storage.remote import TeamViewerCredential, TeamViewerOAuthState

CAPABILITY = Capability(
    name="remote",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("remote.session", "remote.manage", "settings.read", "settings.write"),
    config=TeamViewerConfig,
    integration=INTEGRATION,
    routes=(Route("GET", CALLBACK_PATH, oauth_callback),),
    jobs=(sweep_job("remote.sweep", SWEEP),),
    demo="handlers.remote.demo:demo_part",
    listeners=(Listener(PERSON_DEACTIVATED, close_sessions_of),),
    sealed=(Sealed(TeamViewerCredential, text=("access_token", "refresh_token")),
            Sealed(TeamViewerOAuthState, text=("verifier",))),
)
