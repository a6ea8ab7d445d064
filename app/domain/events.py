"""Event types. Every change to an object, attribute or record is one of these, appended."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

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


class EventMetadata(BaseModel):
    actor_token_id: str | None
    source: Source
    request_id: str
    idempotency_key: str | None = None


class Event(BaseModel):
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
