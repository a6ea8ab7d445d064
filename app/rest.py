"""The Zeeg-compatible REST shim under /v2/crm: parse -> service call -> envelope."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.routing import Route

from app import jsonio, rest_standard
from app.auth import authenticate
from app.domain.errors import (
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    VersionMismatch,
    field_error,
)
from app.domain.events import Source
from app.domain.objects import Attribute, AttributePatch, AttributeSpec, ObjectSchema
from app.jsonio import JSONResponse
from app.service import Context, Service
from app.views import NOT_APPLIED, BatchItem, RecordPage, RecordView

# The *_json functions below build response bodies for app.jsonio.JSONResponse: timestamps
# stay datetimes, which orjson writes exactly as isoformat() would, five times quicker
# (two a record of a batch answer).

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def request_context(request: Request, source: Source = "rest") -> Context:
    """Authenticate the caller (401 otherwise) and name the request for the event metadata."""
    principal = await authenticate(service_of(request).store, request.headers.get("authorization"))
    request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    return Context(principal=principal, source=source, request_id=request_id)


class TransportError(DomainError):
    """An HTTP-level failure (no such route, wrong method, server trouble) in the envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code = status, code
        super().__init__(message)


# ---- envelopes ----------------------------------------------------------------------------


def success(status: int, **payload: Any) -> JSONResponse:
    return JSONResponse({"success": True, "status": status, **payload}, status_code=status)


def error_json(error: FieldError) -> dict[str, Any]:
    return {"field": error.field, "code": error.code, "message": error.message}


def failure(error: DomainError) -> JSONResponse:
    body: dict[str, Any] = {
        "success": False,
        "status": error.status,
        "message": error.message,
        "errors": [error_json(e) for e in error.errors],
    }
    if isinstance(error, VersionMismatch):
        body["currentVersion"] = error.current_version
    return JSONResponse(body, status_code=error.status)


def attribute_json(attribute: Attribute) -> dict[str, Any]:
    return {
        "key": attribute.key,
        "label": attribute.label,
        "type": attribute.type.value,
        "isRequired": attribute.is_required,
        "isUnique": attribute.is_unique,
        "isArchived": attribute.is_archived,
        "isStandard": attribute.is_standard,
        "validation": attribute.validation,
        "options": [{"id": o.id, "label": o.label} for o in attribute.options],
        "relation": {"objectSlug": attribute.related_object} if attribute.related_object else None,
        "currency": {"code": attribute.currency_code} if attribute.currency_code else None,
        "display": attribute.display,
    }


def object_json(schema: ObjectSchema) -> dict[str, Any]:
    """An object with all its attributes, archived ones included (flagged)."""
    return {
        "slug": schema.slug,
        "singularName": schema.singular_name,
        "pluralName": schema.plural_name,
        "isActive": schema.is_active,
        "isStandard": schema.is_standard,
        "attributes": [attribute_json(a) for a in schema.attributes],
        "createdAt": schema.created_at,
        "updatedAt": schema.updated_at,
    }


