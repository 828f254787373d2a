"""Typed text that would mention or link, echoed back through the real platform paths."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cards.test_escaping import markdown_texts
from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand
from tests.fakes.slack_api import ALEX, slack_env


async def test_a_typed_channel_mention_reaches_slack_escaped(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        for n, text in enumerate(("history instruction <!channel>", "devices <!here>",
                                  "why <!subteam^S0123|ops> device.lock",
                                  "history device <https://evil.example|click me>")):
            await env.command(ALEX, "/deskhand", text, response=f"r{n}")
        await env.idle()
        replies = env.fake.called("response_url")
        assert len(replies) == 4
        for reply in replies:
            sent = json.dumps(reply.args)
            assert "<!" not in sent and "<http" not in sent and "<@" not in sent, sent
        assert any("&lt;!channel&gt;" in json.dumps(r.args) for r in replies)  # shown, harmless



async def test_a_typed_markdown_link_reaches_teams_unlinked(tmp_path: Path,
                                                            fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake) as live:
        text = "history instruction [open me](https://evil.example)"
        status, _ = await fake.send(live.url, fake.activity("message_personal", TEAMS_ALEX, text=text))
        assert status == 201
        [reply] = await fake.wait_for("send", count=1)
        texts = list(markdown_texts(reply.cards[0]))  # fallbackText is plain text, not markdown
        assert any("open me" in t for t in texts) and not any("](" in t for t in texts)
