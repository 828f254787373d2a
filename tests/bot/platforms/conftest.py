"""The fake Bot Framework most Teams tests share: started, Alex Admin known, stopped after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.bot_connector import ALEX, FakeBotFramework


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    fake.add_user(ALEX)
    yield fake
    fake.stop()
