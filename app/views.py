"""What the service answers: records as clients see them, and results of batches and pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.errors import FieldError
from app.domain.objects import ObjectSchema
from app.domain.records import RecordState

# A batch item that was fine but not written, because allOrNone met an error elsewhere.
NOT_APPLIED = 424

# RecordView and BatchItem are built once per record of a batch: slotted, not frozen, since
# a frozen dataclass costs three times as much to build. Nothing changes them once built.


@dataclass(slots=True)
class RecordView:
    """A record as clients see it: every non-archived attribute, null when unset."""

    id: str
    object_slug: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, schema: ObjectSchema, state: RecordState) -> RecordView:
        return cls(
            id=state.id,
            object_slug=state.object_slug,
            attributes={a.key: state.values.get(a.key) for a in schema.active_attributes()},
            created_at=state.created_at,
            updated_at=state.updated_at,
            version=state.version,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object_slug": self.object_slug,
            "attributes": self.attributes,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordView:
        return cls(
            id=data["id"],
            object_slug=data["object_slug"],
            attributes=dict(data["attributes"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            version=data["version"],
        )


@dataclass(frozen=True)
class AssertResult:
    record: RecordView
    created: bool


@dataclass(slots=True)
class BatchItem:
    """One record of a batch assert: 201/200 with the record, or a status with errors."""

    index: int
    status: int
    created: bool = False
    changed: bool = False
    record: RecordView | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class BatchResult:
    items: list[BatchItem]
    applied: bool  # False when allOrNone met an error and nothing was written

    @property
    def totals(self) -> dict[str, int]:
        ok = [item for item in self.items if item.status < 300] if self.applied else []
        return {
            "created": sum(item.created for item in ok),
            "updated": sum(item.changed and not item.created for item in ok),
            "unchanged": sum(not item.changed for item in ok),
            "failed": sum(item.status >= 400 and item.status != NOT_APPLIED for item in self.items),
        }


@dataclass(frozen=True)
class RecordPage:
    records: list[RecordView]
    total: int


@dataclass(frozen=True)
class Slice:
    """A Relay-style slice: records after a cursor position, with theirs."""

    edges: list[tuple[int, RecordView]]
    has_next_page: bool
    total: int
