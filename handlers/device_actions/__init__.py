"""Device actions through Workspace ONE UEM: `device <action> <device>` and the device card.

The actions are a table (table.py) run through one path (flow.py); the client is a service
built from DESKHAND_WS1_* (service.py); what applies to which platform comes from
`integrations.workspace_one.actions`; email validation (`for <email>`) is endusers.py; the note
after an action and the email validation settings are the devices capability's settings.
"""

from __future__ import annotations

from bot.capability import Capability, Service
from handlers.device_actions import commands
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.demo import demo_part
from handlers.device_actions.service import WorkspaceOne
from handlers.device_actions.table import PERMISSIONS

CAPABILITY = Capability(
    name="device_actions",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS_SPECS,
    permissions=(*PERMISSIONS, "device.read"),
    config=WorkspaceOneConfig,
    services=(Service(WorkspaceOne, WorkspaceOne, WorkspaceOne.aclose),),
    demo=demo_part,
)
