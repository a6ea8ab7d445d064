"""Objects and their attributes: slugs, key derivation, and the object decisions."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from app.domain.errors import FieldError, ValidationFailed, field_error
from app.domain.events import Event, EventMetadata, EventType, new_event

SLUG_PATTERN = re.compile(r"^[a-z0-9_-]{3,60}$")
# `people` and `companies` are the standard objects; `objects` would shadow `/v2/crm/objects`.
RESERVED_SLUGS = frozenset({"people", "companies", "objects"})
SYSTEM_ATTRIBUTES = frozenset({"id", "created_at", "updated_at"})
MAX_LABEL_LENGTH = 255


class AttributeType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHECKBOX = "checkbox"
    DATE = "date"


UNIQUE_CAPABLE_TYPES = frozenset({AttributeType.TEXT, AttributeType.NUMBER})
TEXT_VALIDATIONS = frozenset({"email", "url"})


class Attribute(BaseModel):
    key: str
    label: str
    type: AttributeType
    is_required: bool = False
    is_unique: bool = False
    is_archived: bool = False
    validation: list[str] = Field(default_factory=list)


class ObjectSchema(BaseModel):
    """The projection of an object's stream: what it is called and which attributes it has."""

    workspace: str
    slug: str
    singular_name: str
    plural_name: str
    is_active: bool = True
    attributes: list[Attribute] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def stream(self) -> str:
        return object_stream(self.slug)

    def attribute(self, key: str) -> Attribute | None:
        for attribute in self.attributes:
            if attribute.key == key and not attribute.is_archived:
                return attribute
        return None

    def active_attributes(self) -> list[Attribute]:
        return [attribute for attribute in self.attributes if not attribute.is_archived]


def object_stream(slug: str) -> str:
    return f"object-{slug}"


def check_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise field_error(
            "slug", "invalid_slug", "slug must be 3-60 characters of a-z, 0-9, '_' and '-'."
        )
    if slug in RESERVED_SLUGS:
        raise field_error("slug", "reserved_slug", f"The slug '{slug}' is reserved.")
    return slug


def derive_key(label: str, taken: set[str]) -> str:
    """snake_case key from a label; a clash with a taken or system key gets `_2`, `_3`, ..."""
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "attribute"
    if base[0].isdigit():
        base = f"attribute_{base}"
    unavailable = taken | SYSTEM_ATTRIBUTES
    key, suffix = base, 2
    while key in unavailable:
        key, suffix = f"{base}_{suffix}", suffix + 1
    return key


def check_attribute_definition(
    label: object, type_: object, is_unique: bool, validation: list[str]
) -> tuple[str, AttributeType]:
    errors: list[FieldError] = []
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
        errors.append(
            FieldError("label", "invalid_label", "label must be a non-empty string of ≤ 255 chars.")
        )
    try:
        attribute_type = AttributeType(str(type_))
    except ValueError:
        choices = ", ".join(t.value for t in AttributeType)
        raise field_error(
            "type", "invalid_type", f"type must be one of: {choices}; got {type_!r}."
        ) from None
    if is_unique and attribute_type not in UNIQUE_CAPABLE_TYPES:
        errors.append(
            FieldError(
                "isUnique", "unique_not_supported", f"A {attribute_type} attribute can't be unique."
            )
        )
    unknown = set(validation) - TEXT_VALIDATIONS
    if validation and attribute_type is not AttributeType.TEXT:
        errors.append(
            FieldError("validation", "invalid_validation", "validation applies to text only.")
        )
    elif unknown:
        errors.append(
            FieldError(
                "validation",
                "invalid_validation",
                f"Unknown validation {sorted(unknown)}; allowed: email, url.",
            )
        )
    if errors:
        raise ValidationFailed.of(errors)
    assert isinstance(label, str)
    return label.strip(), attribute_type


# ---- decisions ----------------------------------------------------------------------------


def check_names(singular_name: object, plural_name: object) -> tuple[str, str]:
    errors = [
        FieldError(field, "invalid_name", f"{field} must be a non-empty string of ≤ 255 chars.")
        for field, name in (("singularName", singular_name), ("pluralName", plural_name))
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_LABEL_LENGTH
    ]
    if errors:
        raise ValidationFailed.of(errors)
    assert isinstance(singular_name, str) and isinstance(plural_name, str)
    return singular_name.strip(), plural_name.strip()


def decide_create_object(
    workspace: str,
    slug: object,
    singular_name: object,
    plural_name: object,
    is_active: bool,
    metadata: EventMetadata,
    now: datetime,
) -> Event:
    checked_slug = check_slug(slug)
    singular, plural = check_names(singular_name, plural_name)
    return new_event(
        workspace=workspace,
        stream=object_stream(checked_slug),
        version=1,
        type=EventType.OBJECT_CREATED,
        data={
            "slug": checked_slug,
            "singular_name": singular,
            "plural_name": plural,
            "is_active": is_active,
        },
        metadata=metadata,
        now=now,
    )


def decide_add_attribute(
    schema: ObjectSchema,
    label: object,
    type_: object,
    is_required: bool,
    is_unique: bool,
    validation: list[str],
    metadata: EventMetadata,
    now: datetime,
) -> Event:
    checked_label, attribute_type = check_attribute_definition(label, type_, is_unique, validation)
    attribute = Attribute(
        key=derive_key(checked_label, {a.key for a in schema.attributes}),
        label=checked_label,
        type=attribute_type,
        is_required=is_required,
        is_unique=is_unique,
        validation=sorted(set(validation)),
    )
    return new_event(
        workspace=schema.workspace,
        stream=schema.stream,
        version=schema.version + 1,
        type=EventType.ATTRIBUTE_ADDED,
        data={"attribute": attribute.model_dump(mode="json")},
        metadata=metadata,
        now=now,
    )
