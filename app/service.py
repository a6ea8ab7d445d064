"""Command and query handlers: the one place where a write happens.

Both transports call these functions, so a REST call and its GraphQL twin always agree.
Each command runs in a store transaction and is rerun from its reads when the store reports
a concurrent write (the lookup-key document, the stream version or a unique key).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.auth import READ, WRITE, Principal
from app.domain import objects as domain_objects
from app.domain import records as domain_records
from app.domain.errors import AlreadyExists, Contention, FieldError, NotFound, UniqueConflict
from app.domain.events import Event, EventMetadata, Source
from app.domain.ids import new_id
from app.domain.objects import Attribute, ObjectSchema
from app.domain.records import RecordState
from app.domain.values import lookup_token, validate_value, validate_values
from app.store.base import Changes, Reader, RecordWrite, Store, Transaction, WriteConflict
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

    def metadata(self) -> EventMetadata:
        return EventMetadata(
            actor_token_id=self.principal.token_id,
            source=self.source,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class AssertResult:
    record: RecordView
    created: bool


def utc_now() -> datetime:
    # Whole seconds: the Zeeg format (`2025-06-01T10:00:00+00:00`), exact in every store.
    return datetime.now(UTC).replace(microsecond=0)


class Service:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self._clock = clock

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

    async def get_object(self, ctx: Context, slug: str) -> ObjectSchema:
        ctx.principal.require(READ)
        return await _existing_object(self.store, ctx.workspace, slug)

    async def add_attribute(
        self,
        ctx: Context,
        slug: str,
        label: object,
        type_: object,
        is_required: bool = False,
        is_unique: bool = False,
        validation: list[str] | None = None,
    ) -> Attribute:
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> Attribute:
            schema = await _existing_object(tx, ctx.workspace, slug)
            event = domain_objects.decide_add_attribute(
                schema,
                label,
                type_,
                is_required,
                is_unique,
                validation or [],
                ctx.metadata(),
                self._clock(),
            )
            updated = object_projection.apply(schema, event)
            await tx.write(Changes(events=[event], objects=[updated]))
            return updated.attributes[-1]

        return await self._run(attempt)

    # ---- records ------------------------------------------------------------------------

    async def assert_record(
        self, ctx: Context, slug: str, matching_key: str | None, body: Mapping[str, object]
    ) -> AssertResult:
        """SPEC section 3: find the record whose attribute equals the value; update or create."""
        ctx.principal.require(WRITE)

        async def attempt(tx: Transaction) -> AssertResult:
            schema = await _existing_object(tx, ctx.workspace, slug)
            attribute = domain_records.matching_attribute(schema, matching_key)
            values = validate_values(schema, body)
            token = lookup_token(attribute, domain_records.matching_value(attribute, values))
            await tx.serialise(
                [record_projection.assert_key(ctx.workspace, slug, attribute.key, token)]
            )
            existing = (await tx.find_first(ctx.workspace, slug, attribute.key, [token])).get(token)
            now, metadata = self._clock(), ctx.metadata()
            if existing is None:
                record_id = new_id()
                events = [domain_records.decide_create(schema, record_id, values, metadata, now)]
            else:
                events = domain_records.decide_update(schema, existing, values, metadata, now)
                if not events:
                    return AssertResult(RecordView.of(schema, existing), created=False)
            record = record_projection.replay(events, existing)
            await tx.write(await _record_changes(tx, schema, existing, record, events))
            return AssertResult(RecordView.of(schema, record), created=existing is None)

        return await self._run(attempt)

    async def get_record(self, ctx: Context, slug: str, record_id: str) -> RecordView:
        ctx.principal.require(READ)
        schema = await _existing_object(self.store, ctx.workspace, slug)
        record = (await self.store.get_records(ctx.workspace, [record_id])).get(record_id)
        if record is None or record.object_slug != schema.slug:
            raise NotFound(f"No record '{record_id}' in '{slug}'.")
        return RecordView.of(schema, record)

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
        token = lookup_token(attribute, checked)
        found = await self.store.find_first(ctx.workspace, slug, attribute.key, [token])
        return RecordView.of(schema, found[token]) if token in found else None

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


async def _existing_object(reader: Reader, workspace: str, slug: str) -> ObjectSchema:
    schema = await reader.get_object(workspace, slug)
    if schema is None:
        raise NotFound(f"No object '{slug}' in this workspace.")
    return schema


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
        records=[RecordWrite(after, record_projection.lookups(schema, after))],
        claimed_keys={key: after.id for key in claimed},
        released_keys=[key for key in old_keys if key not in new_keys],
    )
