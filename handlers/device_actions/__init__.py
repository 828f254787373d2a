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
from handlers.device_actions.config import WorkspaceOneConfig

CAPABILITY = Capability(
    name="device_actions",
    work="handlers.device_actions.work:WORK",
    config=WorkspaceOneConfig,
    demo="handlers.device_actions.demo:demo_part",
)
