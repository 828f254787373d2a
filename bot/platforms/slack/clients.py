"""The Slack Web API client for each workspace: the deployment's bot token, or the token of a
workspace's own installation (`deskhand tenant map ... --bot-token-file`, docs/tenants.md).

One DESKHAND_SLACK_BOT_TOKEN serves one workspace, or every workspace of an Enterprise Grid org
when the app is installed org-wide. A deployment serving separate workspaces installs the same
app in each and gives each mapping its installation's token. Which token a call uses follows
the target: the workspace a request came from (`team`/`org` in a target's or a message's
extra), else the tenant a channel from its settings belongs to (`tenant`), else the default.
The mapping is read at each call (one indexed query), so a token replaced by the CLI is used
by every process from its next post.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.tenancy import sealed_slack_token

if TYPE_CHECKING:
    from bot.runtime import Runtime

KEYS = ("team", "org", "tenant")  # what a target's extra names its workspace by


def workspace_of(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The workspace keys of a target's or message's extra, to carry over to what is posted."""
    return {k: extra[k] for k in KEYS if extra.get(k) not in (None, "")}


class SlackClients:
    def __init__(self, runtime: Runtime, default: AsyncWebClient) -> None:
        self.rt = runtime
        self.default = default
        self._own: dict[str, AsyncWebClient] = {}  # by the token's hash: no token kept as a key

    async def of(self, extra: Mapping[str, Any]) -> AsyncWebClient:
        """The client for a target's or a message's workspace."""
        where = workspace_of(extra)
        sealed = await sealed_slack_token(self.rt.db, where) if where else None
        if sealed is None:
            return self.default
        token = self.rt.secrets.open(sealed)
        key = hashlib.sha256(token.encode()).hexdigest()
        client = self._own.get(key)
        if client is None:
            client = AsyncWebClient(token=token, base_url=self.default.base_url,
                                    session=self.default.session,
                                    retry_handlers=self.default.retry_handlers)
            self._own[key] = client
        return client
