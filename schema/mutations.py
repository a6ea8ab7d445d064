"""Mutations, the twins of the REST writes. Expected failures are data: success false, the
REST status, and the errors; the same service call answers both transports."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from strawberry.scalars import JSON

from app.domain.errors import DomainError, field_error
from app.domain.objects import Attribute, AttributePatch, AttributeSpec, ObjectSchema
from app.views import NOT_APPLIED, RecordView
from schema.context import Info
from schema.types import (
    AttributePayload,
    AttributeType,
    BatchItemType,
    BatchPayload,
    BatchTotals,
    DeletePayload,
    ObjectPayload,
    ObjectType,
    OptionInput,
    RecordPayload,
    RecordType,
    current_version,
    field_errors,
)

T = TypeVar("T")


def _options(options: list[OptionInput] | None) -> list[dict[str, str]] | None:
    if options is None:
        return None
    return [{"label": o.label, **({"id": str(o.id)} if o.id is not None else {})} for o in options]


def _body(attributes: JSON) -> dict[str, object]:
    if not isinstance(attributes, dict):
        raise field_error("attributes", "invalid_body", "attributes must be an object.")
    return attributes


def _record_failure(error: DomainError) -> RecordPayload:
    return RecordPayload(
        success=False,
        status=error.status,
        errors=field_errors(error),
        current_version=current_version(error),
    )


async def _record(call: Awaitable[RecordView], status: int) -> RecordPayload:
    try:
        record = await call
    except DomainError as error:
        return _record_failure(error)
    return RecordPayload(success=True, status=status, record=RecordType.of(record))


async def _object(call: Awaitable[ObjectSchema], status: int) -> ObjectPayload:
    try:
        schema = await call
    except DomainError as error:
        return ObjectPayload(success=False, status=error.status, errors=field_errors(error))
    return ObjectPayload(success=True, status=status, object=ObjectType.of(schema))


async def _attribute(call: Awaitable[Attribute], status: int) -> AttributePayload:
    try:
        attribute = await call
    except DomainError as error:
        return AttributePayload(success=False, status=error.status, errors=field_errors(error))
    return AttributePayload(success=True, status=status, attribute=AttributeType.of(attribute))


async def _failure_or(call: Awaitable[T]) -> T | DomainError:
    try:
        return await call
    except DomainError as error:
        return error


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
        call = ctx.service.create_object(ctx.request, slug, singular_name, plural_name, is_active)
        return await _object(call, 201)

    @strawberry.mutation
    async def update_object(
        self,
        info: Info,
        slug: str,
        singular_name: str | None = None,
        plural_name: str | None = None,
    ) -> ObjectPayload:
        ctx = info.context
        return await _object(
            ctx.service.update_object(ctx.request, slug, singular_name, plural_name), 200
        )

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
        options: list[OptionInput] | None = None,
        related_object: str | None = None,
        currency_code: str | None = None,
        display: JSON | None = None,
    ) -> AttributePayload:
        ctx = info.context
        spec = AttributeSpec(
            label=label,
            type=type,
            is_required=is_required,
            is_unique=is_unique,
            validation=validation or [],
            options=_options(options) or [],
            related_object=related_object,
            currency_code=currency_code,
            display=display if display is not None else {},
        )
        return await _attribute(ctx.service.add_attribute(ctx.request, object_slug, spec), 201)

    @strawberry.mutation
    async def update_attribute(
        self,
        info: Info,
        object_slug: str,
        key: str,
        label: str | None = None,
        is_required: bool | None = None,
        is_archived: bool | None = None,
        options: list[OptionInput] | None = None,
        display: JSON | None = None,
    ) -> AttributePayload:
        ctx = info.context
        patch = AttributePatch(
            label=label,
            is_required=is_required,
            is_archived=is_archived,
            options=_options(options),
            display=display,
        )
        return await _attribute(
            ctx.service.update_attribute(ctx.request, object_slug, key, patch), 200
        )

    @strawberry.mutation(
        description="Find the record whose attribute equals the value; update it, or create it "
        "(the REST PUT ?matchingAttribute=)."
    )
    async def assert_record(
        self,
        info: Info,
        object_slug: str,
        matching_attribute: str,
        attributes: JSON,
        expected_version: int | None = None,
    ) -> RecordPayload:
        ctx = info.context
        try:
            result = await ctx.service.assert_record(
                ctx.request, object_slug, matching_attribute, _body(attributes), expected_version
            )
        except DomainError as error:
            return _record_failure(error)
        return RecordPayload(
            success=True,
            status=201 if result.created else 200,
            created=result.created,
            record=RecordType.of(result.record),
        )

    @strawberry.mutation(
        description="Assert up to 1000 records in one transaction; results in input order."
    )
    async def assert_records(
        self,
        info: Info,
        object_slug: str,
        matching_attribute: str,
        records: list[JSON],
        all_or_none: bool = False,
    ) -> BatchPayload:
        ctx = info.context
        result = await _failure_or(
            ctx.service.assert_records(
                ctx.request, object_slug, matching_attribute, records, all_or_none
            )
        )
        if isinstance(result, DomainError):
            return BatchPayload(success=False, status=result.status, errors=field_errors(result))
        items = [BatchItemType.of(item) for item in result.items]
        totals = BatchTotals(**result.totals)
        if not result.applied:
            errors = [e for item in items if item.status < NOT_APPLIED for e in item.errors]
            return BatchPayload(
                success=False, status=400, results=items, totals=totals, errors=errors
            )
        return BatchPayload(success=True, status=200, results=items, totals=totals)

    @strawberry.mutation(
        description="With idempotencyKey, a repeat replays the first answer; the same key "
        "with other attributes is a 409."
    )
    async def create_record(
        self,
        info: Info,
        object_slug: str,
        attributes: JSON,
        idempotency_key: str | None = None,
    ) -> RecordPayload:
        ctx = info.context

        async def create() -> RecordView:
            return await ctx.service.create_record(
                ctx.request, object_slug, _body(attributes), idempotency_key
            )

        return await _record(create(), 201)

    @strawberry.mutation(description="A partial update: only the given attributes change.")
    async def update_record(
        self,
        info: Info,
        object_slug: str,
        id: strawberry.ID,
        attributes: JSON,
        expected_version: int | None = None,
    ) -> RecordPayload:
        ctx = info.context

        async def update() -> RecordView:
            return await ctx.service.update_record(
                ctx.request, object_slug, str(id), _body(attributes), expected_version
            )

        return await _record(update(), 200)

    @strawberry.mutation
    async def update_relation(
        self,
        info: Info,
        object_slug: str,
        id: strawberry.ID,
        attribute_slug: str,
        add: list[strawberry.ID] | None = None,
        remove: list[strawberry.ID] | None = None,
        expected_version: int | None = None,
    ) -> RecordPayload:
        ctx = info.context
        call = ctx.service.update_relation(
            ctx.request,
            object_slug,
            str(id),
            attribute_slug,
            [str(i) for i in add or []],
            [str(i) for i in remove or []],
            expected_version,
        )
        return await _record(call, 200)

    @strawberry.mutation
    async def delete_record(
        self,
        info: Info,
        object_slug: str,
        id: strawberry.ID,
        expected_version: int | None = None,
    ) -> DeletePayload:
        ctx = info.context
        result = await _failure_or(
            ctx.service.delete_record(ctx.request, object_slug, str(id), expected_version)
        )
        if isinstance(result, DomainError):
            return DeletePayload(
                success=False,
                status=result.status,
                errors=field_errors(result),
                current_version=current_version(result),
            )
        return DeletePayload(success=True, status=200, message="Record deleted.")
