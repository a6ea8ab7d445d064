"""Queries. A client mistake (unknown attribute, bad value) is a GraphQL error with its code."""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from app.domain.errors import DomainError, NotFound
from schema.context import Info
from schema.types import ObjectType, PageInfo, RecordConnection, RecordEdge, RecordType

T = TypeVar("T")


async def _answer(call: Awaitable[T]) -> T | None:
    """The call's result; None when the thing asked for does not exist."""
    try:
        return await call
    except NotFound:
        return None
    except DomainError as error:
        raise GraphQLError(
            error.message,
            extensions={
                "code": error.code,
                "status": error.status,
                "errors": [
                    {"field": e.field, "code": e.code, "message": e.message} for e in error.errors
                ],
            },
        ) from None


CURSOR_PREFIX = "records:"
MAX_PAGE_SIZE = 100


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{position}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(CURSOR_PREFIX):
            return int(text.removeprefix(CURSOR_PREFIX))
    except (ValueError, UnicodeDecodeError):
        pass
    raise GraphQLError(
        f"{cursor!r} is not a cursor of this connection.",
        extensions={"code": "invalid_cursor", "status": 400},
    )


@strawberry.type
class Query:
    @strawberry.field(description="The workspace's objects, by slug.")
    async def objects(self, info: Info) -> list[ObjectType]:
        ctx = info.context
        schemas = await _answer(ctx.service.list_objects(ctx.request))
        return [ObjectType.of(schema) for schema in schemas or []]

    @strawberry.field(description="Records in creation order, a page at a time (Relay).")
    async def records(
        self, info: Info, object_slug: str, first: int = 20, after: str | None = None
    ) -> RecordConnection | None:
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise GraphQLError(
                f"first must be 1-{MAX_PAGE_SIZE}.",
                extensions={"code": "invalid_parameter", "status": 400},
            )
        ctx = info.context
        page = await _answer(
            ctx.service.records_after(ctx.request, object_slug, decode_cursor(after), first)
        )
        if page is None:
            return None
        edges = [
            RecordEdge(cursor=encode_cursor(position), node=RecordType.of(record))
            for position, record in page.edges
        ]
        return RecordConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )

    @strawberry.field(description="An object with its attributes; null when it does not exist.")
    async def object(self, info: Info, slug: str) -> ObjectType | None:
        ctx = info.context
        schema = await _answer(ctx.service.get_object(ctx.request, slug))
        return ObjectType.of(schema) if schema else None

    @strawberry.field(description="A record by id; null when it does not exist.")
    async def record(self, info: Info, object_slug: str, id: strawberry.ID) -> RecordType | None:
        ctx = info.context
        record = await _answer(ctx.service.get_record(ctx.request, object_slug, str(id)))
        return RecordType.of(record) if record else None

    @strawberry.field(description="The record an assert on (attribute, value) would match.")
    async def find_record(
        self, info: Info, object_slug: str, attribute: str, value: JSON
    ) -> RecordType | None:
        ctx = info.context
        record = await _answer(ctx.service.find_record(ctx.request, object_slug, attribute, value))
        return RecordType.of(record) if record else None
