"""GET /openapi.json: a valid OpenAPI 3.1 document naming every route, matching real answers."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from app import rest
from tests.conftest import Api

pytestmark = pytest.mark.anyio


async def document(api: Api) -> dict[str, Any]:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def test_it_is_a_valid_openapi_3_1_document(api: Api) -> None:
    spec = await document(api)
    assert spec["openapi"].startswith("3.1")
    validate(spec)


async def test_it_names_every_rest_route(api: Api) -> None:
    paths = (await document(api))["paths"]
    for route in rest.routes:
        assert isinstance(route, Route)
        path = "/v2/crm" + route.path.replace("{object_slug}", "{objectSlug}").replace(
            "{record_id}", "{id}"
        )
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in paths[path], (method, path)


def check(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    resolver = {"components": spec["components"], **schema["schema"]}
    jsonschema.validate(body, resolver, cls=jsonschema.Draft202012Validator)


async def test_real_answers_match_the_documented_schemas(api: Api) -> None:
    spec = await document(api)
    await api.products()
    headers = api.auth()
    created = await api.put("products", "sku", {"sku": "A", "price": 1})
    check(spec, "/v2/crm/{objectSlug}", "put", 201, created.json())
    record_id = created.json()["record"]["id"]
    listed = await api.client.get("/v2/crm/products", headers=headers)
    check(spec, "/v2/crm/{objectSlug}", "get", 200, listed.json())
    one = await api.client.get(f"/v2/crm/products/{record_id}", headers=headers)
    check(spec, "/v2/crm/{objectSlug}/{id}", "get", 200, one.json())
    schema = await api.client.get("/v2/crm/objects/products", headers=headers)
    check(spec, "/v2/crm/objects/{slug}", "get", 200, schema.json())
    objects = await api.client.get("/v2/crm/objects", headers=headers)
    check(spec, "/v2/crm/objects", "get", 200, objects.json())
    bad = await api.put("products", "sku", {"sku": 1})
    check(spec, "/v2/crm/{objectSlug}", "put", 400, bad.json())
    batch = await api.client.put(
        "/v2/crm/products/batch",
        params={"matchingAttribute": "sku"},
        json={"records": [{"sku": "B"}, {"sku": 2}]},
        headers=headers,
    )
    check(spec, "/v2/crm/{objectSlug}/batch", "put", 200, batch.json())
    gone = await api.client.delete(f"/v2/crm/products/{record_id}", headers=headers)
    check(spec, "/v2/crm/{objectSlug}/{id}", "delete", 200, gone.json())


async def test_the_schema_check_can_fail(api: Api) -> None:
    spec = await document(api)
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "/v2/crm/{objectSlug}/{id}", "get", 200, {"success": True, "status": 200})
