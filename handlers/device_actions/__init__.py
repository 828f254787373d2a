"""Device actions through Workspace ONE UEM: `device <action> <device>`, the device card, and
`device wipe|enterprise-wipe` (typed confirmation, an approver's approval, sent once: wipes.py).

The actions are a table (table.py) run through one path (flow.py); the client is built per
tenant from its own configuration (service.py, `integrations set workspace-one ...`;
DESKHAND_WS1_* for the deployment's own tenant); what applies to which platform comes from
`integrations.workspace_one.actions`; email validation (`for <email|incident>`) is endusers.py;
the note after an action and the email validation settings are the devices capability's settings.
"""

from __future__ import annotations

from bot.capability import Capability
from bot.sweeps import sweep_job
from handlers.device_actions import commands
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.service import INTEGRATION
from handlers.device_actions.table import PERMISSIONS
from handlers.device_actions.wipe_approval import SUBJECT_LIST as WIPE_SUBJECTS
from handlers.device_actions.wipe_commands import ACTIONS as WIPE_ACTIONS
from handlers.device_actions.wipe_commands import COMMANDS as WIPE_COMMANDS
from handlers.device_actions.wipe_commands import PERMISSIONS as WIPE_PERMISSIONS
from handlers.device_actions.wipe_send import SWEEP as WIPE_SWEEP

CAPABILITY = Capability(
    name="device_actions",
    commands=commands.COMMANDS + WIPE_COMMANDS,
    actions=commands.ACTIONS_SPECS + WIPE_ACTIONS,
    permissions=(*PERMISSIONS, "device.read", *WIPE_PERMISSIONS),
    subjects=WIPE_SUBJECTS,
    jobs=(sweep_job("device_actions.wipe-sweep", WIPE_SWEEP),),
    config=WorkspaceOneConfig,
    integration=INTEGRATION,
    demo="handlers.device_actions.demo:demo_part",
)
