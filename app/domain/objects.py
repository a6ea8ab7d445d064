"""Objects and their attributes: slugs, key derivation, and the object decisions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from app.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, field_error
from app.domain.events import Event, EventMetadata, EventType, new_event
from app.domain.ids import new_id

SLUG_PATTERN = re.compile(r"^[a-z0-9_-]{3,60}$")
# The standard objects (app.domain.standard) exist in every workspace; `objects` would
# shadow `/v2/crm/objects`.
STANDARD_SLUGS = frozenset({"people", "companies"})
RESERVED_SLUGS = frozenset({"objects"})
SYSTEM_ATTRIBUTES = frozenset({"id", "created_at", "updated_at"})
MAX_LABEL_LENGTH = 255
MAX_DISPLAY_SETTINGS = 50


class AttributeType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    PHONE_NUMBER = "phone_number"
    CHECKBOX = "checkbox"
    DATE = "date"
    DATETIME = "datetime"
    SELECT = "select"
    MULTISELECT = "multiselect"
    STATUS = "status"
    RATING = "rating"
    CURRENCY = "currency"
    RELATION = "relation"
    USER = "user"
    # Internal: the `emails` of the standard `people` object (a list of email addresses).
    EMAILS = "emails"


UNIQUE_CAPABLE_TYPES = frozenset(
    {AttributeType.TEXT, AttributeType.NUMBER, AttributeType.PHONE_NUMBER}
)
OPTION_TYPES = frozenset({AttributeType.SELECT, AttributeType.MULTISELECT, AttributeType.STATUS})
# Values that are lists: they can't be the matching attribute of an assert.
LIST_TYPES = frozenset(
    {AttributeType.MULTISELECT, AttributeType.RELATION, AttributeType.USER, AttributeType.EMAILS}
)
CREATABLE_TYPES = frozenset(AttributeType) - {AttributeType.EMAILS}
TEXT_VALIDATIONS = frozenset({"email", "url"})
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class Option(BaseModel):
    id: str
    label: str


class Attribute(BaseModel):
    # Frozen, as ObjectSchema: a schema caches which of its attributes are active.
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    type: AttributeType
    is_required: bool = False
    is_unique: bool = False
    is_archived: bool = False
    validation: list[str] = Field(default_factory=list)
    options: list[Option] = Field(default_factory=list)
    related_object: str | None = None
    currency_code: str | None = None
    display: dict[str, Any] = Field(default_factory=dict)
    # Comes with a standard object (people, companies): it can't be changed or archived.
    is_standard: bool = False

    def option_ids(self) -> set[str]:
        return {option.id for option in self.options}


@dataclass
class AttributeSpec:
    """What a client asks for when it adds an attribute (unchecked)."""

    label: object
    type: object
    is_required: object = False
    is_unique: object = False
    validation: object = field(default_factory=list)
    options: object = field(default_factory=list)
    related_object: object = None
    currency_code: object = None
    display: object = field(default_factory=dict)


@dataclass
class AttributePatch:
    """What a client asks to change on an attribute; None leaves a field as it is."""

    label: object = None
    is_required: object = None
    is_archived: object = None
    options: object = None
    display: object = None


class ObjectSchema(BaseModel):
    """The projection of an object's stream: what it is called and which attributes it has.

    Frozen, with its attributes indexed once: every record write asks for the active
    attributes several times, and rebuilding the list each time cost ~7 µs a record in a
    batch. A changed schema is a new object (the projection's model_copy), indexed anew.
    """

    model_config = ConfigDict(frozen=True)

    workspace: str
    slug: str
    singular_name: str
    plural_name: str
    is_active: bool = True
    is_standard: bool = False
    attributes: list[Attribute] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("_index", None)  # copied along with the fields: rebuild it
        return copied

    @cached_property
    def _index(self) -> _AttributeIndex:
        return _AttributeIndex.of(self.attributes)

    @property
    def stream(self) -> str:
        return object_stream(self.slug)

    def attribute(self, key: str, include_archived: bool = False) -> Attribute | None:
        attribute = self._index.by_key.get(key)
        if attribute is None or (attribute.is_archived and not include_archived):
            return None
        return attribute

    # The lists below are shared: don't change them.

    def active_attributes(self) -> list[Attribute]:
        """The attributes that are not archived, in order."""
        return self._index.active

    def unique_attributes(self) -> list[Attribute]:
        """The isUnique attributes, archived ones too: they keep holding their values."""
        return self._index.unique

    def relation_attributes(self) -> list[Attribute]:
        """The active attributes whose values name records of another object."""
        return self._index.relations

    def required_attributes(self) -> list[Attribute]:
        """The active isRequired attributes."""
        return self._index.required


@dataclass(frozen=True)
class _AttributeIndex:
    active: list[Attribute]
    by_key: dict[str, Attribute]
    unique: list[Attribute]
    relations: list[Attribute]
    required: list[Attribute]

    @classmethod
    def of(cls, attributes: list[Attribute]) -> _AttributeIndex:
        active = [attribute for attribute in attributes if not attribute.is_archived]
        return cls(
            active=active,
            by_key={attribute.key: attribute for attribute in attributes},
            unique=[attribute for attribute in attributes if attribute.is_unique],
            relations=[attribute for attribute in active if attribute.related_object],
            required=[attribute for attribute in active if attribute.is_required],
        )


def object_stream(slug: str) -> str:
    return f"object-{slug}"


def check_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise field_error(
            "slug", "invalid_slug", "slug must be 3-60 characters of a-z, 0-9, '_' and '-'."
        )
    if slug in STANDARD_SLUGS:
        raise Forbidden(f"'{slug}' is a standard object: every workspace has it already.")
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


def _check_label(label: object, field_name: str = "label") -> str:
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
        raise field_error(
            field_name, "invalid_label", f"{field_name} must be a non-empty string of ≤ 255 chars."
        )
    return label.strip()


def _check_flag(value: object, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise field_error(field_name, "invalid_value", f"'{field_name}' must be true or false.")
    return value


def _check_display(display: object) -> dict[str, Any]:
    if not isinstance(display, dict) or len(display) > MAX_DISPLAY_SETTINGS:
        raise field_error(
            "display",
            "invalid_display",
            f"display must be an object of at most {MAX_DISPLAY_SETTINGS} settings.",
        )
    return dict(display)


def _check_options(raw: object, current: list[Option]) -> list[Option]:
    """New option list: an entry with an `id` keeps that option (and may relabel it); an
    entry without one is a new option with a new id; options left out are removed."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise field_error("options", "invalid_options", "options must be a list of {label}.")
    known = {option.id for option in current}
    options, labels = [], set()
    for item in raw:
        unknown = set(item) - {"id", "label"}
        if unknown:
            raise field_error(
                "options",
                "invalid_options",
                f"An option has only id and label, not {sorted(unknown)}.",
            )
        label = _check_label(item.get("label"), "options.label")
        option_id = item.get("id")
        if option_id is not None and option_id not in known:
            raise field_error("options", "unknown_option", f"No option with id {option_id!r}.")
        if label.casefold() in labels:
            raise field_error("options", "duplicate_option", f"Two options are labelled {label!r}.")
        labels.add(label.casefold())
        options.append(Option(id=str(option_id) if option_id else new_id(), label=label))
    return options


def check_attribute_spec(spec: AttributeSpec) -> Attribute:
    """A new attribute from a client's spec (its key is derived later), or a 400."""
    label = _check_label(spec.label)
    try:
        attribute_type = AttributeType(str(spec.type))
    except ValueError:
        attribute_type = None
    if attribute_type not in CREATABLE_TYPES or attribute_type is None:
        choices = ", ".join(sorted(t.value for t in CREATABLE_TYPES))
        raise field_error(
            "type", "invalid_type", f"type must be one of: {choices}; got {spec.type!r}."
        )
    is_required = _check_flag(spec.is_required, "isRequired")
    is_unique = _check_flag(spec.is_unique, "isUnique")
    errors: list[FieldError] = []
    if is_unique and attribute_type not in UNIQUE_CAPABLE_TYPES:
        errors.append(
            FieldError(
                "isUnique", "unique_not_supported", f"A {attribute_type} attribute can't be unique."
            )
        )
    validation = spec.validation
    if not isinstance(validation, list) or not all(isinstance(v, str) for v in validation):
        errors.append(
            FieldError("validation", "invalid_validation", "validation must be a list of strings.")
        )
        validation = []
    elif validation and attribute_type is not AttributeType.TEXT:
        errors.append(
            FieldError("validation", "invalid_validation", "validation applies to text only.")
        )
    elif set(validation) - TEXT_VALIDATIONS:
        unknown = sorted(set(validation) - TEXT_VALIDATIONS)
        errors.append(
            FieldError(
                "validation",
                "invalid_validation",
                f"Unknown validation {unknown}; allowed: email, url.",
            )
        )
    if spec.options and attribute_type not in OPTION_TYPES:
        errors.append(
            FieldError(
                "options", "invalid_options", f"A {attribute_type} attribute has no options."
            )
        )
    related = spec.related_object
    if attribute_type is AttributeType.RELATION:
        if not isinstance(related, str) or not related:
            errors.append(
                FieldError("relation", "invalid_relation", "A relation needs relation.objectSlug.")
            )
    elif related is not None:
        errors.append(
            FieldError("relation", "invalid_relation", "Only a relation attribute has a target.")
        )
    currency = spec.currency_code
    if currency is not None and (
        attribute_type is not AttributeType.CURRENCY
        or not isinstance(currency, str)
        or not CURRENCY_CODE.match(currency)
    ):
        errors.append(
            FieldError(
                "currency",
                "invalid_currency",
                "currency.code is a 3-letter ISO 4217 code, on a currency attribute only.",
            )
        )
    if errors:
        raise ValidationFailed.of(errors)
    return Attribute(
        key="",
        label=label,
        type=attribute_type,
        is_required=is_required,
        is_unique=is_unique,
        validation=sorted(set(validation)),
        options=_check_options(spec.options, []) if attribute_type in OPTION_TYPES else [],
        related_object=related if isinstance(related, str) else None,
        currency_code=currency if isinstance(currency, str) else None,
        display=_check_display(spec.display),
    )


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
    singular, plural = check_names(singular_name, plural_name)
    return object_created(workspace, check_slug(slug), singular, plural, is_active, metadata, now)


def object_created(
    workspace: str,
    slug: str,
    singular_name: str,
    plural_name: str,
    is_active: bool,
    metadata: EventMetadata,
    now: datetime,
    standard_attributes: list[Attribute] | None = None,
) -> Event:
    """ObjectCreated; a standard object comes with its own attributes."""
    data: dict[str, Any] = {
        "slug": slug,
        "singular_name": singular_name,
        "plural_name": plural_name,
        "is_active": is_active,
    }
    if standard_attributes is not None:
        data["is_standard"] = True
        data["attributes"] = [a.model_dump(mode="json") for a in standard_attributes]
    return new_event(
        workspace=workspace,
        stream=object_stream(slug),
        version=1,
        type=EventType.OBJECT_CREATED,
        data=data,
        metadata=metadata,
        now=now,
    )


def decide_update_object(
    schema: ObjectSchema,
    singular_name: object,
    plural_name: object,
    metadata: EventMetadata,
    now: datetime,
) -> list[Event]:
    """Rename an object; None keeps a name. Standard objects can't be renamed."""
    if schema.is_standard:
        raise Forbidden(f"'{schema.slug}' is a standard object; it can't be renamed.")
    singular, plural = check_names(
        schema.singular_name if singular_name is None else singular_name,
        schema.plural_name if plural_name is None else plural_name,
    )
    changes = {
        name: {"old": old, "new": new}
        for name, old, new in (
            ("singular_name", schema.singular_name, singular),
            ("plural_name", schema.plural_name, plural),
        )
        if old != new
    }
    if not changes:
        return []
    return [_object_event(schema, EventType.OBJECT_UPDATED, {"changes": changes}, metadata, now)]


def decide_add_attribute(
    schema: ObjectSchema, spec: AttributeSpec, metadata: EventMetadata, now: datetime
) -> Event:
    checked = check_attribute_spec(spec)
    key = derive_key(checked.label, {a.key for a in schema.attributes})
    attribute = checked.model_copy(update={"key": key})
    data = {"attribute": attribute.model_dump(mode="json")}
    return _object_event(schema, EventType.ATTRIBUTE_ADDED, data, metadata, now)


def decide_update_attribute(
    schema: ObjectSchema,
    key: str,
    patch: AttributePatch,
    metadata: EventMetadata,
    now: datetime,
) -> list[Event]:
    """Change what may change of an attribute (archived ones included); none → no event."""
    attribute = schema.attribute(key, include_archived=True)
    if attribute is None:
        raise NotFound(f"'{schema.slug}' has no attribute '{key}'.")
    if attribute.is_standard:
        raise Forbidden(f"'{key}' is a standard attribute of '{schema.slug}'; it can't change.")
    new: dict[str, Any] = {}
    if patch.label is not None:
        new["label"] = _check_label(patch.label)
    if patch.is_required is not None:
        new["is_required"] = _check_flag(patch.is_required, "isRequired")
    if patch.is_archived is not None:
        new["is_archived"] = _check_flag(patch.is_archived, "isArchived")
    if patch.display is not None:
        new["display"] = _check_display(patch.display)
    if patch.options is not None:
        if attribute.type not in OPTION_TYPES:
            raise field_error(
                "options", "invalid_options", f"A {attribute.type} attribute has no options."
            )
        options = _check_options(patch.options, attribute.options)
        new["options"] = [option.model_dump() for option in options]
    current = attribute.model_dump(mode="json")
    changes = {
        name: {"old": current[name], "new": value}
        for name, value in new.items()
        if current[name] != value
    }
    if not changes:
        return []
    data = {"key": key, "changes": changes}
    return [_object_event(schema, EventType.ATTRIBUTE_UPDATED, data, metadata, now)]


def _object_event(
    schema: ObjectSchema,
    type_: EventType,
    data: dict[str, Any],
    metadata: EventMetadata,
    now: datetime,
) -> Event:
    return new_event(
        workspace=schema.workspace,
        stream=schema.stream,
        version=schema.version + 1,
        type=type_,
        data=data,
        metadata=metadata,
        now=now,
    )
