"""1E's groups are read two at a time (handlers/inventory/sources.TachyonSource.groups): the
members still come in 1E's group order, and a group that cannot be read fails the walk with
nothing left running."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from handlers.inventory.config import InventoryConfig
from handlers.inventory.sources import TachyonSource
from integrations.tachyon.inventory import IdPage, ManagementGroupInfo


class FakeOne:
    def __init__(self, groups: int, members: int, broken: str = "") -> None:
        self.groups = [ManagementGroupInfo(str(g), f"G{g}", str(g), None) for g in range(groups)]
        self.members, self.broken, self.open = members, broken, 0

    async def management_groups(self, *, cid: str | None = None) -> list[ManagementGroupInfo]:
        return self.groups

    async def device_ids(self, start: int, size: int, group: tuple[str, str], *,
                         cid: str | None = None) -> IdPage:
        self.open += 1
        try:
            await asyncio.sleep(0.01 * (int(group[1]) % 3))  # answers out of order
            if group[1] == self.broken:
                raise RuntimeError("1E refused")
            ids = [f"{group[1]}-{i}" for i in range(start, min(start + size, self.members + 1))]
            return IdPage(tuple(ids), self.members)
        finally:
            self.open -= 1


def source(one: Any) -> TachyonSource:
    config = InventoryConfig.model_validate({"inventory_page_size": 10,
                                             "inventory_1e_group_field": "Id"})
    return TachyonSource(one, config, "cid")


async def test_groups_come_in_order_whole() -> None:
    pages = [page async for page in source(FakeOne(5, 25)).groups()]
    assert [(name, ref) for name, ref, _ in pages] == [(f"G{g}", str(g)) for g in range(5)
                                                       for _ in range(3)]
    assert [i for _, _, ids in pages for i in ids] == [f"{g}-{i}" for g in range(5)
                                                       for i in range(1, 26)]


async def test_a_group_that_fails_stops_the_walk_and_leaves_nothing_running() -> None:
    one = FakeOne(5, 10, broken="2")
    with pytest.raises(RuntimeError, match="refused"):
        async for _ in source(one).groups():
            pass
    await asyncio.sleep(0.05)
    assert one.open == 0
