"""Bearer tokens, scopes, and workspaces that never see each other."""

from __future__ import annotations

import pytest

from app.auth import hash_token
from tests.conftest import ASSERT_MUTATION, Api, assert_via

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
async def test_missing_or_bad_token_is_401(api: Api, headers: dict[str, str]) -> None:
    rest = await api.client.put(
        "/v2/crm/products", params={"matchingAttribute": "sku"}, json={"sku": "A"}, headers=headers
    )
    assert rest.status_code == 401
    assert rest.json()["errors"][0]["code"] == "unauthorized"
    graphql = await api.client.post(
        "/graphql", json={"query": ASSERT_MUTATION, "variables": {}}, headers=headers
    )
    assert graphql.status_code == 401
    assert graphql.json()["success"] is False


async def test_read_token_cannot_write(api: Api, transport: str) -> None:
    await api.products()
    before = await api.log_size()
    outcome = await assert_via(api, transport, "products", "sku", {"sku": "A"}, who="reader")
    assert (outcome.status, outcome.codes) == (403, ["forbidden"])
    assert (await api.create_object("deals", who="reader")).status_code == 403
    assert (await api.add_attribute("products", "X", "text", who="reader")).status_code == 403
    assert await api.log_size() == before


async def test_read_token_can_read(api: Api) -> None:
    await api.products()
    created = (await api.put("products", "sku", {"sku": "A"})).json()["record"]
    response = await api.client.get(f"/v2/crm/products/{created['id']}", headers=api.auth("reader"))
    assert response.status_code == 200
    assert (
        await api.client.get("/v2/crm/objects/products", headers=api.auth("reader"))
    ).status_code == 200


async def test_workspaces_never_see_each_other(api: Api, transport: str) -> None:
    await api.products()
    created = await assert_via(api, transport, "products", "sku", {"sku": "A", "price": 1})
    assert created.record
    record_id = created.record["id"]

    # Workspace B sees neither the object nor the record, and can't write into A.
    assert (
        await api.client.get("/v2/crm/objects/products", headers=api.auth("other"))
    ).status_code == 404
    fetched = await api.client.get(f"/v2/crm/products/{record_id}", headers=api.auth("other"))
    assert fetched.status_code == 404
    write = await assert_via(api, transport, "products", "sku", {"sku": "A"}, who="other")
    assert write.status == 404
    found = await api.graphql(
        'query { findRecord(objectSlug: "products", attribute: "sku", value: "A") { id } }',
        who="other",
    )
    assert found == {"data": {"findRecord": None}}

    # B's own products object is a separate one; the same sku there creates a new record.
    await api.products(who="other")
    theirs = await assert_via(
        api, transport, "products", "sku", {"sku": "A", "price": 9}, who="other"
    )
    assert theirs.status == 201 and theirs.record and theirs.record["id"] != record_id
    mine = await api.client.get(f"/v2/crm/products/{record_id}", headers=api.auth())
    assert mine.json()["record"]["attributes"]["price"] == 1


async def test_tokens_are_stored_hashed(api: Api) -> None:
    token = api.tokens["writer"]
    stored = await api.store.find_token(hash_token(token))
    assert stored is not None and stored.token_hash != token and token not in stored.token_hash
