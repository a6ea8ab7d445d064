"""Queries. A client mistake (unknown attribute, bad value) is a GraphQL error with its code."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from app.domain.errors import DomainError, NotFound
from schema.context import Info
from schema.types import ObjectType, RecordType

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


@strawberry.type
class Query:
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
