"""Batch assert: PUT /v2/crm/{objectSlug}/batch and GraphQL assertRecords."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from app.store.base import Store, Transaction
from tests.conftest import Api

pytestmark = pytest.mark.anyio

BATCH_MUTATION = """
mutation($records: [JSON!]!, $allOrNone: Boolean!) {
  assertRecords(objectSlug: "products", matchingAttribute: "sku", records: $records,
                allOrNone: $allOrNone) {
    success status
    results { index status created changed record { id attributes } errors { field code } }
    totals { created updated unchanged failed }
    errors { code }
  }
}
"""


async def batch(
    api: Api, transport: str, records: list[Any], all_or_none: bool = False
) -> tuple[int, dict[str, Any]]:
    """(HTTP or payload status, {results, totals}) in one shape for both transports."""
    if transport == "rest":
        response = await api.client.put(
            "/v2/crm/products/batch",
            params={"matchingAttribute": "sku"},
            json={"records": records, "allOrNone": all_or_none},
            headers=api.auth(),
        )
        body = response.json()
        for item in body.get("results", []):
            item.setdefault("record", None)
            item.setdefault("errors", [])
            item["errors"] = [{"field": e["field"], "code": e["code"]} for e in item["errors"]]
            if item["record"]:
                item["record"] = {k: item["record"][k] for k in ("id", "attributes")}
        return response.status_code, body
    result = await api.graphql(BATCH_MUTATION, {"records": records, "allOrNone": all_or_none})
    payload = result["data"]["assertRecords"]
    return payload["status"], payload


async def test_results_in_input_order_with_totals(api: Api, transport: str) -> None:
    await api.products(unique_sku=True)
    await api.put("products", "sku", {"sku": "OLD", "price": 1})
    await api.put("products", "sku", {"sku": "SAME", "price": 5})
    status, body = await batch(
        api,
        transport,
        [
            {"sku": "NEW", "price": 2},
            {"sku": "OLD", "price": 3},
            {"sku": "SAME", "price": 5},
            {"sku": "BAD", "price": "x"},
            {"price": 9},
            "not an object",
        ],
    )
    assert status == 200
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [(r["status"], r["created"], r["changed"]) for r in results] == [
        (201, True, True),
        (200, False, True),
        (200, False, False),
        (400, False, False),
        (400, False, False),
        (400, False, False),
    ]
    assert results[1]["record"]["attributes"]["price"] == 3
    assert results[3]["errors"] == [{"field": "price", "code": "invalid_value"}]
    assert results[4]["errors"][0]["code"] == "missing_matching_value"
    assert body["totals"] == {"created": 1, "updated": 1, "unchanged": 1, "failed": 3}


async def test_duplicates_in_a_batch_apply_in_order(api: Api, transport: str) -> None:
    await api.products()
    status, body = await batch(
        api,
        transport,
        [{"sku": "A", "price": 1}, {"sku": "A", "inventory_count": 7}, {"sku": "A", "price": 3}],
    )
    results = body["results"]
    assert status == 200
    assert [r["status"] for r in results] == [201, 200, 200]
    assert len({r["record"]["id"] for r in results}) == 1
    assert results[-1]["record"]["attributes"] == {"sku": "A", "price": 3, "inventory_count": 7}
    stream = await api.store.read_stream("acme", f"record-{results[0]['record']['id']}")
    assert [e.version for e in stream] == [1, 2, 3]


async def test_all_or_none_writes_nothing_on_any_error(api: Api, transport: str) -> None:
    await api.products()
    before = await api.log_size()
    status, body = await batch(
        api, transport, [{"sku": "A"}, {"sku": "B", "price": "x"}, {"sku": "C"}], all_or_none=True
    )
    assert status == 400 and body["success"] is False
    assert [r["status"] for r in body["results"]] == [424, 400, 424]
    assert body["totals"]["failed"] == 1
    assert await api.log_size() == before
    status, body = await batch(api, transport, [{"sku": "A"}, {"sku": "C"}], all_or_none=True)
    assert status == 200 and body["totals"]["created"] == 2


async def test_unique_values_inside_a_batch(api: Api, transport: str) -> None:
    await api.create_object("products")
    await api.add_attribute("products", "SKU", "text")
    await api.add_attribute("products", "EAN", "text", isUnique=True)
    await api.put("products", "sku", {"sku": "A", "ean": "1"})
    status, body = await batch(
        api,
        transport,
        [
            {"sku": "B", "ean": "2"},
            {"sku": "C", "ean": "2"},  # taken by B a moment ago
            {"sku": "A", "ean": "3"},  # A lets go of 1 ...
            {"sku": "D", "ean": "1"},  # ... so D may take it
        ],
    )
    assert status == 200
    assert [r["status"] for r in body["results"]] == [201, 400, 200, 201]
    assert body["results"][1]["errors"][0]["code"] == "unique_conflict"
    again = await api.put("products", "sku", {"sku": "E", "ean": "1"})
    assert again.status_code == 400  # D holds it now, in the store too


async def test_too_many_records_is_400(api: Api) -> None:
    await api.products()
    status, body = await batch(api, "rest", [{"sku": str(n)} for n in range(1001)])
    assert status == 400 and body["errors"][0]["code"] == "too_many_records"


async def test_a_rerun_changes_nothing(api: Api, transport: str) -> None:
    await api.products()
    records = [{"sku": f"S{n}", "price": n} for n in range(50)]
    await batch(api, transport, records)
    before = await api.log_size()
    status, body = await batch(api, transport, records)
    assert status == 200
    assert body["totals"] == {"created": 0, "updated": 0, "unchanged": 50, "failed": 0}
    assert await api.log_size() == before


class CountingStore:
    """Counts the store calls of each transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._store.transaction() as tx:
            yield _Counted(tx, self.calls)  # type: ignore[misc]


