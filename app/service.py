"""Command and query handlers: the one place where a write happens.

Both transports call these functions, so a REST call and its GraphQL twin always agree.
Each command runs in a store transaction and is rerun from its reads when the store reports
a concurrent write (the lookup-key document, the stream version or a unique key).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.auth import READ, WRITE, Principal, issue_token
from app.batch import MAX_BATCH, Batch, not_applied
from app.domain import objects as domain_objects
from app.domain import records as domain_records
from app.domain import standard
from app.domain.errors import (
    AlreadyExists,
    Contention,
    DomainError,
    FieldError,
    IdempotencyConflict,
    NotFound,
    UniqueConflict,
    VersionMismatch,
    field_error,
)
from app.domain.events import Event, EventMetadata, Source
from app.domain.ids import new_id
from app.domain.objects import Attribute, AttributePatch, AttributeSpec, ObjectSchema
from app.domain.records import RecordState
from app.domain.values import lookup_tokens, validate_value, validate_values
from app.store.base import (
    Changes,
    IdempotentCall,
    Reader,
    RecordWrite,
    Store,
    Transaction,
    WriteConflict,
)
from app.views import AssertResult, BatchResult, RecordPage, RecordView, Slice
from projections import objects as object_projection
from projections import records as record_projection

T = TypeVar("T")
MAX_ATTEMPTS = 30


@dataclass(frozen=True)
class Context:
    """One request: who makes it, through which transport, under which request id."""

    principal: Principal
    source: Source
    request_id: str

    @property
    def workspace(self) -> str:
        return self.principal.workspace

    def metadata(self, idempotency_key: str | None = None) -> EventMetadata:
        return EventMetadata(
            actor_token_id=self.principal.token_id,
            source=self.source,
            request_id=self.request_id,
            idempotency_key=idempotency_key,
        )


def utc_now() -> datetime:
    # Whole seconds: the Zeeg format (`2025-06-01T10:00:00+00:00`), exact in every store.
    return datetime.now(UTC).replace(microsecond=0)


class Service:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self._clock = clock

    # ---- workspaces ---------------------------------------------------------------------

    async def register_token(
        self, workspace: str, scopes: Iterable[str], token: str | None = None
    ) -> str:
        """Store a token (a new random one unless given) and return it in clear, once.

        A workspace comes into being with its first token, and with it its standard objects.
        """
        clear, stored = issue_token(workspace, scopes, token)
        await self.open_workspace(workspace)
        await self.store.add_token(stored)
        return clear

    async def open_workspace(self, workspace: str) -> None:
        """Create the standard objects (people, companies) where they are missing."""
        metadata = EventMetadata(actor_token_id=None, source="system", request_id=new_id())

        async def attempt(tx: Transaction) -> None:
            changes = Changes()
            for slug in standard.DEFINITIONS:
                if await tx.get_object(workspace, slug) is None:
                    event = standard.created_event(workspace, slug, metadata, self._clock())
                    changes.events.append(event)
                    changes.objects.append(object_projection.apply(None, event))
            if changes.events:
                await tx.write(changes)

        await self._run(attempt)

    # ---- objects ------------------------------------------------------------------------

    async def create_object(
        self,
        ctx: Context,
        slug: object,
        singular_name: object,
        plural_name: object,
        is_active: bool,
    ) -> ObjectSchema:
        ctx.principal.require(WRITE)
        event = domain_objects.decide_create_object(
            ctx.workspace,
            slug,
            singular_name,
            plural_name,
            is_active,
            ctx.metadata(),
            self._clock(),
        )
        schema = object_projection.apply(None, event)

        async def attempt(tx: Transaction) -> ObjectSchema:
            if await tx.get_object(ctx.workspace, schema.slug) is not None:
                raise AlreadyExists(f"An object with the slug '{schema.slug}' already exists.")
            await tx.write(Changes(events=[event], objects=[schema]))
            return schema

        # A concurrent create of the same slug collides on version 1 of the stream; its rerun
        # then finds the object and answers AlreadyExists.
        return await self._run(attempt)

    async def list_objects(self, ctx: Context) -> list[ObjectSchema]:
        ctx.principal.require(READ)
        return await self.store.list_objects(ctx.workspace)

    async def get_object(self, ctx: Context, slug: str) -> ObjectSchema:
        ctx.principal.require(READ)
        return await _existing_object(self.store, ctx.workspace, slug)

    async def update_object(
        self, ctx: Context, slug: str, singular_name: object, plural_name: object
    ) -> ObjectSchema:
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> ObjectSchema:
            schema = await _existing_object(tx, ctx.workspace, slug)
            events = domain_objects.decide_update_object(
                schema, singular_name, plural_name, ctx.metadata(), self._clock()
            )
            return await _write_object(tx, schema, events)

        return await self._run(attempt)

    async def add_attribute(self, ctx: Context, slug: str, spec: AttributeSpec) -> Attribute:
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> Attribute:
            schema = await _existing_object(tx, ctx.workspace, slug)
            event = domain_objects.decide_add_attribute(schema, spec, ctx.metadata(), self._clock())
            updated = object_projection.apply(schema, event)
            attribute = updated.attributes[-1]
            if attribute.related_object is not None:
                await _existing_object(tx, ctx.workspace, attribute.related_object, "relation")
            await tx.write(Changes(events=[event], objects=[updated]))
            return attribute

        return await self._run(attempt)

    async def update_attribute(
        self, ctx: Context, slug: str, key: str, patch: AttributePatch
    ) -> Attribute:
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> Attribute:
            schema = await _existing_object(tx, ctx.workspace, slug)
            events = domain_objects.decide_update_attribute(
                schema, key, patch, ctx.metadata(), self._clock()
            )
            updated = await _write_object(tx, schema, events)
            attribute = updated.attribute(key, include_archived=True)
            assert attribute is not None
            return attribute

        return await self._run(attempt)

    # ---- record writes ------------------------------------------------------------------

    async def assert_record(
        self,
        ctx: Context,
        slug: str,
        matching_key: str | None,
        body: Mapping[str, object],
        expected_version: int | None = None,
    ) -> AssertResult:
        """SPEC section 3: find the record whose attribute equals the value; update or create.

        With `expected_version`, the matched record must be at that version (0: no record
        may match, so the assert can only create).
        """
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> AssertResult:
            schema = await _existing_object(tx, ctx.workspace, slug)
            key = standard.matching_key(schema, matching_key)
            attribute = domain_records.matching_attribute(schema, key)
            values = validate_values(schema, body)
            value = domain_records.matching_value(attribute, values)
            tokens = lookup_tokens(attribute, value)
            await tx.serialise(
                [
                    record_projection.assert_key(ctx.workspace, slug, attribute.key, t)
                    for t in tokens
                ]
            )
            found = await tx.find_first(ctx.workspace, slug, attribute.key, tokens)
            # For a list (people's emails) the first of the body's values that matches wins.
            existing = next((found[t] for t in tokens if t in found), None)
            _check_version(existing, expected_version)
            if existing is None:
                return AssertResult(await self._create(tx, schema, values, ctx), created=True)
            return AssertResult(await self._update(tx, schema, existing, values, ctx), False)

        return await self._run(attempt)

    async def assert_records(
        self,
        ctx: Context,
        slug: str,
        matching_key: str | None,
        bodies: Sequence[object],
        all_or_none: bool = False,
    ) -> BatchResult:
        """Assert up to MAX_BATCH records in one transaction, in input order.

        Round trips do not grow with the batch: one lookup of every matching value, one read
        of the unique keys and one of the related records involved, one commit. A later
        record with the same matching value as an earlier one updates the same record.
        """
        ctx.principal.require(WRITE)
        if len(bodies) > MAX_BATCH:
            raise field_error(
                "records",
                "too_many_records",
                f"At most {MAX_BATCH} records a batch; got {len(bodies)}.",
            )

        async def attempt(tx: Transaction) -> BatchResult:
            schema = await _existing_object(tx, ctx.workspace, slug)
            attribute = domain_records.matching_attribute(
                schema, standard.matching_key(schema, matching_key)
            )
            batch = Batch(schema, attribute, ctx.metadata(), self._clock())
            parsed = [batch.parse(body) for body in bodies]
            tokens = list(
                dict.fromkeys(t for p in parsed if not isinstance(p, DomainError) for t in p[1])
            )
            await tx.serialise(
                [
                    record_projection.assert_key(ctx.workspace, slug, attribute.key, t)
                    for t in tokens
                ]
            )
            await batch.load(tx, tokens, [p[0] for p in parsed if not isinstance(p, DomainError)])
            items = [batch.apply(index, p) for index, p in enumerate(parsed)]
            if all_or_none and any(item.status >= 400 for item in items):
                return BatchResult([not_applied(item) for item in items], applied=False)
            await tx.write(batch.changes())
            return BatchResult(items, applied=True)

        return await self._run(attempt)

    async def create_record(
        self,
        ctx: Context,
        slug: str,
        body: Mapping[str, object],
        idempotency_key: str | None = None,
    ) -> RecordView:
        """Create a record. With an idempotency key, a repeat of the same request replays the
        first answer, and the same key with another request is a 409."""
        ctx.principal.require(WRITE)
        fingerprint = _fingerprint("create_record", slug, body)
        if idempotency_key is not None:
            _check_idempotency_key(idempotency_key)

        async def attempt(tx: Transaction) -> RecordView:
            if idempotency_key is not None:
                first = await tx.get_idempotent(ctx.workspace, idempotency_key)
                if first is not None:
                    if first.fingerprint != fingerprint:
                        raise IdempotencyConflict(
                            f"The Idempotency-Key '{idempotency_key}' was used for another "
                            "request; use a new key for a new request."
                        )
                    return RecordView.from_json(first.response)
            schema = await _existing_object(tx, ctx.workspace, slug)
            values = validate_values(schema, body)
            return await self._create(tx, schema, values, ctx, idempotency_key, fingerprint)

        return await self._run(attempt)

    async def update_record(
        self,
        ctx: Context,
        slug: str,
        record_id: str,
        body: Mapping[str, object],
        expected_version: int | None = None,
    ) -> RecordView:
        """A partial update: only the given attributes change."""
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> RecordView:
            schema = await _existing_object(tx, ctx.workspace, slug)
            values = validate_values(schema, body)
            record = await _existing_record(tx, schema, record_id)
            _check_version(record, expected_version)
            return await self._update(tx, schema, record, values, ctx)

        return await self._run(attempt)

    async def update_relation(
        self,
        ctx: Context,
        slug: str,
        record_id: str,
        attribute_key: object,
        add: object,
        remove: object,
        expected_version: int | None = None,
    ) -> RecordView:
        """Add and remove ids of a relation or user attribute, leaving the others."""
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> RecordView:
            schema = await _existing_object(tx, ctx.workspace, slug)
            attribute = domain_records.relation_attribute(schema, attribute_key)
            added = validate_value(attribute, add if add is not None else [])
            removed = validate_value(attribute, remove if remove is not None else [])
            record = await _existing_record(tx, schema, record_id)
            _check_version(record, expected_version)
            current = record.values.get(attribute.key)
            ids = domain_records.changed_list(current, added, removed)
            return await self._update(tx, schema, record, {attribute.key: ids}, ctx)

        return await self._run(attempt)

    async def delete_record(
        self, ctx: Context, slug: str, record_id: str, expected_version: int | None = None
    ) -> None:
        """RecordDeleted; its keys are released and other records stop pointing at it."""
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> None:
            schema = await _existing_object(tx, ctx.workspace, slug)
            record = await _existing_record(tx, schema, record_id)
            _check_version(record, expected_version)
            now, metadata = self._clock(), ctx.metadata()
            changes = Changes(
                events=[domain_records.decide_delete(record, metadata, now)],
                released_keys=list(record_projection.unique_keys(schema, record)),
                deleted_records=[RecordWrite(record, record_projection.lookups(schema, record))],
            )
            for other_schema, holder in await _relations_to(tx, schema, record.id):
                attribute = next(a for a in other_schema.attributes if a.related_object == slug)
                ids = domain_records.changed_list(holder.values.get(attribute.key), [], [record.id])
                events = domain_records.decide_update(
                    other_schema, holder, {attribute.key: ids}, metadata, now
                )
                after = record_projection.replay(events, holder)
                changes.events += events
                changes.records.append(
                    RecordWrite(
                        after,
                        record_projection.lookups(other_schema, after),
                        record_projection.lookups(other_schema, holder),
                    )
                )
            await tx.write(changes)

        await self._run(attempt)

    async def _create(
        self,
        tx: Transaction,
        schema: ObjectSchema,
        values: dict[str, Any],
        ctx: Context,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> RecordView:
        await _check_relations(tx, schema, values)
        event = domain_records.decide_create(
            schema, new_id(), values, ctx.metadata(idempotency_key), self._clock()
        )
        record = record_projection.apply(None, event)
        standard.check_record(schema, record.values)
        changes = await _record_changes(tx, schema, None, record, [event])
        view = RecordView.of(schema, record)
        if idempotency_key is not None:
            changes.idempotent = IdempotentCall(
                ctx.workspace, idempotency_key, fingerprint, 201, view.to_json()
            )
        await tx.write(changes)
        return view

    async def _update(
        self,
        tx: Transaction,
        schema: ObjectSchema,
        record: RecordState,
        values: dict[str, Any],
        ctx: Context,
    ) -> RecordView:
        events = domain_records.decide_update(schema, record, values, ctx.metadata(), self._clock())
        if not events:  # rule 7: nothing changes, nothing is written
            return RecordView.of(schema, record)
        await _check_relations(
            tx, schema, {k: c["new"] for k, c in events[0].data["changes"].items()}
        )
        after = record_projection.replay(events, record)
        standard.check_record(schema, after.values)
        await tx.write(await _record_changes(tx, schema, record, after, events))
        return RecordView.of(schema, after)

    # ---- record reads -------------------------------------------------------------------

    async def get_record(self, ctx: Context, slug: str, record_id: str) -> RecordView:
        ctx.principal.require(READ)
        schema = await _existing_object(self.store, ctx.workspace, slug)
        return RecordView.of(schema, await _existing_record(self.store, schema, record_id))

    async def find_record(
        self, ctx: Context, slug: str, attribute_key: str, value: object
    ) -> RecordView | None:
        """The record an assert on (attribute, value) would match, or None."""
        ctx.principal.require(READ)
        schema = await _existing_object(self.store, ctx.workspace, slug)
        attribute = domain_records.matching_attribute(schema, attribute_key)
        checked = domain_records.matching_value(
            attribute, {attribute.key: validate_value(attribute, value)}
        )
        tokens = lookup_tokens(attribute, checked)
        found = await self.store.find_first(ctx.workspace, slug, attribute.key, tokens)
        first = next((found[t] for t in tokens if t in found), None)
        return RecordView.of(schema, first) if first else None

    async def list_records(self, ctx: Context, slug: str, count: int, page: int) -> RecordPage:
        """Zeeg pagination: page numbers from 1, in creation order."""
        ctx.principal.require(READ)
        schema = await _existing_object(self.store, ctx.workspace, slug)
        records, total = await self.store.page_records(
            ctx.workspace, slug, (page - 1) * count, count
        )
        return RecordPage([RecordView.of(schema, r) for r in records], total)

    async def records_after(self, ctx: Context, slug: str, after: int, first: int) -> Slice:
        ctx.principal.require(READ)
        schema = await _existing_object(self.store, ctx.workspace, slug)
        rows = await self.store.records_after(ctx.workspace, slug, after, first + 1)
        _, total = await self.store.page_records(ctx.workspace, slug, 0, 0)
        edges = [(position, RecordView.of(schema, r)) for position, r in rows[:first]]
        return Slice(edges, has_next_page=len(rows) > first, total=total)

    async def history(self, ctx: Context, slug: str, record_id: str) -> list[Event]:
        """The record's events, newest first."""
        ctx.principal.require(READ)
        schema = await _existing_object(self.store, ctx.workspace, slug)
        record = await _existing_record(self.store, schema, record_id)
        return list(reversed(await self.store.read_stream(ctx.workspace, record.stream)))

    # ---- plumbing -----------------------------------------------------------------------

    async def _run(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self.store.transaction() as tx:
                    return await work(tx)
            except WriteConflict:
                # Jittered, growing pause so that the retrying writers don't collide again.
                await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise Contention("Too many concurrent writes to the same record; retry the request.")


MAX_IDEMPOTENCY_KEY = 255


def _check_idempotency_key(key: str) -> None:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise field_error(
            "Idempotency-Key",
            "invalid_idempotency_key",
            f"An idempotency key is 1-{MAX_IDEMPOTENCY_KEY} printable characters.",
        )


def _fingerprint(operation: str, slug: str, body: Mapping[str, object]) -> str:
    """The same request gives the same fingerprint, whatever the order of its keys."""
    canonical = json.dumps([operation, slug, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_version(record: RecordState | None, expected: int | None) -> None:
    """Optimistic concurrency: 0 means "no record yet"; None checks nothing."""
    if expected is None:
        return
    current = record.version if record is not None else None
    if (current or 0) != expected:
        raise VersionMismatch(expected, current)


async def _existing_object(
    reader: Reader, workspace: str, slug: str, field: str | None = None
) -> ObjectSchema:
    schema = await reader.get_object(workspace, slug)
    if schema is None:
        if field:  # the object is named inside the request, so the request is wrong: a 400
            raise field_error(field, "unknown_object", f"No object '{slug}' in this workspace.")
        raise NotFound(f"No object '{slug}' in this workspace.")
    return schema


async def _existing_record(reader: Reader, schema: ObjectSchema, record_id: str) -> RecordState:
    record = (await reader.get_records(schema.workspace, [record_id])).get(record_id)
    if record is None or record.object_slug != schema.slug:
        raise NotFound(f"No record '{record_id}' in '{schema.slug}'.")
    return record


async def _write_object(tx: Transaction, schema: ObjectSchema, events: list[Event]) -> ObjectSchema:
    if not events:
        return schema
    updated = object_projection.replay(events, schema)
    await tx.write(Changes(events=events, objects=[updated]))
    return updated


async def _check_relations(
    tx: Transaction, schema: ObjectSchema, values: Mapping[str, Any]
) -> None:
    """Relation values must name existing records of the related object: one read."""
    ids = domain_records.relation_ids(schema, values)
    if ids:
        known = await tx.get_records(schema.workspace, sorted(ids))
        domain_records.check_relations(schema, values, known)


async def _relations_to(
    tx: Transaction, schema: ObjectSchema, record_id: str
) -> list[tuple[ObjectSchema, RecordState]]:
    """The records of any object whose relation attributes point at this record."""
    holders = []
    for other in await tx.list_objects(schema.workspace):
        for attribute in other.attributes:
            if attribute.related_object == schema.slug:
                for holder in await tx.find_holders(
                    schema.workspace, other.slug, attribute.key, record_id
                ):
                    holders.append((other, holder))
    return holders


async def _record_changes(
    tx: Transaction,
    schema: ObjectSchema,
    before: RecordState | None,
    after: RecordState,
    events: list[Event],
) -> Changes:
    """The projection writes for a record's new state; refuses a unique value held elsewhere."""
    old_keys = record_projection.unique_keys(schema, before) if before else {}
    new_keys = record_projection.unique_keys(schema, after)
    claimed = {key: attr for key, attr in new_keys.items() if key not in old_keys}
    owners = await tx.key_owners(list(claimed))
    taken = [claimed[key] for key, owner in owners.items() if owner != after.id]
    if taken:
        raise UniqueConflict.of(
            [
                FieldError(attr, "unique_conflict", f"Another record already has this '{attr}'.")
                for attr in taken
            ]
        )
    return Changes(
        events=events,
        records=[
            RecordWrite(
                after,
                record_projection.lookups(schema, after),
                record_projection.lookups(schema, before) if before else [],
            )
        ],
        claimed_keys={key: after.id for key in claimed},
        released_keys=[key for key in old_keys if key not in new_keys],
    )
