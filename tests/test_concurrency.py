"""Assert rule 8: concurrent asserts of one value are linearizable."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from app.store.base import Store, Transaction, WriteConflict
from projections import records as record_projection
from tests.conftest import Api, assert_via

pytestmark = pytest.mark.anyio


async def test_100_concurrent_asserts_of_a_new_value(api: Api, transport: str) -> None:
    await api.products()
    outcomes = await asyncio.gather(
        *(
            assert_via(api, transport, "products", "sku", {"sku": "NEW-1", "inventory_count": n})
            for n in range(100)
        )
    )
    assert Counter(o.status for o in outcomes) == {201: 1, 200: 99}
    ids = {o.record["id"] for o in outcomes if o.record}
    assert len(ids) == 1
    (record_id,) = ids

    # Each assert carries a different count, so none is a no-op: no lost update means 100
    # events, versions 1..100, and the record holds the value of the last one.
    stream = await api.store.read_stream("acme", f"record-{record_id}")
    assert [e.version for e in stream] == list(range(1, 101))
    stored = (await api.store.get_records("acme", [record_id]))[record_id]
    assert record_projection.replay(stream) == stored
    assert stored.values["inventory_count"] == stream[-1].data["changes"]["inventory_count"]["new"]


class ConflictingStore:
    """Wraps a store so that the first `conflicts` transactions fail as if raced."""

    def __init__(self, store: Store, conflicts: int) -> None:
        self._store = store
        self.remaining = conflicts

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._store.transaction() as tx:
            original_write = tx.write

            async def write(changes: object) -> None:
                if self.remaining > 0:
                    self.remaining -= 1
                    raise WriteConflict("injected")
                await original_write(changes)  # type: ignore[arg-type]

            tx.write = write  # type: ignore[method-assign]
            yield tx


async def test_a_raced_write_is_rerun_from_its_reads(api: Api, transport: str) -> None:
    await api.products()
    before = await api.log_size()
    service = api.client._transport.app.state.service  # type: ignore[attr-defined]
    service.store = ConflictingStore(service.store, conflicts=3)
    outcome = await assert_via(api, transport, "products", "sku", {"sku": "R-1", "price": 1})
    assert outcome.status == 201
    assert service.store.remaining == 0
    assert await api.log_size() == before + 1  # one RecordCreated, not four


async def test_endless_conflicts_end_in_503_not_a_hang(api: Api) -> None:
    await api.products()
    service = api.client._transport.app.state.service  # type: ignore[attr-defined]
    service.store = ConflictingStore(service.store, conflicts=10_000)
    response = await api.put("products", "sku", {"sku": "R-1"})
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "contention"
