"""Idempotency keys on creates, and optimistic concurrency on every record write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import Api, assert_via

pytestmark = pytest.mark.anyio

CREATE = """mutation($a: JSON!, $key: String) {
  createRecord(objectSlug: "products", attributes: $a, idempotencyKey: $key) {
    success status record { id version attributes createdAt } errors { code } } }"""
UPDATE = """mutation($id: ID!, $a: JSON!, $v: Int) {
  updateRecord(objectSlug: "products", id: $id, attributes: $a, expectedVersion: $v) {
    success status currentVersion record { version } errors { field code } } }"""
DELETE = """mutation($id: ID!, $v: Int) {
  deleteRecord(objectSlug: "products", id: $id, expectedVersion: $v) {
    success status currentVersion errors { code } } }"""


async def create(
    api: Api, transport: str, body: dict[str, Any], key: str | None
) -> tuple[int, dict[str, Any]]:
    if transport == "rest":
        headers = {**api.auth(), **({"Idempotency-Key": key} if key is not None else {})}
        response = await api.client.post("/v2/crm/products", json=body, headers=headers)
        payload = response.json()
        return response.status_code, payload.get("record") or payload
    data = (await api.graphql(CREATE, {"a": body, "key": key}))["data"]["createRecord"]
    return data["status"], data["record"] or data


async def test_the_same_key_replays_the_first_answer(api: Api, transport: str) -> None:
    await api.products()
    status, first = await create(api, transport, {"sku": "A", "price": 1}, "key-1")
    assert status == 201
    before = await api.log_size()
    status, again = await create(api, transport, {"price": 1, "sku": "A"}, "key-1")
    assert status == 201
    assert (again["id"], again["createdAt"]) == (first["id"], first["createdAt"])
    assert await api.log_size() == before
    stream = await api.store.read_stream("acme", f"record-{first['id']}")
    assert stream[0].metadata.idempotency_key == "key-1"


async def test_the_same_key_with_another_body_is_409(api: Api, transport: str) -> None:
    await api.products()
    await create(api, transport, {"sku": "A"}, "key-1")
    before = await api.log_size()
    status, answer = await create(api, transport, {"sku": "B"}, "key-1")
    assert status == 409
    assert answer["errors"][0]["code"] == "idempotency_conflict"
    assert await api.log_size() == before
    status, _ = await create(api, transport, {"sku": "B"}, "key-2")
    assert status == 201


async def test_without_a_key_every_create_creates(api: Api) -> None:
    await api.products()
    first = await create(api, "rest", {"sku": "A"}, None)
    second = await create(api, "rest", {"sku": "A"}, None)
    assert first[1]["id"] != second[1]["id"]


async def test_concurrent_repeats_of_one_key_create_one_record(api: Api, transport: str) -> None:
    await api.products()
    answers = await asyncio.gather(
        *(create(api, transport, {"sku": "A", "price": 2}, "k") for _ in range(20))
    )
    assert {status for status, _ in answers} == {201}
    assert len({answer["id"] for _, answer in answers}) == 1


async def test_a_bad_key_is_400(api: Api) -> None:
    await api.products()
    status, answer = await create(api, "rest", {"sku": "A"}, "x" * 256)
    assert status == 400 and answer["errors"][0]["field"] == "Idempotency-Key"


async def test_if_match_on_rest_writes(api: Api) -> None:
    await api.products()
    created = await api.put("products", "sku", {"sku": "A", "price": 1})
    record_id, etag = created.json()["record"]["id"], created.headers["etag"]
    assert etag == '"1"'
    path = f"/v2/crm/products/{record_id}"
    ok = await api.client.patch(path, json={"price": 2}, headers={**api.auth(), "If-Match": etag})
    assert (ok.status_code, ok.headers["etag"]) == (200, '"2"')
    before = await api.log_size()
    stale = await api.client.patch(
        path, json={"price": 3}, headers={**api.auth(), "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    assert stale.json()["currentVersion"] == 2
    assert stale.json()["errors"][0]["code"] == "version_mismatch"
    gone = await api.client.delete(path, headers={**api.auth(), "If-Match": 'W/"1"'})
    assert gone.status_code == 409
    relation = await api.client.patch(
        f"{path}/relation", json={"attributeSlug": "sku"}, headers={**api.auth(), "If-Match": "1"}
    )
    assert relation.status_code in (400, 409)
    assert await api.log_size() == before
    bad = await api.client.patch(path, json={"price": 3}, headers={**api.auth(), "If-Match": "*"})
    assert bad.status_code == 400
    deleted = await api.client.delete(path, headers={**api.auth(), "If-Match": '"2"'})
    assert deleted.status_code == 200


async def test_if_match_on_an_assert(api: Api) -> None:
    await api.products()
    headers = {**api.auth(), "If-Match": '"0"'}  # 0: only if no record matches yet
    params = {"matchingAttribute": "sku"}
    first = await api.client.put(
        "/v2/crm/products", params=params, json={"sku": "A"}, headers=headers
    )
    assert first.status_code == 201
    again = await api.client.put(
        "/v2/crm/products", params=params, json={"sku": "A"}, headers=headers
    )
    assert again.status_code == 409 and again.json()["currentVersion"] == 1


async def test_expected_version_over_graphql(api: Api) -> None:
    await api.products()
    outcome = await assert_via(api, "graphql", "products", "sku", {"sku": "A", "price": 1})
    assert outcome.record
    record_id = outcome.record["id"]
    ok = (await api.graphql(UPDATE, {"id": record_id, "a": {"price": 2}, "v": 1}))["data"]
    assert ok["updateRecord"]["record"]["version"] == 2
    stale = (await api.graphql(UPDATE, {"id": record_id, "a": {"price": 3}, "v": 1}))["data"]
    assert stale["updateRecord"]["status"] == 409
    assert stale["updateRecord"]["currentVersion"] == 2
    deleted = (await api.graphql(DELETE, {"id": record_id, "v": 1}))["data"]["deleteRecord"]
    assert (deleted["status"], deleted["currentVersion"]) == (409, 2)
