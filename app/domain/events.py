"""Event types. Every change to an object, attribute or record is one of these, appended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from app.domain.ids import new_id

Source = Literal["rest", "graphql", "import", "system"]


class EventType(StrEnum):
    OBJECT_CREATED = "ObjectCreated"
    OBJECT_UPDATED = "ObjectUpdated"
    ATTRIBUTE_ADDED = "AttributeAdded"
    ATTRIBUTE_UPDATED = "AttributeUpdated"
    RECORD_CREATED = "RecordCreated"
    RECORD_UPDATED = "RecordUpdated"
    RECORD_DELETED = "RecordDeleted"


# Plain dataclasses rather than pydantic models: a batch builds one event and one state per
# record, and pydantic construction cost ~2-4 µs each there, 10× a dataclass. What a store
# reads back is its own output, decoded by app.store.documents.


@dataclass(slots=True)
class EventMetadata:
    actor_token_id: str | None
    source: Source
    request_id: str
    idempotency_key: str | None = None


@dataclass(slots=True)
class Event:
    """One immutable fact. `position` is the global order, given by the store on append."""

    id: str
    workspace: str
    stream: str
    version: int
    type: EventType
    data: dict[str, Any]
    metadata: EventMetadata
    recorded_at: datetime
    position: int | None = None


def new_event(
    *,
    workspace: str,
    stream: str,
    version: int,
    type: EventType,
    data: dict[str, Any],
    metadata: EventMetadata,
    now: datetime,
) -> Event:
    return Event(
        id=new_id(),
        workspace=workspace,
        stream=stream,
        version=version,
        type=type,
        data=data,
        metadata=metadata,
        recorded_at=now,
    )
