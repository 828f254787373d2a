"""What `device_actions` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Work
from bot.sweeps import sweep_job
from handlers.device_actions import commands
from handlers.device_actions.service import INTEGRATION
from handlers.device_actions.table import PERMISSIONS
from handlers.device_actions.wipe_approval import SUBJECT_LIST as WIPE_SUBJECTS
from handlers.device_actions.wipe_commands import ACTIONS as WIPE_ACTIONS
from handlers.device_actions.wipe_commands import COMMANDS as WIPE_COMMANDS
from handlers.device_actions.wipe_commands import PERMISSIONS as WIPE_PERMISSIONS
from handlers.device_actions.wipe_send import SWEEP as WIPE_SWEEP

WORK = Work(
    commands=commands.COMMANDS + WIPE_COMMANDS,
    actions=commands.ACTIONS_SPECS + WIPE_ACTIONS,
    permissions=(*PERMISSIONS, "device.read", *WIPE_PERMISSIONS),
    subjects=WIPE_SUBJECTS,
    jobs=(sweep_job("device_actions.wipe-sweep", WIPE_SWEEP),),
    integration=INTEGRATION,
)
