"""SPEC section 3, rule by rule, through REST and through GraphQL (same service code)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import Api, assert_via

pytestmark = pytest.mark.anyio


async def test_zeeg_reference_example_creates_then_updates(api: Api, transport: str) -> None:
    await api.products()
    first = await assert_via(
        api, transport, "products", "sku", {"sku": "DRESS-001", "price": 29, "inventory_count": 150}
    )
    assert first.status == 201
    assert first.record is not None
    assert first.record["attributes"] == {"sku": "DRESS-001", "price": 29, "inventory_count": 150}

    second = await assert_via(
        api, transport, "products", "sku", {"sku": "DRESS-001", "price": 35, "inventory_count": 80}
    )
    assert second.status == 200
    assert second.record is not None
    assert second.record["id"] == first.record["id"]
    assert second.record["createdAt"] == first.record["createdAt"]
    assert second.record["attributes"] == {"sku": "DRESS-001", "price": 35, "inventory_count": 80}


async def test_rest_envelope_is_exactly_zeeg(api: Api) -> None:
    await api.products()
    response = await api.put("products", "sku", {"sku": "DRESS-001", "price": 29})
    payload = response.json()
    record = payload["record"]
    assert payload == {
        "success": True,
        "status": 201,
        "record": {
            "id": record["id"],
            "objectSlug": "products",
            "attributes": {"sku": "DRESS-001", "price": 29, "inventory_count": None},
            "createdAt": record["createdAt"],
            "updatedAt": record["createdAt"],
        },
    }
    assert record["createdAt"].endswith("+00:00")
    # Exactly what isoformat() writes (REST leaves timestamps to the JSON encoder).
    assert datetime.fromisoformat(record["createdAt"]).isoformat() == record["createdAt"]
    fetched = await api.client.get(f"/v2/crm/products/{record['id']}", headers=api.auth())
    assert fetched.status_code == 200
    assert fetched.json() == {"success": True, "status": 200, "record": record}


@pytest.mark.parametrize(
    ("match", "code"),
    [
        (None, "missing_matching_attribute"),
        ("", "missing_matching_attribute"),
        ("colour", "unknown_matching_attribute"),
        ("id", "invalid_matching_attribute"),
        ("created_at", "invalid_matching_attribute"),
    ],
)
async def test_rule_1_matching_attribute_must_be_an_attribute(
    api: Api, transport: str, match: str | None, code: str
) -> None:
    await api.products()
    if transport == "graphql" and match is None:
        pytest.skip("matchingAttribute is a required argument in the GraphQL schema")
    before = await api.log_size()
    outcome = await assert_via(api, transport, "products", match, {"sku": "A-1"})
    assert (outcome.status, outcome.codes, outcome.fields) == (400, [code], ["matchingAttribute"])
    assert await api.log_size() == before


@pytest.mark.parametrize("body", [{"sku": None}, {"sku": ""}, {"price": 3}])
async def test_rule_2_the_matching_value_must_be_given(
    api: Api, transport: str, body: dict[str, object]
) -> None:
    await api.products()
    before = await api.log_size()
    outcome = await assert_via(api, transport, "products", "sku", body)
    assert (outcome.status, outcome.codes, outcome.fields) == (
        400,
        ["missing_matching_value"],
        ["sku"],
    )
    assert await api.log_size() == before


async def test_rule_3_lookup_is_exact_equality(api: Api, transport: str) -> None:
    await api.products()
    upper = await assert_via(api, transport, "products", "sku", {"sku": "DRESS-001"})
    lower = await assert_via(api, transport, "products", "sku", {"sku": "dress-001"})
    padded = await assert_via(api, transport, "products", "sku", {"sku": "DRESS-001 "})
    assert [upper.status, lower.status, padded.status] == [201, 201, 201]
    assert len({o.record["id"] for o in (upper, lower, padded) if o.record}) == 3


async def test_rule_3_numbers_29_and_29_0_are_equal(api: Api, transport: str) -> None:
    await api.products()
    created = await assert_via(api, transport, "products", "price", {"price": 29, "sku": "A"})
    again = await assert_via(api, transport, "products", "price", {"price": 29.0})
    assert (created.status, again.status) == (201, 200)
    assert created.record and again.record and again.record["id"] == created.record["id"]


async def test_rule_4_the_earliest_created_record_wins(api: Api, transport: str) -> None:
    await api.products()
    ids = []
    for n in range(5):  # all within the same second, sharing one price
        outcome = await assert_via(api, transport, "products", "sku", {"sku": f"S-{n}", "price": 7})
        assert outcome.record
        ids.append(outcome.record["id"])
    for _ in range(3):
        matched = await assert_via(
            api, transport, "products", "price", {"price": 7, "inventory_count": 1}
        )
        assert matched.status == 200
        assert matched.record and matched.record["id"] == ids[0]


async def test_rule_5_create_nulls_missing_update_keeps_them(api: Api, transport: str) -> None:
    await api.products()
    created = await assert_via(api, transport, "products", "sku", {"sku": "A", "price": 10})
    assert created.record
    assert created.record["attributes"] == {"sku": "A", "price": 10, "inventory_count": None}
    updated = await assert_via(
        api, transport, "products", "sku", {"sku": "A", "inventory_count": 3}
    )
    assert updated.record
    assert updated.record["attributes"] == {"sku": "A", "price": 10, "inventory_count": 3}
    cleared = await assert_via(api, transport, "products", "sku", {"sku": "A", "price": None})
    assert cleared.record
    assert cleared.record["attributes"] == {"sku": "A", "price": None, "inventory_count": 3}


async def test_rule_6_unique_conflict_is_400_and_writes_nothing(api: Api, transport: str) -> None:
    await api.create_object("products")
    await api.add_attribute("products", "SKU", "text", isUnique=True)
    await api.add_attribute("products", "EAN", "text", isUnique=True)
    await assert_via(api, transport, "products", "sku", {"sku": "A", "ean": "111"})
    b = await assert_via(api, transport, "products", "sku", {"sku": "B", "ean": "222"})
    before = await api.log_size()

    stolen = await assert_via(api, transport, "products", "sku", {"sku": "B", "ean": "111"})
    assert (stolen.status, stolen.codes, stolen.fields) == (400, ["unique_conflict"], ["ean"])
    fresh = await assert_via(api, transport, "products", "sku", {"sku": "C", "ean": "111"})
    assert (fresh.status, fresh.codes) == (400, ["unique_conflict"])
    assert await api.log_size() == before

    own = await assert_via(api, transport, "products", "sku", {"sku": "B", "ean": "222"})
    assert own.status == 200
    moved = await assert_via(api, transport, "products", "sku", {"sku": "B", "ean": "333"})
    assert moved.status == 200
    # B let go of 222, so another record may take it now.
    taken = await assert_via(api, transport, "products", "sku", {"sku": "C", "ean": "222"})
    assert taken.status == 201
    assert b.record and moved.record and moved.record["id"] == b.record["id"]


async def test_rule_6_two_records_may_both_hold_null(api: Api, transport: str) -> None:
    await api.create_object("products")
    await api.add_attribute("products", "SKU", "text", isUnique=True)
    await api.add_attribute("products", "EAN", "text", isUnique=True)
    one = await assert_via(api, transport, "products", "sku", {"sku": "A", "ean": None})
    two = await assert_via(api, transport, "products", "sku", {"sku": "B"})
    assert (one.status, two.status) == (201, 201)


async def test_rule_7_a_no_op_update_appends_nothing(api: Api, transport: str) -> None:
    await api.products()
    body = {"sku": "A", "price": 10, "inventory_count": 5}
    created = await assert_via(api, transport, "products", "sku", body)
    before = await api.log_size()
    again = await assert_via(api, transport, "products", "sku", {**body, "price": 10.0})
    assert again.status == 200
    assert again.record == created.record  # same updatedAt too
    assert await api.log_size() == before


async def test_required_attribute_is_enforced(api: Api, transport: str) -> None:
    await api.create_object("deals")
    await api.add_attribute("deals", "Code", "text")
    await api.add_attribute("deals", "Amount", "number", isRequired=True)
    missing = await assert_via(api, transport, "deals", "code", {"code": "D1"})
    assert (missing.status, missing.codes, missing.fields) == (400, ["required"], ["amount"])
    created = await assert_via(api, transport, "deals", "code", {"code": "D1", "amount": 5})
    assert created.status == 201
    untouched = await assert_via(api, transport, "deals", "code", {"code": "D1"})
    assert untouched.status == 200
    nulled = await assert_via(api, transport, "deals", "code", {"code": "D1", "amount": None})
    assert (nulled.status, nulled.codes) == (400, ["required"])


async def test_rest_and_graphql_agree(api: Api) -> None:
    await api.products()
    rest = await assert_via(api, "rest", "products", "sku", {"sku": "X", "price": 1})
    graphql = await assert_via(api, "graphql", "products", "sku", {"sku": "X", "price": 1})
    assert (rest.status, graphql.status) == (201, 200)
    assert rest.record == graphql.record
    bad_rest = await assert_via(api, "rest", "products", "sku", {"sku": "X", "price": "1"})
    bad_graphql = await assert_via(api, "graphql", "products", "sku", {"sku": "X", "price": "1"})
    assert bad_rest.status == bad_graphql.status == 400
    assert bad_rest.errors == bad_graphql.errors
