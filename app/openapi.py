"""The OpenAPI 3.1 document of the REST shim, served at GET /openapi.json.

Written by hand next to the routes: tests/test_openapi.py checks that it is a valid OpenAPI
3.1 document, that it names every route, and that real responses match its schemas.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

NULLABLE_JSON: Schema = {}  # any JSON value, null included


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def envelope(status: int, **fields: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["success", "status", *fields],
        "properties": {
            "success": {"const": True},
            "status": {"const": status},
            **fields,
        },
    }


def json_body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def answer(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    str(code): answer(text, ref("Error"))
    for code, text in (
        (400, "Bad request: the errors name what is wrong; nothing was written."),
        (401, "No bearer token, or an unknown one."),
        (403, "The token lacks the scope, or the object is standard."),
        (404, "No such object or record."),
        (413, "The body is over the size limit."),
    )
}

SLUG = {"name": "objectSlug", "in": "path", "required": True, "schema": {"type": "string"}}
RECORD_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
OBJECT_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
ATTRIBUTE_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}


MATCHING_ATTRIBUTE = {
    "name": "matchingAttribute",
    "in": "query",
    "required": True,
    "schema": {"type": "string"},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "description": 'The record version last seen (its ETag, e.g. "3"; "0" on an assert: no '
    "record may match). Another version → 409 with currentVersion.",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "A repeat with the same key replays the first answer; the same key with "
    "another body → 409.",
    "schema": {"type": "string", "maxLength": 255},
}
CONFLICT = {
    "409": {
        "description": "Version or idempotency-key conflict.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
}


def operation(summary: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {"summary": summary, "responses": {**responses, **ERRORS}, **extra}


def guarded(summary: str, responses: dict[str, Schema], header: Schema, **extra: Any) -> Schema:
    """An operation that takes If-Match or Idempotency-Key and can answer 409."""
    parameters = [*extra.pop("parameters", []), header]
    return operation(summary, {**responses, **CONFLICT}, parameters=parameters, **extra)


COMPONENTS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["success", "status", "message", "errors"],
        "properties": {
            "success": {"const": False},
            "status": {"type": "integer"},
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "code", "message"],
                    "properties": {
                        "field": {"type": ["string", "null"]},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    },
    "Attribute": {
        "type": "object",
        "required": ["key", "label", "type", "isRequired", "isUnique", "isArchived"],
        "properties": {
            "key": {"type": "string"},
            "label": {"type": "string"},
            "type": {
                "enum": [
                    "text",
                    "number",
                    "phone_number",
                    "checkbox",
                    "date",
                    "datetime",
                    "select",
                    "multiselect",
                    "status",
                    "rating",
                    "currency",
                    "relation",
                    "user",
                    "emails",
                ]
            },
            "isRequired": {"type": "boolean"},
            "isUnique": {"type": "boolean"},
            "isArchived": {"type": "boolean"},
            "isStandard": {"type": "boolean"},
            "validation": {"type": "array", "items": {"enum": ["email", "url", "domain"]}},
            "options": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "label"],
                    "properties": {"id": {"type": "string"}, "label": {"type": "string"}},
                },
            },
            "relation": {
                "type": ["object", "null"],
                "properties": {"objectSlug": {"type": "string"}},
            },
            "currency": {"type": ["object", "null"], "properties": {"code": {"type": "string"}}},
            "display": {"type": "object"},
        },
    },
    "NewAttribute": {
        "type": "object",
        "required": ["label", "type"],
        "additionalProperties": False,
        "properties": {
            "label": {"type": "string", "maxLength": 255},
            "type": {"type": "string"},
            "isRequired": {"type": "boolean"},
            "isUnique": {"type": "boolean"},
            "validation": {"type": "array", "items": {"enum": ["email", "url"]}},
            "options": {
                "type": "array",
                "items": {"type": "object", "properties": {"label": {"type": "string"}}},
            },
            "relation": {"type": "object", "properties": {"objectSlug": {"type": "string"}}},
            "currency": {"type": "object", "properties": {"code": {"type": "string"}}},
            "display": {"type": "object"},
        },
    },
    "AttributeChanges": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "label": {"type": "string"},
            "isRequired": {"type": "boolean"},
            "isArchived": {"type": "boolean"},
            "options": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "label": {"type": "string"}},
                },
            },
            "display": {"type": "object"},
        },
    },
    "Object": {
        "type": "object",
        "required": ["slug", "singularName", "pluralName", "isActive", "attributes"],
        "properties": {
            "slug": {"type": "string"},
            "singularName": {"type": "string"},
            "pluralName": {"type": "string"},
            "isActive": {"type": "boolean"},
            "isStandard": {"type": "boolean"},
            "attributes": {"type": "array", "items": ref("Attribute")},
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
        },
    },
    "NewObject": {
        "type": "object",
        "required": ["slug", "singularName", "pluralName"],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string", "pattern": "^[a-z0-9_-]{3,60}$"},
            "singularName": {"type": "string"},
            "pluralName": {"type": "string"},
            "isActive": {"type": "boolean"},
        },
    },
    "Record": {
        "type": "object",
        "required": ["id", "objectSlug", "attributes", "createdAt", "updatedAt"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "objectSlug": {"type": "string"},
            "attributes": {"type": "object", "additionalProperties": NULLABLE_JSON},
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
        },
    },
    "RecordBody": {
        "description": "Attribute key -> value, flat, as SPEC section 2 types them.",
        "type": "object",
        "additionalProperties": NULLABLE_JSON,
    },
    "BatchItem": {
        "type": "object",
        "required": ["index", "status", "created", "changed"],
        "properties": {
            "index": {"type": "integer"},
            "status": {"type": "integer", "description": "201, 200, 4xx; 424 = not written"},
            "created": {"type": "boolean"},
            "changed": {"type": "boolean"},
            "record": ref("Record"),
            "errors": {"type": "array"},
        },
    },
    "BatchTotals": {
        "type": "object",
        "required": ["created", "updated", "unchanged", "failed"],
        "properties": {
            name: {"type": "integer"} for name in ("created", "updated", "unchanged", "failed")
        },
    },
    "Pagination": {
        "type": "object",
        "required": ["total", "count", "totalPages", "currentPage", "previousPage", "nextPage"],
        "properties": {
            "total": {"type": "integer"},
            "count": {"type": "integer", "description": "records on this page"},
            "totalPages": {"type": "integer"},
            "currentPage": {"type": "integer"},
            "previousPage": {"type": ["integer", "null"]},
            "nextPage": {"type": ["integer", "null"]},
        },
    },
}

RECORD_200 = answer("The record.", envelope(200, record=ref("Record")))
OBJECT_200 = answer("The object.", envelope(200, object=ref("Object")))
ATTRIBUTE = ref("Attribute")

PATHS: dict[str, Schema] = {
    "/v2/crm/objects": {
        "get": operation(
            "List objects",
            {
                "200": answer(
                    "The objects.", envelope(200, objects={"type": "array", "items": ref("Object")})
                )
            },
        ),
        "post": operation(
            "Create an object",
            {
                "201": answer("Created.", envelope(201, object=ref("Object"))),
                "409": answer("The slug is taken.", ref("Error")),
            },
            requestBody=json_body(ref("NewObject")),
        ),
    },
    "/v2/crm/objects/{slug}": {
        "parameters": [OBJECT_SLUG],
        "get": operation("An object with its attributes", {"200": OBJECT_200}),
        "patch": operation(
            "Rename an object (not a standard one)",
            {"200": OBJECT_200},
            requestBody=json_body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "singularName": {"type": "string"},
                        "pluralName": {"type": "string"},
                    },
                }
            ),
        ),
    },
    "/v2/crm/objects/{slug}/attributes": {
        "parameters": [OBJECT_SLUG],
        "post": operation(
            "Add an attribute; its key comes from the label",
            {"201": answer("Added.", envelope(201, attribute=ATTRIBUTE))},
            requestBody=json_body(ref("NewAttribute")),
        ),
    },
    "/v2/crm/objects/{slug}/attributes/{key}": {
        "parameters": [OBJECT_SLUG, ATTRIBUTE_KEY],
        "patch": operation(
            "Change an attribute (type and key never change)",
            {"200": answer("Changed.", envelope(200, attribute=ATTRIBUTE))},
            requestBody=json_body(ref("AttributeChanges")),
        ),
    },
    "/v2/crm/{objectSlug}": {
        "parameters": [SLUG],
        "get": operation(
            "List records in creation order",
            {
                "200": answer(
                    "A page.",
                    envelope(
                        200,
                        collection={"type": "array", "items": ref("Record")},
                        pagination=ref("Pagination"),
                    ),
                )
            },
            parameters=[
                {
                    "name": "count",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
                {
                    "name": "page",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "default": 1},
                },
            ],
        ),
        "post": guarded(
            "Create a record",
            {"201": answer("Created.", envelope(201, record=ref("Record")))},
            IDEMPOTENCY_KEY,
            requestBody=json_body(ref("RecordBody")),
        ),
        "put": guarded(
            "Assert: update the record whose matchingAttribute equals the value, or create it",
            {
                "200": answer("Updated (or unchanged).", envelope(200, record=ref("Record"))),
                "201": answer("Created.", envelope(201, record=ref("Record"))),
            },
            parameters=[MATCHING_ATTRIBUTE],
            header=IF_MATCH,
            requestBody=json_body(ref("RecordBody")),
        ),
    },
    "/v2/crm/{objectSlug}/batch": {
        "parameters": [SLUG],
        "put": operation(
            "Assert up to 1000 records in one transaction (an extension of the Zeeg API)",
            {
                "200": answer(
                    "Every record's result, in input order.",
                    envelope(
                        200,
                        results={"type": "array", "items": ref("BatchItem")},
                        totals=ref("BatchTotals"),
                    ),
                ),
            },
            parameters=[MATCHING_ATTRIBUTE],
            requestBody=json_body(
                {
                    "type": "object",
                    "required": ["records"],
                    "additionalProperties": False,
                    "properties": {
                        "records": {"type": "array", "maxItems": 1000, "items": ref("RecordBody")},
                        "allOrNone": {
                            "type": "boolean",
                            "default": False,
                            "description": "Write nothing if any record fails (then 400).",
                        },
                    },
                }
            ),
        ),
    },
    "/v2/crm/{objectSlug}/{id}": {
        "parameters": [SLUG, RECORD_ID],
        "get": operation("One record", {"200": RECORD_200}),
        "patch": guarded(
            "Partial update: only the given attributes change",
            {"200": RECORD_200},
            IF_MATCH,
            requestBody=json_body(ref("RecordBody")),
        ),
        "delete": guarded(
            "Delete a record",
            {"200": answer("Deleted.", envelope(200, message={"const": "Record deleted."}))},
            IF_MATCH,
        ),
    },
    "/v2/crm/{objectSlug}/{id}/relation": {
        "parameters": [SLUG, RECORD_ID],
        "patch": guarded(
            "Add and remove ids of a relation or user attribute",
            {"200": RECORD_200},
            IF_MATCH,
            requestBody=json_body(
                {
                    "type": "object",
                    "required": ["attributeSlug"],
                    "additionalProperties": False,
                    "properties": {
                        "attributeSlug": {"type": "string"},
                        "add": {"type": "array", "items": {"type": "string"}},
                        "remove": {"type": "array", "items": {"type": "string"}},
                    },
                }
            ),
        ),
    },
}


def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crm-gateway REST shim (Zeeg CRM API compatible)",
            "version": "2",
            "description": "Every write appends events; GraphQL at /graphql mirrors every call.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
