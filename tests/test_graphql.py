"""GraphQL surface: schema writes and reads, error handling, GraphiQL, the committed SDL."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema import build_schema
from tests.conftest import Api

pytestmark = pytest.mark.anyio

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n", (
        "schema.graphql drifted from the code: run `make schema` and commit it"
    )


async def test_create_object_add_attribute_and_read_them(api: Api) -> None:
    created = await api.graphql(
        """mutation { createObject(slug: "deals", singularName: "Deal", pluralName: "Deals") {
             success status object { slug singularName pluralName isActive } errors { code } } }"""
    )
    assert created["data"]["createObject"] == {
        "success": True,
        "status": 201,
        "object": {
            "slug": "deals",
            "singularName": "Deal",
            "pluralName": "Deals",
            "isActive": True,
        },
        "errors": [],
    }
    added = await api.graphql(
        """mutation { addAttribute(objectSlug: "deals", label: "Deal Code", type: "text",
             isUnique: true) { success status attribute { key type isUnique } } }"""
    )
    assert added["data"]["addAttribute"] == {
        "success": True,
        "status": 201,
        "attribute": {"key": "deal_code", "type": "text", "isUnique": True},
    }
    read = await api.graphql('query { object(slug: "deals") { slug attributes { key label } } }')
    assert read["data"]["object"] == {
        "slug": "deals",
        "attributes": [{"key": "deal_code", "label": "Deal Code"}],
    }
    missing = await api.graphql('query { object(slug: "nope") { slug } }')
    assert missing == {"data": {"object": None}}


async def test_duplicate_object_is_data_not_an_error(api: Api) -> None:
    await api.create_object("deals")
    again = await api.graphql(
        """mutation { createObject(slug: "deals", singularName: "D", pluralName: "Ds") {
             success status object { slug } errors { field code message } } }"""
    )
    payload = again["data"]["createObject"]
    assert (payload["success"], payload["status"], payload["object"]) == (False, 409, None)
    assert payload["errors"][0]["code"] == "already_exists"


async def test_record_and_find_record(api: Api) -> None:
    await api.products()
    created = (await api.put("products", "sku", {"sku": "A", "price": 29})).json()["record"]
    await api.put("products", "sku", {"sku": "B", "price": 29})
    by_id = await api.graphql(
        'query($id: ID!) { record(objectSlug: "products", id: $id) { id attributes version } }',
        {"id": created["id"]},
    )
    assert by_id["data"]["record"] == {
        "id": created["id"],
        "attributes": {"sku": "A", "price": 29, "inventory_count": None},
        "version": 1,
    }
    found = await api.graphql(
        'query { findRecord(objectSlug: "products", attribute: "price", value: 29.0) { id } }'
    )
    assert found["data"]["findRecord"] == {"id": created["id"]}  # the earliest of the two
    none = await api.graphql(
        'query { findRecord(objectSlug: "products", attribute: "sku", value: "Z") { id } }'
    )
    assert none == {"data": {"findRecord": None}}


async def test_query_client_mistakes_are_errors_with_codes(api: Api) -> None:
    await api.products()
    result = await api.graphql(
        'query { findRecord(objectSlug: "products", attribute: "price", value: "29") { id } }'
    )
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "validation_failed"
    assert error["extensions"]["status"] == 400
    assert "price" in error["message"]


async def test_syntax_and_validation_errors_are_shown_not_masked(api: Api) -> None:
    result = await api.client.post("/graphql", json={"query": "query { nope }"}, headers=api.auth())
    assert "nope" in result.json()["errors"][0]["message"]


async def test_deep_queries_are_refused(api: Api) -> None:
    deep = 'query { object(slug: "x") { ' + "attributes { " * 12 + "key" + " }" * 13 + " }"
    result = await api.client.post("/graphql", json={"query": deep}, headers=api.auth())
    assert result.json()["errors"]


async def test_graphiql_is_served_to_a_browser(api: Api) -> None:
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_unexpected_failures_are_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    service = api.client._transport.app.state.service  # type: ignore[attr-defined]

    async def broken(*args: object) -> None:
        raise RuntimeError("connection to db7.internal refused")

    monkeypatch.setattr(service, "get_object", broken)
    result = await api.graphql('query { object(slug: "x") { slug } }')
    assert result["errors"][0]["message"] == "Unexpected error."
    assert "db7" not in str(result)
    rest = await api.client.get("/v2/crm/objects/x", headers=api.auth())
    assert rest.status_code == 500
    assert rest.json()["message"] == "Internal server error."
    assert "db7" not in rest.text and "Traceback" not in rest.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "{ objects { slug } }", "variables": [1]}, "variables"),
        ({"query": "{ objects { slug } }", "operationName": 3}, "operationName"),
    ],
)
async def test_malformed_graphql_requests_are_400(
    api: Api, body: dict[str, object], field: str
) -> None:
    response = await api.client.post("/graphql", json=body, headers=api.auth())
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_named_operations_are_chosen_by_operation_name(api: Api) -> None:
    document = 'query A { objects { slug } } query B { object(slug: "people") { slug } }'
    response = await api.client.post(
        "/graphql", json={"query": document, "operationName": "B"}, headers=api.auth()
    )
    assert response.json() == {"data": {"object": {"slug": "people"}}}
