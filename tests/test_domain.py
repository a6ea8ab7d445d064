"""The pure rules: values per type, key derivation, decisions, and replay."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.errors import ValidationFailed
from app.domain.events import EventMetadata
from app.domain.ids import new_id
from app.domain.objects import Attribute, AttributeType, ObjectSchema, derive_key
from app.domain.records import decide_create, decide_update
from app.domain.values import lookup_token, validate_value
from projections import records as record_projection

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
META = EventMetadata(actor_token_id="t", source="rest", request_id="r")


def attribute(type_: AttributeType, **extra: Any) -> Attribute:
    return Attribute(key="field", label="Field", type=type_, **extra)


TEXT, NUMBER = attribute(AttributeType.TEXT), attribute(AttributeType.NUMBER)
CHECKBOX, DATE = attribute(AttributeType.CHECKBOX), attribute(AttributeType.DATE)
EMAIL = attribute(AttributeType.TEXT, validation=["email"])
URL = attribute(AttributeType.TEXT, validation=["url"])


@pytest.mark.parametrize(
    ("attr", "value", "stored"),
    [
        (TEXT, "a" * 255, "a" * 255),
        (TEXT, "", ""),
        (NUMBER, 29, 29),
        (NUMBER, 29.0, 29),
        (NUMBER, -0.5, -0.5),
        (NUMBER, 2**53 - 1, 2**53 - 1),
        (NUMBER, 1e300, 1e300),
        (CHECKBOX, False, False),
        (DATE, "2024-02-29", "2024-02-29"),
        (EMAIL, "ana@example.com", "ana@example.com"),
        (URL, "https://example.com/x", "https://example.com/x"),
        (TEXT, None, None),
    ],
)
def test_accepted_values(attr: Attribute, value: object, stored: object) -> None:
    assert validate_value(attr, value) == stored


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        (TEXT, "a" * 256),
        (TEXT, 5),
        (NUMBER, True),
        (NUMBER, "29"),
        (NUMBER, float("nan")),
        (NUMBER, float("inf")),
        (NUMBER, 2**53),
        (NUMBER, [1]),
        (CHECKBOX, "true"),
        (CHECKBOX, 1),
        (DATE, "2025-02-30"),
        (DATE, "2025-2-3"),
        (DATE, "2025-06-01T10:00:00"),
        (DATE, 20250601),
        (EMAIL, "not-an-email"),
        (URL, "example.com"),
    ],
)
def test_rejected_values_name_the_attribute(attr: Attribute, value: object) -> None:
    with pytest.raises(ValidationFailed) as failure:
        validate_value(attr, value)
    assert failure.value.errors[0].field == "field"
    assert "field" in failure.value.message


def test_equal_numbers_have_one_lookup_token() -> None:
    assert lookup_token(NUMBER, validate_value(NUMBER, 29.0)) == lookup_token(NUMBER, 29)
    assert lookup_token(NUMBER, 29.5) != lookup_token(NUMBER, 29)


def test_derive_key() -> None:
    assert derive_key("Product Name", set()) == "product_name"
    assert derive_key("Product Name", {"product_name"}) == "product_name_2"
    assert derive_key("Product Name", {"product_name", "product_name_2"}) == "product_name_3"
    assert derive_key("Created At", set()) == "created_at_2"
    assert derive_key("!!!", set()) == "attribute"


def products() -> ObjectSchema:
    return ObjectSchema(
        workspace="w",
        slug="products",
        singular_name="product",
        plural_name="products",
        attributes=[
            Attribute(key="sku", label="SKU", type=AttributeType.TEXT),
            Attribute(key="price", label="Price", type=AttributeType.NUMBER),
        ],
        created_at=T0,
        updated_at=T0,
        version=3,
    )


def test_create_then_update_then_no_op_and_replay() -> None:
    schema = products()
    created = decide_create(schema, "r1", {"sku": "A"}, META, T0)
    assert created.data["attributes"] == {"sku": "A", "price": None}
    state = record_projection.replay([created])
    (updated,) = decide_update(schema, state, {"sku": "A", "price": 3}, META, T0)
    assert updated.version == 2
    assert updated.data["changes"] == {"price": {"old": None, "new": 3}}
    after = record_projection.replay([created, updated])
    assert after.values == {"sku": "A", "price": 3}
    assert decide_update(schema, after, {"price": 3, "sku": "A"}, META, T0) == []


def test_new_ids_are_uuid7_and_sort_by_time() -> None:
    ids = [new_id() for _ in range(2000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(ids)) == len(ids)
    stamps = [u.int >> 80 for u in parsed]
    assert stamps == sorted(stamps)  # millisecond prefix never goes back


def test_new_ids_differ_between_a_forked_child_and_its_parent() -> None:
    """Random bytes are buffered per process: a child must not reuse its parent's buffer."""
    new_id()  # the parent now holds buffered random bytes
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, ",".join(new_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        from_child = set(pipe.read().split(","))
    from_parent = {new_id() for _ in range(50)}
    assert len(from_child) == 50
    assert not {i[19:] for i in from_child} & {i[19:] for i in from_parent}


def test_a_changed_schema_is_indexed_anew() -> None:
    """ObjectSchema caches its attribute index; model_copy (how projections change it) must
    not carry the old index along."""
    sku = Attribute(key="sku", label="SKU", type=AttributeType.TEXT, is_unique=True)
    price = Attribute(key="price", label="Price", type=AttributeType.NUMBER)
    schema = ObjectSchema(
        workspace="w",
        slug="products",
        singular_name="Product",
        plural_name="Products",
        attributes=[sku, price],
        created_at=T0,
        updated_at=T0,
        version=1,
    )
    assert [a.key for a in schema.active_attributes()] == ["sku", "price"]
    archived = schema.model_copy(
        update={"attributes": [sku.model_copy(update={"is_archived": True}), price]}
    )
    assert [a.key for a in archived.active_attributes()] == ["price"]
    assert archived.attribute("sku") is None
    assert archived.attribute("sku", include_archived=True) is not None
    assert [a.key for a in archived.unique_attributes()] == ["sku"]  # archived keys stay held
    assert [a.key for a in schema.active_attributes()] == ["sku", "price"]  # original intact
