"""Fixtures: a store per adapter present, the app on it, and an in-process HTTP client."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import READ, WRITE
from app.server import create_app
from app.service import Service
from app.settings import Settings
from app.store import open_store
from app.store.base import Store

MONGODB_URI = os.environ.get("MONGODB_URI")
NO_MONGODB = "MONGODB_URI is not set: no MongoDB server (replica set) to test against"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per skip reason, so a skipped MongoDB run is visible without 100 lines."""
    reasons = Counter(
        str(report.longrepr[2]).removeprefix("Skipped: ")
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple)
    )
    for reason, count in reasons.items():
        terminalreporter.write_line(f"SKIPPED {count} tests: {reason}", yellow=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def open_test_store(kind: str, folder: Path) -> Store:
    if kind == "sqlite":
        return await open_store(f"sqlite:///{folder}/crm.db")
    if kind == "memory":
        return await open_store("memory://")
    if kind == "mongodb":
        if not MONGODB_URI:
            pytest.skip(NO_MONGODB)
        # A database of its own per test, dropped afterwards.
        base = MONGODB_URI.split("?")[0].rstrip("/")
        query = MONGODB_URI[len(MONGODB_URI.split("?")[0]) :]
        return await open_store(f"{base}/crm_test_{uuid.uuid4().hex[:12]}{query}")
    raise ValueError(kind)


async def drop_test_store(store: Store) -> None:
    database = getattr(store, "_db", None)
    client = getattr(store, "_client", None)
    if database is not None and client is not None and getattr(store, "_transactions", False):
        await client.drop_database(database.name)
    await store.close()


@pytest.fixture(params=["sqlite", "memory", "mongodb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(request.param, tmp_path)
    try:
        yield opened
    finally:
        await drop_test_store(opened)


class Api:
    """A Zeeg client and a GraphQL client in one, over in-process HTTP."""

    def __init__(self, client: httpx.AsyncClient, store: Store, tokens: dict[str, str]) -> None:
        self.client = client
        self.store = store
        self.tokens = tokens

    def auth(self, who: str = "writer") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def create_object(self, slug: str = "products", who: str = "writer") -> httpx.Response:
        body = {"slug": slug, "singularName": slug[:-1], "pluralName": slug, "isActive": True}
        return await self.client.post("/v2/crm/objects", json=body, headers=self.auth(who))

    async def add_attribute(
        self, slug: str, label: str, type_: str, who: str = "writer", **extra: Any
    ) -> httpx.Response:
        body = {"label": label, "type": type_, **extra}
        return await self.client.post(
            f"/v2/crm/objects/{slug}/attributes", json=body, headers=self.auth(who)
        )

    async def products(self, who: str = "writer", unique_sku: bool = False) -> None:
        """The Zeeg reference object: products with sku, price, inventory_count."""
        assert (await self.create_object("products", who)).status_code == 201
        for label, type_, extra in (
            ("SKU", "text", {"isUnique": unique_sku}),
            ("Price", "number", {}),
            ("Inventory Count", "number", {}),
        ):
            assert (
                await self.add_attribute("products", label, type_, who, **extra)
            ).status_code == 201

    async def put(
        self, slug: str, match: str | None, body: Any, who: str = "writer"
    ) -> httpx.Response:
        params = {} if match is None else {"matchingAttribute": match}
        return await self.client.put(
            f"/v2/crm/{slug}", params=params, json=body, headers=self.auth(who)
        )

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, who: str = "writer"
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.auth(who)
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def log_size(self) -> int:
        return len(await self.store.read_log(0, 1_000_000))


@pytest.fixture
async def api(store: Store) -> AsyncIterator[Api]:
    app = create_app(Settings(), store=store)
    tokens = {
        "writer": await Service(store).register_token("acme", [READ, WRITE]),
        "reader": await Service(store).register_token("acme", [READ]),
        "other": await Service(store).register_token("globex", [READ, WRITE]),
    }
    async with app.router.lifespan_context(app):
        # Like a real server: an unexpected error is a 500 response, not an exception here.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Api(client, store, tokens)


ASSERT_MUTATION = """
mutation Assert($slug: String!, $match: String!, $attributes: JSON!) {
  assertRecord(objectSlug: $slug, matchingAttribute: $match, attributes: $attributes) {
    success status created
    record { id objectSlug attributes createdAt updatedAt version }
    errors { field code message }
  }
}
"""


class Outcome:
    """An assert's result, the same shape whichever transport carried it."""

    def __init__(self, status: int, record: dict[str, Any] | None, errors: list[Any]) -> None:
        self.status = status
        self.record = record
        self.errors = errors

    @property
    def codes(self) -> list[str]:
        return [error["code"] for error in self.errors]

    @property
    def fields(self) -> list[str | None]:
        return [error["field"] for error in self.errors]


async def assert_via(
    api: Api, transport: str, slug: str, match: str | None, body: Any, who: str = "writer"
) -> Outcome:
    if transport == "rest":
        response = await api.put(slug, match, body, who)
        payload = response.json()
        assert payload["status"] == response.status_code
        return Outcome(response.status_code, payload.get("record"), payload.get("errors", []))
    variables = {"slug": slug, "match": match, "attributes": body}
    result = await api.graphql(ASSERT_MUTATION, variables, who)
    assert "errors" not in result, result
    data = result["data"]["assertRecord"]
    record = data["record"]
    if record is not None:
        record = {k: v for k, v in record.items() if k != "version"}
    assert data["success"] is (data["status"] < 400)
    return Outcome(data["status"], record, data["errors"])


@pytest.fixture(params=["rest", "graphql"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)