class _Counted:
    def __init__(self, tx: Transaction, calls: Counter[str]) -> None:
        self._tx, self._calls = tx, calls

    def __getattr__(self, name: str) -> object:
        self._calls[name] += 1
        return getattr(self._tx, name)


async def test_round_trips_do_not_grow_with_the_batch(api: Api) -> None:
    await api.products(unique_sku=True)
    service = api.client._transport.app.state.service  # type: ignore[attr-defined]
    counts = []
    for size in (5, 500):
        service.store = CountingStore(api.store)
        records = [{"sku": f"{size}-{n}", "price": n} for n in range(size)]
        await batch(api, "rest", records + records[: size // 2])  # creates, then updates
        counts.append(dict(service.store.calls))
    assert counts[0] == counts[1], counts
    assert counts[1]["write"] == 1 and counts[1]["find_first"] == 1


async def test_people_in_a_batch_match_by_email(api: Api) -> None:
    response = await api.client.put(
        "/v2/crm/people/batch",
        params={"matchingAttribute": "email"},
        json={
            "records": [
                {"firstName": "Ana", "emails": ["ana@x.io"]},
                {"firstName": "Ana B", "emails": ["ANA@x.io", "b@x.io"]},
                {"emails": ["c@x.io"]},
            ]
        },
        headers=api.auth(),
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 200, 400]
    assert results[1]["person"]["firstName"] == "Ana B"
    assert results[2]["errors"][0]["field"] == "firstName"


async def test_concurrent_overlapping_batches_create_each_record_once(
    api: Api, transport: str
) -> None:
    await api.products()
    records = [{"sku": f"C{n}", "inventory_count": n} for n in range(100)]
    answers = await asyncio.gather(
        *(batch(api, transport, records[start:] + records[:start]) for start in (0, 30, 60, 90))
    )
    created = sum(body["totals"]["created"] for _, body in answers)
    assert created == 100
    ids = {r["record"]["id"] for _, body in answers for r in body["results"]}
    assert len(ids) == 100
