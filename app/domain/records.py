"""The record decisions: given the current state and a command, which events happen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, field_error
from app.domain.events import Event, EventMetadata, EventType, new_event
from app.domain.objects import LIST_TYPES, SYSTEM_ATTRIBUTES, Attribute, AttributeType, ObjectSchema


@dataclass(slots=True)
class RecordState:
    """The projection of a record's stream (a dataclass for the reason in domain.events)."""

    id: str
    workspace: str
    object_slug: str
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def stream(self) -> str:
        return record_stream(self.id)


def record_stream(record_id: str) -> str:
    return f"record-{record_id}"


def matching_attribute(schema: ObjectSchema, key: str | None) -> Attribute:
    """Assert rule 1: `matchingAttribute` is required and names a non-system attribute."""
    if not key:
        raise field_error(
            "matchingAttribute",
            "missing_matching_attribute",
            "The query parameter matchingAttribute is required.",
        )
    if key in SYSTEM_ATTRIBUTES:
        raise field_error(
            "matchingAttribute",
            "invalid_matching_attribute",
            f"'{key}' is a system attribute and can't be used to match records.",
        )
    attribute = schema.attribute(key)
    if attribute is None:
        raise field_error(
            "matchingAttribute",
            "unknown_matching_attribute",
            f"'{key}' is not an attribute of '{schema.slug}'.",
        )
    if attribute.type in LIST_TYPES and attribute.type is not AttributeType.EMAILS:
        raise field_error(
            "matchingAttribute",
            "invalid_matching_attribute",
            f"'{key}' holds a list ({attribute.type}); match on a single-valued attribute.",
        )
    return attribute


def relation_attribute(schema: ObjectSchema, key: object) -> Attribute:
    """The relation or user attribute a relation change names."""
    attribute = schema.attribute(key) if isinstance(key, str) else None
    if attribute is None or attribute.type not in (AttributeType.RELATION, AttributeType.USER):
        raise field_error(
            "attributeSlug",
            "invalid_relation_attribute",
            f"attributeSlug must name a relation or user attribute of '{schema.slug}'; "
            f"got {key!r}.",
        )
    return attribute


def matching_value(attribute: Attribute, values: Mapping[str, Any]) -> Any:
    """Assert rule 2: the body holds a non-null, non-empty value for the matching attribute."""
    value = values.get(attribute.key)
    if value is None or value == "" or value == []:
        raise field_error(
            attribute.key,
            "missing_matching_value",
            f"The body must hold a non-empty value for the matching attribute '{attribute.key}'.",
        )
    return value


def _check_required(schema: ObjectSchema, values: Mapping[str, Any], creating: bool) -> None:
    required = schema.required_attributes()
    if not required:  # most objects: a batch calls this once a record
        return
    errors = [
        FieldError(a.key, "required", f"'{a.key}' is required and can't be null.")
        for a in required
        if (a.key in values or creating) and values.get(a.key) is None
    ]
    if errors:
        raise ValidationFailed.of(errors)


def decide_create(
    schema: ObjectSchema,
    record_id: str,
    values: Mapping[str, Any],
    metadata: EventMetadata,
    now: datetime,
) -> Event:
    """Assert rule 5 for creates: every attribute missing from the body starts as null."""
    _check_required(schema, values, creating=True)
    attributes = {a.key: values.get(a.key) for a in schema.active_attributes()}
    return new_event(
        workspace=schema.workspace,
        stream=record_stream(record_id),
        version=1,
        type=EventType.RECORD_CREATED,
        data={"object_slug": schema.slug, "attributes": attributes},
        metadata=metadata,
        now=now,
    )


def decide_update(
    schema: ObjectSchema,
    state: RecordState,
    values: Mapping[str, Any],
    metadata: EventMetadata,
    now: datetime,
) -> list[Event]:
    """Rules 5 and 7: only the given attributes change, and no change means no event."""
    _check_required(schema, values, creating=False)
    changes = {
        key: {"old": state.values.get(key), "new": value}
        for key, value in values.items()
        if state.values.get(key) != value
    }
    if not changes:
        return []
    return [
        new_event(
            workspace=state.workspace,
            stream=state.stream,
            version=state.version + 1,
            type=EventType.RECORD_UPDATED,
            data={"changes": changes},
            metadata=metadata,
            now=now,
        )
    ]


def decide_delete(state: RecordState, metadata: EventMetadata, now: datetime) -> Event:
    return new_event(
        workspace=state.workspace,
        stream=state.stream,
        version=state.version + 1,
        type=EventType.RECORD_DELETED,
        data={"object_slug": state.object_slug},
        metadata=metadata,
        now=now,
    )


def changed_list(current: object, add: list[str], remove: list[str]) -> list[str]:
    """A relation's ids after adding and removing some; the order of the kept ones stays."""
    ids = [item for item in (current if isinstance(current, list) else []) if item not in remove]
    return ids + [item for item in dict.fromkeys(add) if item not in ids and item not in remove]


def relation_ids(schema: ObjectSchema, values: Mapping[str, Any]) -> set[str]:
    """Every record id the relation values name."""
    return {
        record_id
        for attribute in schema.relation_attributes()
        if values.get(attribute.key)
        for record_id in values[attribute.key]
    }


def check_relations(
    schema: ObjectSchema, values: Mapping[str, Any], known: Mapping[str, RecordState]
) -> None:
    """Relation values must name existing records (among `known`) of the related object."""
    errors = []
    for attribute in schema.relation_attributes():
        target, ids = attribute.related_object, values.get(attribute.key)
        if not target or not ids:
            continue
        missing = [i for i in ids if i not in known or known[i].object_slug != target]
        if missing:
            errors.append(
                FieldError(
                    attribute.key,
                    "invalid_value",
                    f"'{attribute.key}' (relation): no record {', '.join(missing)} in '{target}'.",
                )
            )
    if errors:
        raise ValidationFailed.of(errors)
