"""bot/events.py: listeners run in order, a failing one is logged and does not stop the others."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.events import listening, publish
from bot.runtime import Runtime


async def test_a_failing_listener_does_not_stop_the_others(
        runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    heard: list[Any] = []

    async def broken(rt: Runtime, payload: Any) -> None:
        raise RuntimeError("boom")

    async def fine(rt: Runtime, payload: Any) -> None:
        heard.append(payload)

    assert not listening(runtime, "test.event")
    runtime.registry.add_listener("test.event", broken)
    runtime.registry.add_listener("test.event", fine)
    assert listening(runtime, "test.event")
    with caplog.at_level(logging.ERROR, logger="deskhand.events"):
        await publish(runtime, "test.event", {"n": 1})
        await publish(runtime, "other.event", {"n": 2})  # nobody listens: nothing happens
    assert heard == [{"n": 1}]
    assert "a listener of test.event failed" in caplog.text and "boom" in caplog.text
