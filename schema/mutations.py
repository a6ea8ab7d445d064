"""Mutations. Expected failures are data: success false, the REST status, and the errors."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from app.domain.errors import DomainError, field_error
from schema.context import Info
from schema.types import (
    AttributePayload,
    AttributeType,
    ObjectPayload,
    ObjectType,
    RecordPayload,
    RecordType,
    field_errors,
)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_object(
        self,
        info: Info,
        slug: str,
        singular_name: str,
        plural_name: str,
        is_active: bool = True,
    ) -> ObjectPayload:
        ctx = info.context
        try:
            schema = await ctx.service.create_object(
                ctx.request, slug, singular_name, plural_name, is_active
            )
        except DomainError as error:
            return ObjectPayload(success=False, status=error.status, errors=field_errors(error))
        return ObjectPayload(success=True, status=201, object=ObjectType.of(schema))

    @strawberry.mutation
    async def add_attribute(
        self,
        info: Info,
        object_slug: str,
        label: str,
        type: str,
        is_required: bool = False,
        is_unique: bool = False,
        validation: list[str] | None = None,
    ) -> AttributePayload:
        ctx = info.context
        try:
            attribute = await ctx.service.add_attribute(
                ctx.request, object_slug, label, type, is_required, is_unique, validation
            )
        except DomainError as error:
            return AttributePayload(success=False, status=error.status, errors=field_errors(error))
        return AttributePayload(success=True, status=201, attribute=AttributeType.of(attribute))

    @strawberry.mutation(
        description="Find the record whose attribute equals the value; "
        "update it, or create it (the REST PUT ?matchingAttribute=)."
    )
    async def assert_record(
        self, info: Info, object_slug: str, matching_attribute: str, attributes: JSON
    ) -> RecordPayload:
        ctx = info.context
        try:
            if not isinstance(attributes, dict):
                raise field_error("attributes", "invalid_body", "attributes must be an object.")
            result = await ctx.service.assert_record(
                ctx.request, object_slug, matching_attribute, attributes
            )
        except DomainError as error:
            return RecordPayload(success=False, status=error.status, errors=field_errors(error))
        return RecordPayload(
            success=True,
            status=201 if result.created else 200,
            created=result.created,
            record=RecordType.of(result.record),
        )
