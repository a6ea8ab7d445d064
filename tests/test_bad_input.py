"""Bad input gets a 4xx with the envelope, names what is wrong, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, assert_via

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"sku": "A", "price": "29"}, "invalid_value", "price"),
        ({"sku": "A", "price": True}, "invalid_value", "price"),
        ({"sku": 42}, "invalid_value", "sku"),
        ({"sku": "A" * 256}, "invalid_value", "sku"),
        ({"sku": "A", "colour": "red"}, "unknown_attribute", "colour"),
        ({"sku": "A", "id": "0b8f…"}, "system_attribute", "id"),
        ({"sku": "A", "created_at": "2025-01-01T00:00:00+00:00"}, "system_attribute", "created_at"),
        ({"sku": "A", "updated_at": None}, "system_attribute", "updated_at"),
    ],
)
async def test_bad_values_are_400_and_write_nothing(
    api: Api, transport: str, body: dict[str, Any], code: str, field: str
) -> None:
    await api.products()
    before = await api.log_size()
    outcome = await assert_via(api, transport, "products", "sku", body)
    assert outcome.status == 400
    assert (outcome.codes, outcome.fields) == ([code], [field])
    assert field in outcome.errors[0]["message"]
    assert await api.log_size() == before


async def test_every_bad_attribute_is_reported_at_once(api: Api, transport: str) -> None:
    await api.products()
    outcome = await assert_via(
        api, transport, "products", "sku", {"sku": "A", "price": "x", "colour": 1, "id": "x"}
    )
    assert outcome.status == 400
    assert sorted(outcome.fields) == ["colour", "id", "price"]  # type: ignore[type-var]


async def test_unknown_object_is_404(api: Api, transport: str) -> None:
    before = await api.log_size()
    outcome = await assert_via(api, transport, "nothing", "sku", {"sku": "A"})
    assert (outcome.status, outcome.codes) == (404, ["not_found"])
    assert await api.log_size() == before


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"sku": "A",', "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'["sku", "A"]', "invalid_body"),
        (b'"sku"', "invalid_body"),
        (b"null", "invalid_body"),
        (b"29", "invalid_body"),
    ],
)
async def test_rest_body_must_be_a_json_object(api: Api, raw: bytes, code: str) -> None:
    await api.products()
    before = await api.log_size()
    response = await api.client.put(
        "/v2/crm/products",
        params={"matchingAttribute": "sku"},
        content=raw,
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["success"] is False and payload["status"] == 400
    assert payload["errors"][0]["code"] == code
    assert payload["message"]
    assert await api.log_size() == before


@pytest.mark.parametrize("number", [b"1180591620717411303424", b"NaN", b"-Infinity"])
async def test_json_the_fast_parser_refuses_still_gets_the_validators_answer(
    api: Api, number: bytes
) -> None:
    """Bodies are parsed by orjson, which refuses integers beyond 64 bits and NaN; those
    must still be refused as values of the attribute, not as invalid JSON."""
    await api.products()
    before = await api.log_size()
    response = await api.client.put(
        "/v2/crm/products",
        params={"matchingAttribute": "sku"},
        content=b'{"sku": "A", "price": ' + number + b"}",
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("invalid_value", "price")
    assert await api.log_size() == before


async def test_graphql_attributes_must_be_an_object(api: Api) -> None:
    await api.products()
    outcome = await assert_via(api, "graphql", "products", "sku", ["sku", "A"])
    assert (outcome.status, outcome.codes) == (400, ["invalid_body"])


async def test_body_over_the_limit_is_413(api: Api) -> None:
    await api.products()
    big = b'{"sku": "' + b"A" * (9 * 1024 * 1024) + b'"}'
    response = await api.client.put(
        "/v2/crm/products", params={"matchingAttribute": "sku"}, content=big, headers=api.auth()
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"


async def test_unknown_route_and_method_use_the_envelope(api: Api) -> None:
    missing = await api.client.get("/v2/crm/products/1/2/3", headers=api.auth())
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    wrong = await api.client.delete("/v2/crm/objects", headers=api.auth())
    assert wrong.status_code == 405
    assert wrong.json()["errors"][0]["code"] == "method_not_allowed"


async def test_unknown_record_is_404(api: Api) -> None:
    await api.products()
    response = await api.client.get("/v2/crm/products/not-an-id", headers=api.auth())
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"slug": "ab", "singularName": "x", "pluralName": "xs"}, "invalid_slug", "slug"),
        ({"slug": "Products", "singularName": "x", "pluralName": "xs"}, "invalid_slug", "slug"),
        ({"slug": "objects", "singularName": "x", "pluralName": "xs"}, "reserved_slug", "slug"),
        ({"slug": "deals", "singularName": "", "pluralName": "xs"}, "invalid_name", "singularName"),
        ({"slug": "deals", "pluralName": "xs"}, "invalid_name", "singularName"),
        ({"slug": "deals", "singularName": "d", "pluralName": "ds", "x": 1}, "unknown_field", "x"),
        (
            {"slug": "deals", "singularName": "d", "pluralName": "ds", "isActive": "yes"},
            "invalid_value",
            "isActive",
        ),
    ],
)
async def test_bad_object_definitions(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    before = await api.log_size()
    response = await api.client.post("/v2/crm/objects", json=body, headers=api.auth())
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [(code, field)]
    assert await api.log_size() == before


@pytest.mark.parametrize("slug", ["people", "companies"])
async def test_standard_objects_cant_be_created(api: Api, slug: str) -> None:
    body = {"slug": slug, "singularName": "x", "pluralName": "xs"}
    response = await api.client.post("/v2/crm/objects", json=body, headers=api.auth())
    assert response.status_code == 403


async def test_duplicate_object_is_409(api: Api) -> None:
    assert (await api.create_object("deals")).status_code == 201
    again = await api.create_object("deals")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_exists"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"label": "", "type": "text"}, "invalid_label", "label"),
        ({"label": "Colour", "type": "colour"}, "invalid_type", "type"),
        (
            {"label": "Done", "type": "checkbox", "isUnique": True},
            "unique_not_supported",
            "isUnique",
        ),
        (
            {"label": "Mail", "type": "text", "validation": ["phone"]},
            "invalid_validation",
            "validation",
        ),
        (
            {"label": "Mail", "type": "number", "validation": ["email"]},
            "invalid_validation",
            "validation",
        ),
        ({"label": "Mail", "type": "text", "isRequired": 1}, "invalid_value", "isRequired"),
        ({"label": "Mail", "type": "text", "key": "m"}, "unknown_field", "key"),
    ],
)
async def test_bad_attribute_definitions(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    await api.create_object("deals")
    before = await api.log_size()
    response = await api.client.post(
        "/v2/crm/objects/deals/attributes", json=body, headers=api.auth()
    )
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [(code, field)]
    assert await api.log_size() == before


async def test_attribute_keys_are_derived_from_labels(api: Api) -> None:
    await api.create_object("deals")
    keys = []
    for label in ("Product Name", "product name", "Product-Name!", "ID", "2nd Owner"):
        response = await api.add_attribute("deals", label, "text")
        assert response.status_code == 201
        keys.append(response.json()["attribute"]["key"])
    assert keys == [
        "product_name",
        "product_name_2",
        "product_name_3",
        "id_2",
        "attribute_2nd_owner",
    ]
