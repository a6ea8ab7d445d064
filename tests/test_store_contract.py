"""The store port's contract, run against every adapter present (see conftest `store`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.events import Event, EventMetadata, EventType, new_event
from app.domain.records import RecordState
from app.store.base import Changes, RecordWrite, Store, WriteConflict
from projections.records import Lookup

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
META = EventMetadata(actor_token_id="t", source="rest", request_id="r")


def created(record_id: str, values: dict[str, object], workspace: str = "w") -> Event:
    return new_event(
        workspace=workspace,
        stream=f"record-{record_id}",
        version=1,
        type=EventType.RECORD_CREATED,
        data={"object_slug": "products", "attributes": values},
        metadata=META,
        now=T0,
    )


def state(
    record_id: str, values: dict[str, object], version: int = 1, ws: str = "w"
) -> RecordState:
    return RecordState(
        id=record_id,
        workspace=ws,
        object_slug="products",
        values=values,
        created_at=T0,
        updated_at=T0 + timedelta(seconds=version - 1),
        version=version,
    )


def lookups(values: dict[str, object]) -> list[Lookup]:
    return [(key, str(value)) for key, value in values.items() if value is not None]


async def create(store: Store, record_id: str, values: dict[str, object], **kw: object) -> None:
    claims = {f"unique|w|products|sku|{values['sku']}": record_id} if kw.get("claim") else {}
    async with store.transaction() as tx:
        await tx.write(
            Changes(
                events=[created(record_id, values)],
                records=[RecordWrite(state(record_id, values), lookups(values))],
                claimed_keys=claims,
            )
        )


async def test_a_commit_is_readable_as_stream_record_and_log(store: Store) -> None:
    await create(store, "r1", {"sku": "A"})
    stream = await store.read_stream("w", "record-r1")
    assert [(e.version, e.type) for e in stream] == [(1, EventType.RECORD_CREATED)]
    assert stream[0].position is not None and stream[0].position > 0
    assert (await store.get_records("w", ["r1"]))["r1"] == state("r1", {"sku": "A"})
    assert [e.id for e in await store.read_log(0, 10)] == [stream[0].id]


async def test_a_taken_stream_version_conflicts_and_writes_nothing(store: Store) -> None:
    await create(store, "r1", {"sku": "A"})
    duplicate = created("r1", {"sku": "B"})
    with pytest.raises(WriteConflict):
        async with store.transaction() as tx:
            await tx.write(
                Changes(
                    events=[duplicate],
                    records=[RecordWrite(state("r1", {"sku": "B"}), lookups({"sku": "B"}))],
                    claimed_keys={"unique|w|products|sku|B": "r1"},
                )
            )
    assert len(await store.read_log(0, 10)) == 1
    assert (await store.get_records("w", ["r1"]))["r1"].values == {"sku": "A"}
    assert await store.key_owners(["unique|w|products|sku|B"]) == {}


async def test_a_held_unique_key_conflicts_and_writes_nothing(store: Store) -> None:
    await create(store, "r1", {"sku": "A"}, claim=True)
    with pytest.raises(WriteConflict):
        await create(store, "r2", {"sku": "A"}, claim=True)
    assert await store.get_records("w", ["r2"]) == {}
    assert await store.read_stream("w", "record-r2") == []
    assert await store.key_owners(["unique|w|products|sku|A"]) == {"unique|w|products|sku|A": "r1"}


async def test_released_keys_can_be_claimed_again(store: Store) -> None:
    await create(store, "r1", {"sku": "A"}, claim=True)
    async with store.transaction() as tx:
        await tx.write(Changes(released_keys=["unique|w|products|sku|A"]))
    await create(store, "r2", {"sku": "A"}, claim=True)
    assert await store.key_owners(["unique|w|products|sku|A"]) == {"unique|w|products|sku|A": "r2"}


async def test_find_first_is_set_based_and_returns_the_earliest(store: Store) -> None:
    for record_id, colour in [("r1", "red"), ("r2", "blue"), ("r3", "red"), ("r4", "green")]:
        await create(store, record_id, {"sku": record_id, "colour": colour})
    async with store.transaction() as tx:
        found = await tx.find_first("w", "products", "colour", ["red", "blue", "pink"])
    assert {token: record.id for token, record in found.items()} == {"red": "r1", "blue": "r2"}
    assert (await store.find_first("w", "products", "colour", ["green"]))["green"].id == "r4"
    # Same token on another attribute or workspace does not match.
    assert await store.find_first("w", "products", "sku", ["red"]) == {}
    assert await store.find_first("other", "products", "colour", ["red"]) == {}


async def test_an_updated_record_is_found_by_its_new_values_only(store: Store) -> None:
    await create(store, "r1", {"sku": "A", "colour": "red"})
    update = new_event(
        workspace="w",
        stream="record-r1",
        version=2,
        type=EventType.RECORD_UPDATED,
        data={"changes": {"colour": {"old": "red", "new": "blue"}}},
        metadata=META,
        now=T0,
    )
    new_values = {"sku": "A", "colour": "blue"}
    async with store.transaction() as tx:
        await tx.write(
            Changes(
                events=[update],
                records=[
                    RecordWrite(
                        state("r1", new_values, 2),
                        lookups(new_values),
                        previous=lookups({"sku": "A", "colour": "red"}),
                    )
                ],
            )
        )
    assert await store.find_first("w", "products", "colour", ["red"]) == {}
    record = (await store.find_first("w", "products", "colour", ["blue"]))["blue"]
    assert (record.version, record.created_at) == (2, T0)
    assert [e.version for e in await store.read_stream("w", "record-r1")] == [1, 2]


async def test_read_log_is_ordered_by_position_and_pages(store: Store) -> None:
    for n in range(5):
        await create(store, f"r{n}", {"sku": str(n)})
    everything = await store.read_log(0, 100)
    positions = [e.position for e in everything]
    assert positions == sorted(positions) and len(set(positions)) == 5
    assert [e.position for e in await store.read_log(positions[1], 2)] == positions[2:4]


async def test_records_of_another_workspace_are_invisible(store: Store) -> None:
    await create(store, "r1", {"sku": "A"})
    assert await store.get_records("other", ["r1"]) == {}
    assert await store.read_stream("other", "record-r1") == []


async def test_serialise_is_repeatable(store: Store) -> None:
    for _ in range(2):
        async with store.transaction() as tx:
            await tx.serialise(["assert|w|products|sku|A"])
    assert await store.key_owners(["assert|w|products|sku|A"]) == {}


class Boom(Exception):
    pass


async def test_an_error_before_the_end_of_a_transaction_leaves_nothing(store: Store) -> None:
    if not getattr(store, "_transactions", True):
        pytest.skip("memory:// has no rollback: mongomock has no transactions")
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.write(
                Changes(
                    events=[created("r1", {"sku": "A"})],
                    records=[RecordWrite(state("r1", {"sku": "A"}), lookups({"sku": "A"}))],
                    claimed_keys={"unique|w|products|sku|A": "r1"},
                )
            )
            raise Boom
    assert await store.read_log(0, 10) == []
    assert await store.get_records("w", ["r1"]) == {}
    assert await store.key_owners(["unique|w|products|sku|A"]) == {}
    assert await store.find_first("w", "products", "sku", ["A"]) == {}


async def test_a_page_of_zero_records_only_counts(store: Store) -> None:
    for n in range(3):
        await create(store, f"r{n}", {"sku": str(n)})
    assert await store.page_records("w", "products", 0, 0) == ([], 3)
    records, total = await store.page_records("w", "products", 1, 1)
    assert ([r.id for r in records], total) == (["r1"], 3)
