"""GraphQL types: dataclass-like Strawberry types and their builders from service results."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.domain.errors import DomainError, VersionMismatch
from app.domain.events import Event, EventType
from app.domain.objects import Attribute, ObjectSchema
from app.views import BatchItem, RecordView
from schema.context import Info


@strawberry.type(name="FieldError")
class FieldErrorType:
    field: str | None
    code: str
    message: str


@strawberry.type(name="Option")
class OptionType:
    id: strawberry.ID
    label: str


@strawberry.input
class OptionInput:
    label: str
    id: strawberry.ID | None = None


@strawberry.type(name="Attribute")
class AttributeType:
    key: str
    label: str
    type: str
    is_required: bool
    is_unique: bool
    is_archived: bool
    is_standard: bool
    validation: list[str]
    options: list[OptionType]
    related_object: str | None
    currency_code: str | None
    display: JSON

    @classmethod
    def of(cls, attribute: Attribute) -> AttributeType:
        return cls(
            key=attribute.key,
            label=attribute.label,
            type=attribute.type.value,
            is_required=attribute.is_required,
            is_unique=attribute.is_unique,
            is_archived=attribute.is_archived,
            is_standard=attribute.is_standard,
            validation=list(attribute.validation),
            options=[OptionType(id=strawberry.ID(o.id), label=o.label) for o in attribute.options],
            related_object=attribute.related_object,
            currency_code=attribute.currency_code,
            display=JSON(attribute.display),
        )


@strawberry.type(name="Object")
class ObjectType:
    slug: str
    singular_name: str
    plural_name: str
    is_active: bool
    is_standard: bool
    attributes: list[AttributeType]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, schema: ObjectSchema) -> ObjectType:
        return cls(
            slug=schema.slug,
            singular_name=schema.singular_name,
            plural_name=schema.plural_name,
            is_active=schema.is_active,
            is_standard=schema.is_standard,
            attributes=[AttributeType.of(a) for a in schema.attributes],
            created_at=schema.created_at,
            updated_at=schema.updated_at,
        )


@strawberry.type
class AttributeChange:
    attribute: str
    old: JSON | None
    new: JSON | None


@strawberry.type
class HistoryEntry:
    version: int
    type: str
    recorded_at: datetime
    source: str
    changes: list[AttributeChange]

    @classmethod
    def of(cls, event: Event) -> HistoryEntry:
        if event.type is EventType.RECORD_CREATED:
            pairs = [(k, None, v) for k, v in event.data["attributes"].items() if v is not None]
        elif event.type is EventType.RECORD_UPDATED:
            pairs = [(k, c["old"], c["new"]) for k, c in event.data["changes"].items()]
        else:
            pairs = []
        return cls(
            version=event.version,
            type=event.type.value,
            recorded_at=event.recorded_at,
            source=event.metadata.source,
            changes=[AttributeChange(attribute=k, old=old, new=new) for k, old, new in pairs],
        )


@strawberry.type(name="Record")
class RecordType:
    id: strawberry.ID
    object_slug: str
    attributes: JSON
    created_at: datetime
    updated_at: datetime
    version: int

    @strawberry.field(description="The record's events, newest first.")
    async def history(self, info: Info) -> list[HistoryEntry]:
        ctx = info.context
        events = await ctx.service.history(ctx.request, self.object_slug, str(self.id))
        return [HistoryEntry.of(event) for event in events]

    @classmethod
    def of(cls, record: RecordView) -> RecordType:
        return cls(
            id=strawberry.ID(record.id),
            object_slug=record.object_slug,
            attributes=JSON(record.attributes),
            created_at=record.created_at,
            updated_at=record.updated_at,
            version=record.version,
        )


def current_version(error: DomainError) -> int | None:
    return error.current_version if isinstance(error, VersionMismatch) else None


def field_errors(error: DomainError) -> list[FieldErrorType]:
    return [FieldErrorType(field=e.field, code=e.code, message=e.message) for e in error.errors]


@strawberry.type
class RecordPayload:
    success: bool
    status: int
    created: bool | None = None
    record: RecordType | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)
    current_version: int | None = strawberry.field(
        default=None, description="On a version_mismatch: the record's version now."
    )


@strawberry.type
class ObjectPayload:
    success: bool
    status: int
    object: ObjectType | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class RecordEdge:
    cursor: str
    node: RecordType


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RecordConnection:
    edges: list[RecordEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class BatchItemType:
    index: int
    status: int
    created: bool
    changed: bool
    record: RecordType | None
    errors: list[FieldErrorType]

    @classmethod
    def of(cls, item: BatchItem) -> BatchItemType:
        return cls(
            index=item.index,
            status=item.status,
            created=item.created,
            changed=item.changed,
            record=RecordType.of(item.record) if item.record else None,
            errors=[
                FieldErrorType(field=e.field, code=e.code, message=e.message) for e in item.errors
            ],
        )


@strawberry.type
class BatchTotals:
    created: int
    updated: int
    unchanged: int
    failed: int


@strawberry.type
class BatchPayload:
    success: bool
    status: int
    results: list[BatchItemType] = strawberry.field(default_factory=list)
    totals: BatchTotals | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePayload:
    success: bool
    status: int
    message: str | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)
    current_version: int | None = None


@strawberry.type
class AttributePayload:
    success: bool
    status: int
    attribute: AttributeType | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)
