"""The working set of a batch assert: store state loaded once, then changed item by item.

`Service.assert_records` owns the transaction; this module decides what each record of the
batch becomes and what the one commit at the end writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain import records as domain_records
from app.domain import standard
from app.domain.errors import DomainError, FieldError, UniqueConflict, field_error
from app.domain.events import Event, EventMetadata
from app.domain.ids import new_id
from app.domain.objects import Attribute, ObjectSchema
from app.domain.records import RecordState
from app.domain.values import lookup_tokens, validate_values
from app.store.base import Changes, RecordWrite, Transaction
from app.views import NOT_APPLIED, BatchItem, RecordView
from projections import records as record_projection

MAX_BATCH = 1000


def not_applied(item: BatchItem) -> BatchItem:
    if item.status >= 400:
        return item
    message = "Not written: another record of this allOrNone batch failed."
    return BatchItem(item.index, NOT_APPLIED, errors=[FieldError(None, "not_applied", message)])


class Batch:
    """The working set of one batch: store state loaded once, then changed item by item."""

    def __init__(
        self, schema: ObjectSchema, attribute: Attribute, metadata: EventMetadata, now: datetime
    ) -> None:
        self.schema, self.attribute, self.metadata, self.now = schema, attribute, metadata, now
        self.states: dict[str, RecordState] = {}  # every record the batch read or wrote
        self.stored: dict[str, RecordState] = {}  # as the store had them
        self.by_token: dict[str, str] = {}  # matching token -> record id
        self.keys_of: dict[str, dict[str, str]] = {}  # record id -> its unique keys, as of now
        self.owners: dict[str, str | None] = {}  # unique key -> owner, as the batch goes
        self.stored_owners: dict[str, str] = {}
        # Records a relation may name: those read for the batch, and (a relation to its own
        # object) those the batch wrote before it.
        self.related: dict[str, RecordState] = {}
        self.events: list[Event] = []
        self.touched: dict[str, None] = {}  # ids of records written, in order

    def parse(self, body: object) -> tuple[dict[str, Any], list[str]] | DomainError:
        """Values and matching tokens of one body, or what is wrong with it."""
        try:
            if not isinstance(body, dict):
                raise field_error(None, "invalid_body", "Each record must be a JSON object.")
            values = validate_values(self.schema, body)
            value = domain_records.matching_value(self.attribute, values)
            return values, lookup_tokens(self.attribute, value)
        except DomainError as error:
            return error

    async def load(self, tx: Transaction, tokens: list[str], values: list[dict[str, Any]]) -> None:
        schema, workspace = self.schema, self.schema.workspace
        found = await tx.find_first(workspace, schema.slug, self.attribute.key, tokens)
        for token, record in found.items():
            self.states[record.id] = record
            self.stored[record.id] = record
            self.by_token[token] = record.id
        keys: set[str] = set()
        if schema.unique_attributes():
            for record in found.values():
                self.keys_of[record.id] = self._unique_keys(record.values)
                keys.update(self.keys_of[record.id])
            for item in values:
                keys.update(self._unique_keys(item))  # `|=` a dict's keys copies the set
        self.stored_owners = await tx.key_owners(sorted(keys)) if keys else {}
        self.owners = dict(self.stored_owners)
        if schema.relation_attributes():
            related_ids = set().union(*(domain_records.relation_ids(schema, v) for v in values))
            self.related = await tx.get_records(workspace, sorted(related_ids))

    def apply(
        self, index: int, parsed: tuple[dict[str, Any], list[str]] | DomainError
    ) -> BatchItem:
        if isinstance(parsed, DomainError):
            return BatchItem(index, parsed.status, errors=parsed.errors)
        values, tokens = parsed
        before = None
        for token in tokens:  # a list value (people's emails): its first known token wins
            if token in self.by_token:
                before = self.states[self.by_token[token]]
                break
        try:
            domain_records.check_relations(self.schema, values, self.related)
            if before is None:
                events = [
                    domain_records.decide_create(
                        self.schema, new_id(), values, self.metadata, self.now
                    )
                ]
            else:
                events = domain_records.decide_update(
                    self.schema, before, values, self.metadata, self.now
                )
                if not events:
                    return BatchItem(index, 200, record=RecordView.of(self.schema, before))
            after = record_projection.replay(events, before)
            standard.check_record(self.schema, after.values)
            self._move_keys(before, after)
        except DomainError as error:
            return BatchItem(index, error.status, errors=error.errors)
        self.states[after.id] = after
        self.related[after.id] = after
        self.touched[after.id] = None
        for token in tokens:
            self.by_token.setdefault(token, after.id)
        self.events += events
        return BatchItem(
            index,
            201 if before is None else 200,
            created=before is None,
            changed=True,
            record=RecordView.of(self.schema, after),
        )

    def _unique_keys(self, values: Mapping[str, Any]) -> dict[str, str]:
        return record_projection.unique_keys_of_values(self.schema, values)

    def _move_keys(self, before: RecordState | None, after: RecordState) -> None:
        if not self.schema.unique_attributes():
            return
        old = self.keys_of.get(before.id, {}) if before else {}
        new = self._unique_keys(after.values)
        if new == old:  # most updates leave the unique values alone
            return
        taken = [
            a for k, a in new.items() if k not in old and self.owners.get(k) not in (None, after.id)
        ]
        if taken:
            raise UniqueConflict.of(
                [
                    FieldError(a, "unique_conflict", f"Another record already has this '{a}'.")
                    for a in taken
                ]
            )
        for key in old:
            if key not in new:
                self.owners[key] = None
        for key in new:
            if key not in old:
                self.owners[key] = after.id
        self.keys_of[after.id] = new

    def _record_write(self, record_id: str) -> RecordWrite:
        state, stored = self.states[record_id], self.stored.get(record_id)
        previous = record_projection.lookups(self.schema, stored) if stored else []
        return RecordWrite(state, record_projection.lookups(self.schema, state), previous)

    def changes(self) -> Changes:
        stored, final = self.stored_owners, self.owners
        return Changes(
            events=self.events,
            records=[self._record_write(record_id) for record_id in self.touched],
            # A key that changes hands is released, then claimed: adapters release first.
            released_keys=[k for k, owner in stored.items() if final.get(k) != owner],
            claimed_keys={k: o for k, o in final.items() if o is not None and stored.get(k) != o},
        )
