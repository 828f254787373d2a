"""Device actions through Workspace ONE UEM: `device lock|sync|find|message`.

The client is built per tenant from its own configuration (service.py, `integrations set
workspace-one ...`; DESKHAND_WS1_* for the deployment's own tenant); what applies to which platform
comes from `integrations.workspace_one.actions`; the note after an action follows the tenant's
`device_note_after_action` (the devices capability's settings).
"""

from __future__ import annotations

from bot.capability import Capability
from handlers.device_actions import commands
from handlers.device_actions.config import WorkspaceOneConfig
from handlers.device_actions.demo import demo_part
from handlers.device_actions.service import INTEGRATION

CAPABILITY = Capability(
    name="device_actions",
    commands=commands.COMMANDS,
    permissions=tuple(commands.PERMISSIONS.values()),
    config=WorkspaceOneConfig,
    integration=INTEGRATION,
    demo=demo_part,
)
