"""The records projection and the lookup keys that answer matchingAttribute queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.domain.events import Event, EventType
from app.domain.objects import ObjectSchema
from app.domain.records import RecordState
from app.domain.values import lookup_token, lookup_tokens

# One (attribute key, exact value token) pair a record can be found by. A plain tuple: a
# batch builds several a record and stores compare them as sets; a NamedTuple cost ten
# times as much to build (its __new__ is a Python function), a frozen dataclass more.
Lookup = tuple[str, str]


def apply(state: RecordState | None, event: Event) -> RecordState:
    if event.type is EventType.RECORD_CREATED:
        return RecordState(
            id=event.stream.removeprefix("record-"),
            workspace=event.workspace,
            object_slug=event.data["object_slug"],
            values=dict(event.data["attributes"]),
            created_at=event.recorded_at,
            updated_at=event.recorded_at,
            version=event.version,
        )
    if state is None:
        raise ValueError(f"{event.type} before RecordCreated in {event.stream}")
    if event.type is EventType.RECORD_UPDATED:
        changed = {key: change["new"] for key, change in event.data["changes"].items()}
        return RecordState(
            id=state.id,
            workspace=state.workspace,
            object_slug=state.object_slug,
            values={**state.values, **changed},
            created_at=state.created_at,
            updated_at=event.recorded_at,
            version=event.version,
        )
    raise ValueError(f"{event.type} is not a record event")


def replay(events: Iterable[Event], state: RecordState | None = None) -> RecordState:
    """The state after these events; a deleted record's state is its last one before."""
    for event in events:
        if event.type is not EventType.RECORD_DELETED:
            state = apply(state, event)
    if state is None:
        raise ValueError("a record stream can't be empty")
    return state


def lookups(schema: ObjectSchema, state: RecordState) -> list[Lookup]:
    """Every non-null value of the record, so any attribute can match in an assert.

    Archived attributes stay indexed (and their unique values held): unarchiving one then
    needs no rewrite of every record.
    """
    found: list[Lookup] = []
    values = state.values
    for attribute in schema.attributes:
        value = values.get(attribute.key)
        if value is not None:
            for token in lookup_tokens(attribute, value):
                found.append((attribute.key, token))
    return found


def unique_key(workspace: str, object_slug: str, attribute: str, token: str) -> str:
    return f"unique|{workspace}|{object_slug}|{attribute}|{token}"


def assert_key(workspace: str, object_slug: str, attribute: str, token: str) -> str:
    """The document every assert on one value writes, so concurrent asserts on it serialise."""
    return f"assert|{workspace}|{object_slug}|{attribute}|{token}"


def unique_keys(schema: ObjectSchema, state: RecordState) -> dict[str, str]:
    """Unique key -> attribute, for each non-null value of an isUnique attribute."""
    return unique_keys_of_values(schema, state.values)


def unique_keys_of_values(schema: ObjectSchema, values: Mapping[str, Any]) -> dict[str, str]:
    """Unique key -> attribute of these values (most objects have no unique attribute)."""
    keys = {}
    for attribute in schema.unique_attributes():
        value = values.get(attribute.key)
        if value is not None:
            token = lookup_token(attribute, value)
            keys[unique_key(schema.workspace, schema.slug, attribute.key, token)] = attribute.key
    return keys
