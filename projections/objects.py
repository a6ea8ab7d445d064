"""The objects projection: an object's schema is the fold of its stream."""

from __future__ import annotations

from collections.abc import Iterable

from app.domain.events import Event, EventType
from app.domain.objects import Attribute, ObjectSchema


def apply(schema: ObjectSchema | None, event: Event) -> ObjectSchema:
    if event.type is EventType.OBJECT_CREATED:
        return ObjectSchema(
            workspace=event.workspace,
            slug=event.data["slug"],
            singular_name=event.data["singular_name"],
            plural_name=event.data["plural_name"],
            is_active=event.data["is_active"],
            is_standard=event.data.get("is_standard", False),
            attributes=[Attribute.model_validate(a) for a in event.data.get("attributes", [])],
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
            version=event.version,
        )
    if schema is None:
        raise ValueError(f"{event.type} before ObjectCreated in {event.stream}")
    touched = {"updated_at": event.recorded_at, "version": event.version}
    if event.type is EventType.OBJECT_UPDATED:
        names = {name: change["new"] for name, change in event.data["changes"].items()}
        return schema.model_copy(update={**names, **touched})
    if event.type is EventType.ATTRIBUTE_ADDED:
        attribute = Attribute.model_validate(event.data["attribute"])
        return schema.model_copy(update={"attributes": [*schema.attributes, attribute], **touched})
    if event.type is EventType.ATTRIBUTE_UPDATED:
        key = event.data["key"]
        changed = {name: change["new"] for name, change in event.data["changes"].items()}
        attributes = [
            Attribute.model_validate({**a.model_dump(mode="json"), **changed})
            if a.key == key
            else a
            for a in schema.attributes
        ]
        return schema.model_copy(update={"attributes": attributes, **touched})
    raise ValueError(f"{event.type} is not an object event")


def replay(events: Iterable[Event], schema: ObjectSchema | None = None) -> ObjectSchema:
    for event in events:
        schema = apply(schema, event)
    if schema is None:
        raise ValueError("an object stream can't be empty")
    return schema
