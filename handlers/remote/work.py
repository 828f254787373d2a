"""What `remote` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from bot.events import Listener
from bot.people import PERSON_DEACTIVATED
from bot.rekey import Sealed
from bot.sweeps import sweep_job
from handlers.remote import commands
from handlers.remote.connection import INTEGRATION
from handlers.remote.offboard import close_sessions_of
from handlers.remote.sweep import SWEEP
from storage.remote import TeamViewerCredential, TeamViewerOAuthState

WORK = Work(
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("remote.session", "remote.manage", "settings.read", "settings.write"),
    integration=INTEGRATION,
    jobs=(sweep_job("remote.sweep", SWEEP),),
    listeners=(Listener(PERSON_DEACTIVATED, close_sessions_of),),
    sealed=(Sealed(TeamViewerCredential, text=("access_token", "refresh_token")),
            Sealed(TeamViewerOAuthState, text=("verifier",))),
)
