"""GraphQL types: dataclass-like Strawberry types and their builders from service results."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.domain.errors import DomainError
from app.domain.objects import Attribute, ObjectSchema
from app.service import RecordView


@strawberry.type(name="FieldError")
class FieldErrorType:
    field: str | None
    code: str
    message: str


@strawberry.type(name="Attribute")
class AttributeType:
    key: str
    label: str
    type: str
    is_required: bool
    is_unique: bool
    is_archived: bool
    validation: list[str]

    @classmethod
    def of(cls, attribute: Attribute) -> AttributeType:
        return cls(
            key=attribute.key,
            label=attribute.label,
            type=attribute.type.value,
            is_required=attribute.is_required,
            is_unique=attribute.is_unique,
            is_archived=attribute.is_archived,
            validation=list(attribute.validation),
        )


@strawberry.type(name="Object")
class ObjectType:
    slug: str
    singular_name: str
    plural_name: str
    is_active: bool
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
            attributes=[AttributeType.of(a) for a in schema.active_attributes()],
            created_at=schema.created_at,
            updated_at=schema.updated_at,
        )


@strawberry.type(name="Record")
class RecordType:
    id: strawberry.ID
    object_slug: str
    attributes: JSON
    created_at: datetime
    updated_at: datetime
    version: int

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


def field_errors(error: DomainError) -> list[FieldErrorType]:
    return [FieldErrorType(field=e.field, code=e.code, message=e.message) for e in error.errors]


@strawberry.type
class RecordPayload:
    success: bool
    status: int
    created: bool | None = None
    record: RecordType | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class ObjectPayload:
    success: bool
    status: int
    object: ObjectType | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class AttributePayload:
    success: bool
    status: int
    attribute: AttributeType | None = None
    errors: list[FieldErrorType] = strawberry.field(default_factory=list)
