"""MongoDB adapter of the store port (pymongo's AsyncMongoClient; mongomock-motor for memory://).

Layout: `events` (the append-only log), `records` (the inline projection, with a `lookup`
array of {a: attribute, v: token} behind one multikey index, so any attribute can be matched
without an index per attribute), `record_keys` (one document per held unique value and per
asserted value), `objects`, `tokens`, and `counters` (the global event position).

The calls stay in the subset that both pymongo's async client and mongomock-motor offer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.domain.events import Event
from app.domain.objects import ObjectSchema
from app.domain.records import RecordState
from app.store import documents
from app.store.base import (
    Changes,
    IdempotentCall,
    RecordWrite,
    StoreUnavailable,
    Token,
    WriteConflict,
)
from app.store.documents import Document

DUPLICATE_KEY = 11000


def _event_document(event: Event) -> Document:
    document = documents.document(event)
    document["_id"] = document.pop("id")
    return document


def _event(document: Document) -> Event:
    return documents.event_of(
        document,
        document["_id"],
        document["workspace"],
        document["stream"],
        document["version"],
        document.get("position"),
    )


def _record(document: Document) -> RecordState:
    return documents.record_of(
        document, document["_id"], document["workspace"], document["object_slug"]
    )


def _object(document: Document) -> ObjectSchema:
    return ObjectSchema.model_validate(document)


def _is_duplicate_key(error: PyMongoError) -> bool:
    """insert_many reports a duplicate key as a BulkWriteError holding code 11000."""
    if isinstance(error, DuplicateKeyError):
        return True
    details = getattr(error, "details", None) or {}
    return any(e.get("code") == DUPLICATE_KEY for e in details.get("writeErrors", []))


def _object_id(workspace: str, slug: str) -> str:
    return f"{workspace}|{slug}"


class MongoReader:
    """Reads, inside a transaction when `session` is given, else on their own."""

    def __init__(self, database: Any, session: Any = None) -> None:
        self._db = database
        self._session = session

    async def get_object(self, workspace: str, slug: str) -> ObjectSchema | None:
        document = await self._db.objects.find_one(
            {"_id": _object_id(workspace, slug)}, session=self._session
        )
        return None if document is None else _object(document)

    async def list_objects(self, workspace: str) -> list[ObjectSchema]:
        cursor = self._db.objects.find({"workspace": workspace}, session=self._session)
        return [_object(d) for d in await cursor.sort("slug", ASCENDING).to_list(None)]

    async def find_holders(
        self, workspace: str, object_slug: str, attribute: str, token: str
    ) -> list[RecordState]:
        query = {
            "workspace": workspace,
            "object_slug": object_slug,
            "lookup": {"$elemMatch": {"a": attribute, "v": token}},
        }
        cursor = self._db.records.find(query, session=self._session).sort("seq", ASCENDING)
        return [_record(document) for document in await cursor.to_list(None)]

    async def page_records(
        self, workspace: str, object_slug: str, offset: int, limit: int
    ) -> tuple[list[RecordState], int]:
        # A skip over the index: pages far from the start cost more here. The SQLite
        # adapter counts records per bucket instead; MongoDB has no such counts yet.
        query = {"workspace": workspace, "object_slug": object_slug}
        total = await self._db.records.count_documents(query, session=self._session)
        if limit <= 0:  # in MongoDB limit(0) means "no limit", not "none"
            return [], int(total)
        cursor = (
            self._db.records.find(query, session=self._session)
            .sort("seq", ASCENDING)
            .skip(offset)
            .limit(limit)
        )
        return [_record(document) for document in await cursor.to_list(None)], int(total)

    async def records_after(
        self, workspace: str, object_slug: str, after: int, limit: int
    ) -> list[tuple[int, RecordState]]:
        query = {"workspace": workspace, "object_slug": object_slug, "seq": {"$gt": after}}
        cursor = (
            self._db.records.find(query, session=self._session).sort("seq", ASCENDING).limit(limit)
        )
        return [(int(d["seq"]), _record(d)) for d in await cursor.to_list(None)]

    async def get_records(self, workspace: str, ids: Sequence[str]) -> dict[str, RecordState]:
        cursor = self._db.records.find(
            {"_id": {"$in": list(ids)}, "workspace": workspace}, session=self._session
        )
        return {document["_id"]: _record(document) for document in await cursor.to_list(None)}

    async def find_first(
        self, workspace: str, object_slug: str, attribute: str, tokens: Sequence[str]
    ) -> dict[str, RecordState]:
        query = {
            "workspace": workspace,
            "object_slug": object_slug,
            "lookup": {"$elemMatch": {"a": attribute, "v": {"$in": list(tokens)}}},
        }
        cursor = self._db.records.find(query, session=self._session).sort("seq", ASCENDING)
        if len(tokens) == 1:
            cursor = cursor.limit(1)
        wanted = set(tokens)
        first: dict[str, RecordState] = {}
        for document in await cursor.to_list(None):
            for entry in document["lookup"]:
                token = entry["v"]
                if entry["a"] == attribute and token in wanted and token not in first:
                    first[token] = _record(document)
        return first

    async def key_owners(self, keys: Sequence[str]) -> dict[str, str]:
        cursor = self._db.record_keys.find(
            {"_id": {"$in": list(keys)}, "record_id": {"$exists": True}}, session=self._session
        )
        return {document["_id"]: document["record_id"] for document in await cursor.to_list(None)}

    async def get_idempotent(self, workspace: str, key: str) -> IdempotentCall | None:
        document = await self._db.idempotency.find_one(
            {"_id": f"{workspace}|{key}"}, session=self._session
        )
        if document is None:
            return None
        return IdempotentCall(
            workspace, key, document["fingerprint"], document["status"], document["response"]
        )

    async def read_stream(self, workspace: str, stream: str) -> list[Event]:
        cursor = self._db.events.find(
            {"workspace": workspace, "stream": stream}, session=self._session
        ).sort("version", ASCENDING)
        return [_event(document) for document in await cursor.to_list(None)]

    async def read_log(self, after_position: int, limit: int) -> list[Event]:
        cursor = (
            self._db.events.find({"position": {"$gt": after_position}}, session=self._session)
            .sort("position", ASCENDING)
            .limit(limit)
        )
        return [_event(document) for document in await cursor.to_list(None)]


class MongoTransaction(MongoReader):
    async def serialise(self, keys: Sequence[str]) -> None:
        # In a transaction, a second writer of the same document gets a WriteConflict.
        # Set-based: one read, one update of those that exist, one insert of the others.
        if not keys:
            return
        keys_collection = self._db.record_keys
        cursor = keys_collection.find(
            {"_id": {"$in": list(keys)}}, {"_id": 1}, session=self._session
        )
        existing = {document["_id"] for document in await cursor.to_list(None)}
        if existing:
            await keys_collection.update_many(
                {"_id": {"$in": sorted(existing)}}, {"$inc": {"writes": 1}}, session=self._session
            )
        missing = [{"_id": key, "writes": 1} for key in keys if key not in existing]
        try:
            if missing:
                await keys_collection.insert_many(missing, session=self._session)
        except (DuplicateKeyError, BulkWriteError) as error:
            raise WriteConflict(str(error)) from error

    async def write(self, changes: Changes) -> None:
        positions = await self._allocate_positions(len(changes.events))
        for event, position in zip(changes.events, positions, strict=True):
            event.position = position
        claims = [{"_id": k, "record_id": r} for k, r in changes.claimed_keys.items()]
        # Releases first: within a batch a unique value can pass from one record to another.
        if changes.released_keys:
            await self._db.record_keys.delete_many(
                {"_id": {"$in": changes.released_keys}}, session=self._session
            )
        call, stored_call = changes.idempotent, False
        try:
            # The inserts that can collide go next, before anything is overwritten.
            if call:
                await self._db.idempotency.insert_one(
                    {
                        "_id": f"{call.workspace}|{call.key}",
                        "fingerprint": call.fingerprint,
                        "status": call.status,
                        "response": call.response,
                    },
                    session=self._session,
                )
                stored_call = True
            if claims:
                await self._db.record_keys.insert_many(claims, session=self._session)
            if changes.events:
                await self._db.events.insert_many(
                    [_event_document(e) for e in changes.events], session=self._session
                )
        except (DuplicateKeyError, BulkWriteError) as error:
            if not _is_duplicate_key(error):
                raise
            if self._session is None:
                await self._undo_inserts(claims, changes.events, call if stored_call else None)
            raise WriteConflict(str(error)) from error
        created_at = {e.stream: e.position for e in changes.events if e.version == 1 and e.position}
        await self._write_records(changes.records, created_at)
        if changes.deleted_records:
            await self._db.records.delete_many(
                {"_id": {"$in": [r.state.id for r in changes.deleted_records]}},
                session=self._session,
            )
        for schema in changes.objects:
            document = schema.model_dump(mode="json")
            await self._db.objects.replace_one(
                {"_id": _object_id(schema.workspace, schema.slug)},
                document,
                upsert=True,
                session=self._session,
            )

    async def _undo_inserts(
        self, claims: list[Document], events: list[Event], call: IdempotentCall | None
    ) -> None:
        """Without a transaction (mongomock), take back what a colliding commit inserted."""
        if call:  # given only when this commit stored it
            await self._db.idempotency.delete_one({"_id": f"{call.workspace}|{call.key}"})
        for claim in claims:  # only our own claims: a colliding owner has another record id
            await self._db.record_keys.delete_one(claim)
        await self._db.events.delete_many({"_id": {"$in": [e.id for e in events]}})

    async def _write_records(
        self, writes: Sequence[RecordWrite], created_at: Mapping[str, int | None]
    ) -> None:
        new: list[Document] = []
        updates: list[tuple[Document, Document]] = []  # (filter, update)
        for write in writes:
            document = documents.document(write.state)
            document["_id"] = document.pop("id")
            document["lookup"] = [
                {"a": attribute, "v": token} for attribute, token in write.lookups
            ]
            seq = created_at.get(write.state.stream)
            if seq is not None:
                # The position of RecordCreated: the creation order that assert rule 4 needs.
                new.append({**document, "seq": seq})
            else:
                del document["created_at"]
                updates.append(({"_id": document.pop("_id")}, {"$set": document}))
        if new:
            await self._db.records.insert_many(new, session=self._session)
        if updates and self._session is not None:
            operations = [UpdateOne(match, change) for match, change in updates]
            await self._db.records.bulk_write(operations, ordered=False, session=self._session)
        else:
            # mongomock's bulk_write refuses pymongo's UpdateOne (TypeError): one at a time.
            for match, change in updates:
                await self._db.records.update_one(match, change, session=self._session)

    async def _allocate_positions(self, count: int) -> range:
        if count == 0:
            return range(0)
        # Outside the transaction on purpose: a shared counter inside it would make every
        # pair of concurrent writes conflict. Positions may therefore commit out of order.
        counter = await self._db.counters.find_one_and_update(
            {"_id": "position"},
            {"$inc": {"value": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        last = int(counter["value"])
        return range(last - count + 1, last + 1)


class MongoStore(MongoReader):
    def __init__(self, client: Any, database_name: str, *, transactions: bool) -> None:
        super().__init__(client[database_name])
        self._client = client
        self._transactions = transactions

    async def open(self) -> None:
        """Check the server can run transactions, then create the indexes (idempotent)."""
        if self._transactions:
            await self._require_replica_set()
        db = self._db
        await db.events.create_index(
            [("workspace", ASCENDING), ("stream", ASCENDING), ("version", ASCENDING)], unique=True
        )
        await db.events.create_index([("position", ASCENDING)])
        await db.records.create_index(
            [
                ("workspace", ASCENDING),
                ("object_slug", ASCENDING),
                ("lookup.a", ASCENDING),
                ("lookup.v", ASCENDING),
                ("seq", ASCENDING),
            ]
        )
        await db.records.create_index(
            [("workspace", ASCENDING), ("object_slug", ASCENDING), ("seq", ASCENDING)]
        )
        await db.objects.create_index([("workspace", ASCENDING), ("slug", ASCENDING)])
        await db.tokens.create_index([("token_hash", ASCENDING)], unique=True)

    async def _require_replica_set(self) -> None:
        try:
            hello = await self._client.admin.command("hello")
        except PyMongoError as error:
            raise StoreUnavailable(f"MongoDB is not reachable: {error}") from error
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            raise StoreUnavailable(
                "MongoDB is a standalone server; crm-gateway needs transactions, which need a "
                "replica set (one node is enough: start mongod with --replSet rs0 and run "
                "rs.initiate(), or use docker-compose.yml)."
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MongoTransaction]:
        if not self._transactions:
            # mongomock: no sessions, and its calls never interleave, so the unit of work is
            # already isolated; there is just no rollback.
            yield MongoTransaction(self._db)
            return
        try:
            async with (
                self._client.start_session() as session,
                await session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
                ),
            ):
                yield MongoTransaction(self._db, session)
        except DuplicateKeyError as error:
            raise WriteConflict(str(error)) from error
        except OperationFailure as error:
            if error.has_error_label("TransientTransactionError") or error.has_error_label(
                "UnknownTransactionCommitResult"
            ):
                raise WriteConflict(str(error)) from error
            raise

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as error:
            raise StoreUnavailable(f"MongoDB is not reachable: {error}") from error

    async def close(self) -> None:
        result = self._client.close()
        if hasattr(result, "__await__"):
            await result

    async def add_token(self, token: Token) -> None:
        await self._db.tokens.insert_one(
            {
                "_id": token.id,
                "workspace": token.workspace,
                "scopes": sorted(token.scopes),
                "token_hash": token.token_hash,
                "created_at": token.created_at.isoformat(),
            }
        )

    async def find_token(self, token_hash: str) -> Token | None:
        document = await self._db.tokens.find_one({"token_hash": token_hash})
        if document is None:
            return None
        return Token(
            id=document["_id"],
            workspace=document["workspace"],
            scopes=frozenset(document["scopes"]),
            token_hash=document["token_hash"],
            created_at=datetime.fromisoformat(document["created_at"]),
        )

    async def count_tokens(self) -> int:
        return int(await self._db.tokens.count_documents({}))
