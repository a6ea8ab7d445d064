"""The Zeeg-compatible REST shim under /v2/crm: parse -> service call -> envelope."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.auth import authenticate
from app.domain.errors import DomainError, FieldError, ValidationFailed, field_error
from app.domain.events import Source
from app.domain.objects import Attribute, ObjectSchema
from app.service import Context, RecordView, Service


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


def failure(error: DomainError) -> JSONResponse:
    return JSONResponse(
        {
            "success": False,
            "status": error.status,
            "message": error.message,
            "errors": [
                {"field": e.field, "code": e.code, "message": e.message} for e in error.errors
            ],
        },
        status_code=error.status,
    )


def timestamp(value: Any) -> str:
    return str(value.isoformat())


def attribute_json(attribute: Attribute) -> dict[str, Any]:
    return {
        "key": attribute.key,
        "label": attribute.label,
        "type": attribute.type.value,
        "isRequired": attribute.is_required,
        "isUnique": attribute.is_unique,
        "isArchived": attribute.is_archived,
        "validation": attribute.validation,
    }


def object_json(schema: ObjectSchema) -> dict[str, Any]:
    return {
        "slug": schema.slug,
        "singularName": schema.singular_name,
        "pluralName": schema.plural_name,
        "isActive": schema.is_active,
        "isStandard": False,
        "attributes": [attribute_json(a) for a in schema.active_attributes()],
        "createdAt": timestamp(schema.created_at),
        "updatedAt": timestamp(schema.updated_at),
    }


def record_json(record: RecordView) -> dict[str, Any]:
    return {
        "id": record.id,
        "objectSlug": record.object_slug,
        "attributes": record.attributes,
        "createdAt": timestamp(record.created_at),
        "updatedAt": timestamp(record.updated_at),
    }


# ---- request bodies -----------------------------------------------------------------------


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    raw = await request.body()
    try:
        body = json.loads(raw)
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


def string_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise field_error(name, "invalid_value", f"'{name}' must be a list of strings.")
    return value


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


async def get_object(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    schema = await service_of(request).get_object(ctx, request.path_params["slug"])
    return success(200, object=object_json(schema))


async def add_attribute(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    body = await json_object(request)
    only_fields(body, {"label", "type", "isRequired", "isUnique", "validation"})
    attribute = await service_of(request).add_attribute(
        ctx,
        request.path_params["slug"],
        label=body.get("label"),
        type_=body.get("type"),
        is_required=flag(body, "isRequired", False),
        is_unique=flag(body, "isUnique", False),
        validation=string_list(body, "validation"),
    )
    return success(201, attribute=attribute_json(attribute))


async def assert_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    body = await json_object(request)
    result = await service_of(request).assert_record(
        ctx,
        request.path_params["object_slug"],
        request.query_params.get("matchingAttribute"),
        body,
    )
    return success(201 if result.created else 200, record=record_json(result.record))


async def get_record(request: Request) -> JSONResponse:
    ctx = await request_context(request)
    record = await service_of(request).get_record(
        ctx, request.path_params["object_slug"], request.path_params["record_id"]
    )
    return success(200, record=record_json(record))


routes = [
    Route("/objects", create_object, methods=["POST"]),
    Route("/objects/{slug}", get_object, methods=["GET"]),
    Route("/objects/{slug}/attributes", add_attribute, methods=["POST"]),
    Route("/{object_slug}", assert_record, methods=["PUT"]),
    Route("/{object_slug}/{record_id}", get_record, methods=["GET"]),
]
