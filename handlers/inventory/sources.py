"""Where devices come from: each vendor as a stream of pages of `Seen` devices, and its groups as
a stream of (group, vendor group id, member ids) pages, regrouped into batches of the configured
size. Nothing here holds more than one batch."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from handlers.device_actions.service import NAME as WS1
from handlers.instructions.vendor import NAME as TACHYON
from handlers.instructions.vendor import tachyon
from handlers.inventory.config import InventoryConfig
from handlers.remote.connection import NAME as TEAMVIEWER
from handlers.remote.connection import teamviewer
from integrations.tachyon.client import TachyonClient
from integrations.teamviewer.client import ManagedDevice, TeamViewerClient
from integrations.workspace_one.client import WorkspaceOneClient
from storage.inventory_records import Seen

if TYPE_CHECKING:
    from bot.runtime import Runtime

MAX_PAGES = 20_000  # a vendor that never says "last page" stops here (10 million devices)
LABELS = {TACHYON: "1E", TEAMVIEWER: "TeamViewer", WS1: "Workspace ONE"}
ORDER = (TACHYON, TEAMVIEWER, WS1)  # every sync takes them in this order (racing syncs queue)
GroupPage = tuple[str, str | None, list[str]]
T = TypeVar("T")


class Source(Protocol):
    name: str

    def devices(self) -> AsyncIterator[list[Seen]]: ...

    def groups(self) -> AsyncIterator[GroupPage]: ...


@dataclass
class TachyonSource:
    client: TachyonClient
    config: InventoryConfig
    cid: str
    name: str = TACHYON

    async def _walk(self, read: Callable[[int, int], Awaitable[tuple[Sequence[T], int | None]]]
                    ) -> AsyncIterator[Sequence[T]]:
        """1E's pages from `Start` 1. With a total, walk to it: 1E may cap PageSize below what
        was asked, and stopping at a short page would leave the rest unseen (and retired days
        later)."""
        size, start = self.config.inventory_page_size, 1
        for _ in range(MAX_PAGES):
            items, total = await read(start, size)
            yield items
            start += len(items)  # what came back, in case 1E capped the page
            if not items or (total is not None and start > total) or (
                    total is None and len(items) < size):
                return

    async def devices(self) -> AsyncIterator[list[Seen]]:
        async def read(start: int, size: int) -> tuple[Sequence[Seen], int | None]:
            page = await self.client.devices(start, size, cid=self.cid)
            return [Seen(d.id, d.name, fqdn=d.fqdn or None, serial=d.serial or None, os=d.os,
                         last_seen=d.last_seen) for d in page.devices], page.total

        async for seen in self._walk(read):
            yield list(seen)

    async def groups(self) -> AsyncIterator[GroupPage]:
        """Each management group's members. The next group is read while this one's are handed
        on: 1E answers one request while deskhand parses another, instead of each waiting for
        the other (the ids of two groups held at most; the sync keeps them all anyway)."""
        attribute, field = (self.config.inventory_1e_group_attribute,
                            self.config.inventory_1e_group_field)

        async def members(value: str) -> list[Sequence[str]]:
            async def read(start: int, size: int) -> tuple[Sequence[str], int | None]:
                page = await self.client.device_ids(start, size, (attribute, value), cid=self.cid)
                return page.ids, page.total

            return [ids async for ids in self._walk(read)]

        listed = await self.client.management_groups(cid=self.cid)
        reads = [members({"Id": g.id, "UsableId": g.usable_id, "Name": g.name}[field])
                 for g in listed]
        ahead: collections.deque[asyncio.Task[list[Sequence[str]]]] = collections.deque()
        try:
            for g in listed:
                while len(ahead) < 2 and reads:
                    ahead.append(asyncio.create_task(reads.pop(0)))
                for ids in await ahead.popleft():
                    yield g.name, g.id, list(ids)
        finally:
            for task in ahead:
                task.cancel()
            await asyncio.gather(*ahead, return_exceptions=True)
            for unread in reads:
                unread.close()  # never started: closed, so no "never awaited" warning


def _tv(d: ManagedDevice) -> Seen:
    return Seen(d.id, d.name, last_seen=d.last_seen)


@dataclass
class TeamViewerSource:
    client: TeamViewerClient
    cid: str
    name: str = TEAMVIEWER

    async def _pages(self, path: str) -> AsyncIterator[list[Seen]]:
        token: str | None = None
        for _ in range(MAX_PAGES):
            rows, token = await self.client.managed_page(self.cid, path, token)
            yield [_tv(d) for d in rows]
            if not token:
                return

    def devices(self) -> AsyncIterator[list[Seen]]:
        return self._pages("managed/devices")

    async def groups(self) -> AsyncIterator[GroupPage]:
        for group_id, name in await self.client.managed_groups(self.cid):
            async for page in self._pages(f"managed/groups/{group_id}/devices"):
                yield name, group_id or None, [d.external_id for d in page]


@dataclass
class WorkspaceOneSource:
    client: WorkspaceOneClient
    config: InventoryConfig
    cid: str
    name: str = WS1

    async def _search(self) -> AsyncIterator[list[tuple[Seen, tuple[str, str | None]]]]:
        for page in range(MAX_PAGES):
            found = await self.client.search(page=page, page_size=self.config.inventory_page_size,
                                             cid=self.cid)
            yield [(Seen(str(d.id or d.uuid), d.name, serial=d.serial or None,
                         os=" ".join(p for p in (d.platform.label if d.platform else
                                                 d.platform_name, d.os_version) if p),
                         owner_email=d.user_email or None, last_seen=d.last_seen),
                    _location_group(d.raw)) for d in found.devices if d.id is not None or d.uuid]
            if not found.more:
                return

    async def devices(self) -> AsyncIterator[list[Seen]]:
        async for page in self._search():
            yield [seen for seen, _ in page]

    async def groups(self) -> AsyncIterator[GroupPage]:
        """Organization groups, a page at a time (Workspace ONE names them on each device)."""
        async for page in self._search():
            by_group: dict[tuple[str, str | None], list[str]] = {}
            for seen, group in page:
                if group[0]:
                    by_group.setdefault(group, []).append(seen.external_id)
            for (name, ref), ids in sorted(by_group.items(), key=lambda g: (g[0][0], g[0][1] or "")):
                yield name, ref, ids


def _location_group(raw: dict[str, Any]) -> tuple[str, str | None]:
    """A device's organization group: its name and id (`LocationGroupId.Id.Value`, the id that
    stays when the group is renamed)."""
    ref = raw.get("LocationGroupId")
    ids = ref.get("Id") if isinstance(ref, dict) else None
    value = ids.get("Value") if isinstance(ids, dict) else ids
    return str(raw.get("LocationGroupName") or ""), str(value)[:64] if value is not None else None


async def batches(pages: AsyncIterator[list[T]], size: int) -> AsyncIterator[list[T]]:
    """A vendor's pages regrouped into batches of `size` or more (the last may be smaller): a
    batch is one transaction, so TeamViewer's pages of 100 do not cost a commit each. The next
    batch is read while the caller writes this one (one ahead, so memory stays bounded): the
    vendor's latency and deskhand's writes overlap instead of adding up."""
    ready: asyncio.Queue[list[T] | BaseException | None] = asyncio.Queue(maxsize=1)

    async def read() -> None:
        batch: list[T] = []
        try:
            async for page in pages:
                batch.extend(page)
                if len(batch) >= size:
                    await ready.put(batch)
                    batch = []
            if batch:
                await ready.put(batch)
            await ready.put(None)
        except Exception as exc:  # handed to the caller, who raises it where the batch was due
            await ready.put(exc)

    reader = asyncio.create_task(read())
    try:
        while (item := await ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def configured(runtime: Runtime, tenant_id: int) -> list[str]:
    """The sources this tenant has set up, in sync order."""
    out = []
    for name in ORDER:
        if name in runtime.tenant_clients.declared and \
                (await runtime.tenant_clients.effective(tenant_id, name)).configured:
            out.append(name)
    return out


async def open_source(runtime: Runtime, tenant_id: int, name: str, config: InventoryConfig,
                      cid: str) -> Source | None:
    """The tenant's client for `name` as a source; None when it turns out not set up."""
    if name == TACHYON:
        client = await tachyon(runtime, tenant_id)
        return TachyonSource(client, config, cid) if client is not None else None
    if name == TEAMVIEWER:
        tv = await teamviewer(runtime, tenant_id)
        return TeamViewerSource(tv.client, cid) if tv.mode != "off" else None
    found = await runtime.tenant_clients.get(tenant_id, WS1)
    ws1 = getattr(found, "client", None)
    return WorkspaceOneSource(ws1, config, cid) if ws1 is not None else None
