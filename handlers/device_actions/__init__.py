"""Device actions through Workspace ONE UEM: `device lock|sync|find|message`, and
`device wipe|enterprise-wipe` (typed confirmation, an approver's approval, sent once: wipes.py).

The client is a service built from DESKHAND_WS1_* (service.py); what applies to which platform
comes from `integrations.workspace_one.actions`; the note after an action follows the tenant's
`device_note_after_action` (the devices capability's settings).
"""

from __future__ import annotations

from bot.capability import Capability, Service
from bot.sweeps import sweep_job
from handlers.device_actions import commands
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.demo import demo_part
from handlers.device_actions.service import WorkspaceOne
from handlers.device_actions.wipe_approval import SUBJECT_LIST as WIPE_SUBJECTS
from handlers.device_actions.wipe_commands import ACTIONS as WIPE_ACTIONS
from handlers.device_actions.wipe_commands import COMMANDS as WIPE_COMMANDS
from handlers.device_actions.wipe_commands import PERMISSIONS as WIPE_PERMISSIONS
from handlers.device_actions.wipe_send import SWEEP as WIPE_SWEEP

CAPABILITY = Capability(
    name="device_actions",
    commands=commands.COMMANDS + WIPE_COMMANDS,
    actions=WIPE_ACTIONS,
    permissions=tuple(commands.PERMISSIONS.values()) + WIPE_PERMISSIONS,
    subjects=WIPE_SUBJECTS,
    jobs=(sweep_job("device_actions.wipe-sweep", WIPE_SWEEP),),
    config=WorkspaceOneConfig,
    services=(Service(WorkspaceOne, WorkspaceOne, WorkspaceOne.aclose),),
    demo=demo_part,
)
