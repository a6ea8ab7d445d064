"""Listing 10k records page by page: each exactly once, in order, each page at one cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth import READ, WRITE, Principal
from app.domain import records as domain_records
from app.domain.ids import new_id
from app.domain.objects import AttributeSpec
from app.service import Context, Service, utc_now
from app.store import open_store
from app.store.base import Changes, RecordWrite
from app.store.sqlite import SqliteStore
from projections import records as record_projection

pytestmark = pytest.mark.anyio

CTX = Context(Principal("t", "acme", frozenset({READ, WRITE})), "rest", "r")
RECORDS = 10_000
PAGE = 100


async def seeded(tmp_path: Path) -> tuple[SqliteStore, Service, list[str]]:
    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    assert isinstance(store, SqliteStore)
    service = Service(store)
    await service.create_object(CTX, "products", "Product", "Products", True)
    await service.add_attribute(CTX, "products", AttributeSpec("SKU", "text"))
    schema = await store.get_object("acme", "products")
    assert schema is not None
    ids = []
    for start in range(0, RECORDS, 2_500):
        changes = Changes()
        for n in range(start, start + 2_500):
            event = domain_records.decide_create(
                schema, new_id(), {"sku": f"S{n}"}, CTX.metadata(), utc_now()
            )
            state = record_projection.apply(None, event)
            changes.events.append(event)
            changes.records.append(RecordWrite(state, record_projection.lookups(schema, state)))
            ids.append(state.id)
        async with store.transaction() as tx:
            await tx.write(changes)
    return store, service, ids


def vm_steps(store: SqliteStore) -> list[int]:
    """Counts SQLite VM instructions (in hundreds) on the reader connection: a measure of
    work that, unlike time, is the same on every run."""
    counter = [0]

    def tick() -> int:
        counter[0] += 1
        return 0

    store._connection.set_progress_handler(tick, 100)
    return counter


async def test_10k_records_page_by_page(tmp_path: Path) -> None:
    store, service, ids = await seeded(tmp_path)
    await service.delete_record(CTX, "products", ids[5_000])  # a hole mid-way
    expected = ids[:5_000] + ids[5_001:]

    counter = vm_steps(store)
    seen, costs = [], []
    pages = -(-len(expected) // PAGE)
    for page in range(1, pages + 1):
        before = counter[0]
        result = await service.list_records(CTX, "products", PAGE, page)
        costs.append(counter[0] - before)
        assert result.total == len(expected)
        seen += [record.id for record in result.records]
    store._connection.set_progress_handler(None, 0)
    await store.close()

    assert seen == expected  # each exactly once, in creation order
    # Within a bucket the skip grows, then resets, so compare whole stretches of pages: the
    # end must cost what the start costs. (A plain OFFSET makes the last page ~100x the first.)
    start, end = costs[:10], costs[-11:-1]  # the very last page is short
    assert sum(end) <= sum(start) * 1.25, (start, end)
    assert max(costs) <= max(start) * 1.25, costs


async def test_the_cursor_connection_also_walks_10k(tmp_path: Path) -> None:
    store, service, ids = await seeded(tmp_path)
    seen, after = [], 0
    while True:
        page = await service.records_after(CTX, "products", after, PAGE)
        seen += [view.id for _, view in page.edges]
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    await store.close()
    assert seen == ids