def record_json(record: RecordView) -> dict[str, Any]:
    return {
        "id": record.id,
        "objectSlug": record.object_slug,
        "attributes": record.attributes,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


def pagination(page: RecordPage, count: int, current: int) -> dict[str, Any]:
    total_pages = -(-page.total // count)
    return {
        "total": page.total,
        "count": len(page.records),
        "totalPages": total_pages,
        "currentPage": current,
        "previousPage": current - 1 if current > 1 else None,
        "nextPage": current + 1 if current < total_pages else None,
    }


# ---- request bodies -----------------------------------------------------------------------


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    raw = await request.body()
    try:
        body = jsonio.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise field_error(None, "invalid_json", f"The body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise field_error(None, "invalid_body", "The body must be a JSON object.")
    return body


def only_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed.of(
            [
                FieldError(
                    name,
                    "unknown_field",
                    f"'{name}' is not a field here; allowed: {', '.join(sorted(allowed))}.",
                )
                for name in unknown
            ]
        )


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise field_error(name, "invalid_value", f"'{name}' must be true or false.")
    return value


def nested(body: dict[str, Any], name: str, inner: str) -> object:
    """`body[name][inner]`, as in {"relation": {"objectSlug": "companies"}}; None if absent."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {inner}:
        raise field_error(name, "invalid_value", f"'{name}' must be {{\"{inner}\": ...}}.")
    return value[inner]


def immutable(body: dict[str, Any], names: set[str]) -> None:
    fixed = sorted(names & set(body))
    if fixed:
        raise ValidationFailed.of(
            [FieldError(name, "immutable", f"'{name}' can't be changed.") for name in fixed]
        )


def expected_version(request: Request) -> int | None:
    """If-Match: "3" (or W/"3", or 3): the version the client last saw. None when absent."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise field_error(
            "If-Match", "invalid_if_match", 'If-Match takes a record version, like "3".'
        )
    return int(tag)


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise field_error(name, "invalid_parameter", f"{name} must be a whole number {low}-{high}.")
    return int(raw)


# ---- endpoints ----------------------------------------------------------------------------


async def create_object(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    body = await json_object(request)
    only_fields(body, {"slug", "singularName", "pluralName", "isActive"})
    schema = await service_of(request).create_object(
        ctx,
        body.get("slug"),
        body.get("singularName"),
        body.get("pluralName"),
        flag(body, "isActive", True),
    )
    return success(201, object=object_json(schema))


async def list_objects(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    schemas = await service_of(request).list_objects(ctx)
    return success(200, objects=[object_json(schema) for schema in schemas])


async def get_object(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    schema = await service_of(request).get_object(ctx, request.path_params["slug"])
    return success(200, object=object_json(schema))


async def update_object(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    body = await json_object(request)
    immutable(body, {"slug"})
    only_fields(body, {"singularName", "pluralName"})
    schema = await service_of(request).update_object(
        ctx, request.path_params["slug"], body.get("singularName"), body.get("pluralName")
    )
    return success(200, object=object_json(schema))


async def add_attribute(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    body = await json_object(request)
    only_fields(
        body,
        {
            "label",
            "type",
            "isRequired",
            "isUnique",
            "validation",
            "options",
            "relation",
            "currency",
            "display",
        },
    )
    spec = AttributeSpec(
        label=body.get("label"),
        type=body.get("type"),
        is_required=body.get("isRequired", False),
        is_unique=body.get("isUnique", False),
        validation=body.get("validation", []),
        options=body.get("options", []),
        related_object=nested(body, "relation", "objectSlug"),
        currency_code=nested(body, "currency", "code"),
        display=body.get("display", {}),
    )
    attribute = await service_of(request).add_attribute(ctx, request.path_params["slug"], spec)
    return success(201, attribute=attribute_json(attribute))


async def update_attribute(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    body = await json_object(request)
    immutable(body, {"type", "key", "relation", "currency", "isUnique"})
    only_fields(body, {"label", "isRequired", "isArchived", "options", "display"})
    patch = AttributePatch(
        label=body.get("label"),
        is_required=body.get("isRequired"),
        is_archived=body.get("isArchived"),
        options=body.get("options"),
        display=body.get("display"),
    )
    attribute = await service_of(request).update_attribute(
        ctx, request.path_params["slug"], request.path_params["key"], patch
    )
    return success(200, attribute=attribute_json(attribute))


# ---- records: generic objects and the standard ones (people, companies) -------------


def record_body(slug: str, body: dict[str, Any]) -> dict[str, Any]:
    return rest_standard.to_attributes(slug, body) if rest_standard.is_standard_slug(slug) else body


async def shaped(request: Request, ctx: Context, slug: str, record: RecordView) -> dict[str, Any]:
    if not rest_standard.is_standard_slug(slug):
        return record_json(record)

    async def company_of(record_id: str) -> RecordView | None:
        try:
            return await service_of(request).get_record(ctx, "companies", record_id)
        except NotFound:
            return None

    return await rest_standard.to_zeeg(slug, record, company_of)


async def shaped_all(
    request: Request, ctx: Context, slug: str, records: list[RecordView]
) -> list[dict[str, Any]]:
    """`shaped` for many records: without a coroutine each when no company is looked up
    (a batch answers up to 1000 records)."""
    if not rest_standard.is_standard_slug(slug):
        return [record_json(record) for record in records]
    return [await shaped(request, ctx, slug, record) for record in records]


async def record_response(
    request: Request, ctx: Context, slug: str, status: int, record: RecordView
) -> JSONResponse:
    key = rest_standard.RESPONSE_KEYS.get(slug, "record")
    response = success(status, **{key: await shaped(request, ctx, slug, record)})
    response.headers["ETag"] = f'"{record.version}"'  # for If-Match on the next write
    return response


async def answered(slug: str, call: Awaitable[T]) -> T:
    """The call's result; a standard object's errors name its Zeeg body fields."""
    try:
        return await call
    except DomainError as error:
        raise rest_standard.translated(slug, error) from None


async def create_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    body = record_body(slug, await json_object(request))
    key = request.headers.get("idempotency-key")
    record = await answered(slug, service_of(request).create_record(ctx, slug, body, key))
    return await record_response(request, ctx, slug, 201, record)


async def assert_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    body = record_body(slug, await json_object(request))
    result = await answered(
        slug,
        service_of(request).assert_record(
            ctx,
            slug,
            request.query_params.get("matchingAttribute"),
            body,
            expected_version(request),
        ),
    )
    return await record_response(request, ctx, slug, 201 if result.created else 200, result.record)


async def assert_records(request: Request) -> JSONResponse:
    """PUT /{objectSlug}/batch: an extension of the Zeeg API, up to 1000 asserts at once."""
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    body = await json_object(request)
    only_fields(body, {"records", "allOrNone"})
    records = body.get("records")
    if not isinstance(records, list):
        raise field_error("records", "invalid_body", "records must be a list of JSON objects.")
    bodies = [record_body(slug, r) if isinstance(r, dict) else r for r in records]
    result = await answered(
        slug,
        service_of(request).assert_records(
            ctx,
            slug,
            request.query_params.get("matchingAttribute"),
            bodies,
            flag(body, "allOrNone", False),
        ),
    )
    records = [item.record for item in result.items if item.record is not None]
    shaped_records = iter(await shaped_all(request, ctx, slug, records))  # in item order
    results = [
        batch_item_json(slug, item, next(shaped_records) if item.record is not None else None)
        for item in result.items
    ]
    if not result.applied:
        failed = result.totals["failed"]
        return JSONResponse(
            {
                "success": False,
                "status": 400,
                "message": f"Nothing was written: {failed} record(s) of the batch failed.",
                "errors": [e for r in results if r["status"] < NOT_APPLIED for e in r["errors"]],
                "results": results,
                "totals": result.totals,
            },
            status_code=400,
        )
    return success(200, results=results, totals=result.totals)


def batch_item_json(slug: str, item: BatchItem, record: dict[str, Any] | None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "index": item.index,
        "status": item.status,
        "created": item.created,
        "changed": item.changed,
    }
    if record is not None:
        answer[rest_standard.RESPONSE_KEYS.get(slug, "record")] = record
    else:
        answer["errors"] = [error_json(e) for e in rest_standard.named(slug, item.errors)]
    return answer


async def list_records(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    count = int_param(request, "count", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page_number = int_param(request, "page", 1, 1, 10**9)
    page = await service_of(request).list_records(ctx, slug, count, page_number)
    return success(
        200,
        collection=await shaped_all(request, ctx, slug, page.records),
        pagination=pagination(page, count, page_number),
    )


async def get_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    record = await service_of(request).get_record(ctx, slug, request.path_params["record_id"])
    return await record_response(request, ctx, slug, 200, record)


async def update_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    body = record_body(slug, await json_object(request))
    record = await answered(
        slug,
        service_of(request).update_record(
            ctx, slug, request.path_params["record_id"], body, expected_version(request)
        ),
    )
    return await record_response(request, ctx, slug, 200, record)


async def update_relation(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    slug = request.path_params["object_slug"]
    body = await json_object(request)
    only_fields(body, {"attributeSlug", "add", "remove"})
    record = await answered(
        slug,
        service_of(request).update_relation(
            ctx,
            slug,
            request.path_params["record_id"],
            body.get("attributeSlug"),
            body.get("add"),
            body.get("remove"),
            expected_version(request),
        ),
    )
    return await record_response(request, ctx, slug, 200, record)


async def delete_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    await service_of(request).delete_record(
        ctx,
        request.path_params["object_slug"],
        request.path_params["record_id"],
        expected_version(request),
    )
    return success(200, message="Record deleted.")


routes = [
    Route("/objects", create_object, methods=["POST"]),
    Route("/objects", list_objects, methods=["GET"]),
    Route("/objects/{slug}", get_object, methods=["GET"]),
    Route("/objects/{slug}", update_object, methods=["PATCH"]),
    Route("/objects/{slug}/attributes", add_attribute, methods=["POST"]),
    Route("/objects/{slug}/attributes/{key}", update_attribute, methods=["PATCH"]),
    Route("/{object_slug}", create_record, methods=["POST"]),
    Route("/{object_slug}", assert_record, methods=["PUT"]),
    Route("/{object_slug}", list_records, methods=["GET"]),
    Route("/{object_slug}/batch", assert_records, methods=["PUT"]),
    Route("/{object_slug}/{record_id}", get_record, methods=["GET"]),
    Route("/{object_slug}/{record_id}", update_record, methods=["PATCH"]),
    Route("/{object_slug}/{record_id}", delete_record, methods=["DELETE"]),
    Route("/{object_slug}/{record_id}/relation", update_relation, methods=["PATCH"]),
]
