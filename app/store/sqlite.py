"""Embedded adapter of the store port: one SQLite file in WAL mode.

Writers serialise on SQLite's own write lock (BEGIN IMMEDIATE), which holds across every
process that opens the file, so two gateways on one file can't both create a record for one
matching value. In a process, the one writer connection is shared under an asyncio lock.

Statements run on the event loop: they are indexed lookups of microseconds, and a hop to a
thread cost ~190 µs here, more than the statements themselves. COMMIT runs there too, so
under synchronous=FULL the loop waits out the fsync (~350 µs here); writers queue on the
write lock anyway. Waiting for another process's write lock, which can take long, is an
async retry instead (busy_timeout 0 on the writer).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    -- uuid4, unique without an index: an index on random keys costs a random page a write.
    id          TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    stream      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (workspace, stream, version)
);
CREATE TABLE IF NOT EXISTS records (
    id          TEXT PRIMARY KEY,
    workspace   TEXT NOT NULL,
    object_slug TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    state       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_in_order ON records (workspace, object_slug, seq);
-- How many live records of an object have their seq in each bucket of BUCKET_WIDTH
-- positions: page N is found by summing these, then skipping inside one bucket.
CREATE TABLE IF NOT EXISTS record_buckets (
    workspace   TEXT NOT NULL,
    object_slug TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    live        INTEGER NOT NULL,
    PRIMARY KEY (workspace, object_slug, bucket)
) WITHOUT ROWID;
-- A number for each (workspace, object, attribute) that has lookups. Lookup rows start with
-- it instead of those three strings: half the bytes, and B-tree searches compare an integer
-- first. Ids are never reused or changed, so a process may cache them once committed.
CREATE TABLE IF NOT EXISTS lookup_indexes (
    id          INTEGER PRIMARY KEY,
    workspace   TEXT NOT NULL,
    object_slug TEXT NOT NULL,
    attribute   TEXT NOT NULL,
    UNIQUE (workspace, object_slug, attribute)
);
CREATE TABLE IF NOT EXISTS lookups (
    ix          INTEGER NOT NULL,  -- lookup_indexes.id
    token       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    record_id   TEXT NOT NULL,
    PRIMARY KEY (ix, token, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record_keys (
    key         TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    workspace   TEXT NOT NULL,
    slug        TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (workspace, slug)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    workspace   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT NOT NULL,
    PRIMARY KEY (workspace, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT PRIMARY KEY,
    workspace   TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
) WITHOUT ROWID;
"""

# The earliest-created record per token, in one statement for any number of tokens: for
# each, the first entry of the primary key of lookups in seq order, so the cost does not
# grow with how many records share the value (a GROUP BY with MIN(seq) read them all).
# tests/test_sqlite_store.py checks the plan.
FIND_FIRST_SQL = """
WITH wanted(token) AS (VALUES {marks})
SELECT wanted.token, r.id, r.workspace, r.object_slug, r.state
FROM wanted JOIN records AS r ON r.id = (
    SELECT l.record_id
    FROM lookups AS l
    WHERE l.ix = ? AND l.token = wanted.token
    ORDER BY l.seq
    LIMIT 1
)
"""

HOLDERS_SQL = """
SELECT r.id, r.workspace, r.object_slug, r.state
FROM lookups AS l JOIN records AS r ON r.id = l.record_id
WHERE l.ix = ? AND l.token = ?
ORDER BY l.seq
"""

# Files written before lookup_indexes had one table with the three strings in every row.
MIGRATE_LOOKUPS = (
    "INSERT OR IGNORE INTO lookup_indexes (workspace, object_slug, attribute) "
    "SELECT DISTINCT workspace, object_slug, attribute FROM record_lookups",
    "INSERT OR IGNORE INTO lookups (ix, token, seq, record_id) "
    "SELECT i.id, l.token, l.seq, l.record_id FROM record_lookups AS l JOIN lookup_indexes AS i "
    "ON i.workspace = l.workspace AND i.object_slug = l.object_slug "
    "AND i.attribute = l.attribute",
    "DROP TABLE record_lookups",
)

IndexKey = tuple[str, str, str]  # (workspace, object slug, attribute)

# Page offsets cost one row per bucket plus a skip of at most this many index entries.
BUCKET_WIDTH = 256
LOCK_WAIT_SECONDS = 30.0
READ_BUSY_TIMEOUT_MS = 5000
SYNCHRONOUS_MODES = ("full", "normal", "extra")
CACHE_KIB = 64 * 1024  # per connection
MMAP_BYTES = 1024**3  # reads of the first GiB come straight from the OS page cache
WAL_CHECKPOINT_PAGES = 10_000


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _connect(path: str, busy_timeout_ms: int, synchronous: str) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; this module says BEGIN and COMMIT.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Switching a new file to WAL takes a lock: wait for it like a reader would.
    connection.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    # The default 2 MB page cache makes lookups at 100k records go to the OS for pages.
    connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    # Checkpoint every ~40 MB of WAL instead of 4 MB: a page that consecutive commits
    # rewrite (the tail of the log, hot index leaves) is copied back once, not each time.
    connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    return connection


class SqliteReader:
    def __init__(self, connection: sqlite3.Connection, index_ids: dict[IndexKey, int]) -> None:
        self._connection = connection
        self._index_ids = index_ids  # committed lookup_indexes rows, shared by the store

    def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self._connection.execute(sql, parameters).fetchall()

    def _index_id(self, workspace: str, object_slug: str, attribute: str) -> int | None:
        """The lookup index of an attribute, or None while no record has had a value."""
        key = (workspace, object_slug, attribute)
        found = self._index_ids.get(key)
        if found is None:
            rows = self._rows(
                "SELECT id FROM lookup_indexes "
                "WHERE workspace = ? AND object_slug = ? AND attribute = ?",
                key,
            )
            if rows:
                found = self._index_ids[key] = rows[0][0]
        return found

    async def get_object(self, workspace: str, slug: str) -> ObjectSchema | None:
        rows = self._rows(
            "SELECT body FROM objects WHERE workspace = ? AND slug = ?", (workspace, slug)
        )
        return ObjectSchema.model_validate_json(rows[0][0]) if rows else None

    async def list_objects(self, workspace: str) -> list[ObjectSchema]:
        rows = self._rows(
            "SELECT body FROM objects WHERE workspace = ? ORDER BY slug", (workspace,)
        )
        return [ObjectSchema.model_validate_json(row[0]) for row in rows]

    async def find_holders(
        self, workspace: str, object_slug: str, attribute: str, token: str
    ) -> list[RecordState]:
        index = self._index_id(workspace, object_slug, attribute)
        if index is None:
            return []
        return [_record(*row) for row in self._rows(HOLDERS_SQL, (index, token))]

    async def page_records(
        self, workspace: str, object_slug: str, offset: int, limit: int
    ) -> tuple[list[RecordState], int]:
        buckets = self._rows(
            "SELECT bucket, live FROM record_buckets WHERE workspace = ? AND object_slug = ? "
            "ORDER BY bucket",
            (workspace, object_slug),
        )
        total = sum(live for _, live in buckets)
        skip, first_bucket = offset, None
        for bucket, live in buckets:
            if skip < live:
                first_bucket = bucket
                break
            skip -= live
        if first_bucket is None:
            return [], total
        rows = self._rows(
            f"SELECT {RECORD_COLUMNS} FROM records "
            "WHERE workspace = ? AND object_slug = ? AND seq >= ? "
            "ORDER BY seq LIMIT ? OFFSET ?",
            (workspace, object_slug, first_bucket * BUCKET_WIDTH, limit, skip),
        )
        return [_record(*row) for row in rows], total

    async def records_after(
        self, workspace: str, object_slug: str, after: int, limit: int
    ) -> list[tuple[int, RecordState]]:
        rows = self._rows(
            f"SELECT seq, {RECORD_COLUMNS} FROM records "
            "WHERE workspace = ? AND object_slug = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (workspace, object_slug, after, limit),
        )
        return [(seq, _record(*record)) for seq, *record in rows]

    async def get_records(self, workspace: str, ids: Sequence[str]) -> dict[str, RecordState]:
        if not ids:
            return {}
        rows = self._rows(
            f"SELECT {RECORD_COLUMNS} FROM records "
            f"WHERE workspace = ? AND id IN ({_marks(len(ids))})",
            (workspace, *ids),
        )
        records = [_record(*row) for row in rows]
        return {record.id: record for record in records}

    async def find_first(
        self, workspace: str, object_slug: str, attribute: str, tokens: Sequence[str]
    ) -> dict[str, RecordState]:
        if not tokens:
            return {}
        index = self._index_id(workspace, object_slug, attribute)
        if index is None:  # no record of the object has ever had a value for it
            return {}
        rows = self._rows(
            FIND_FIRST_SQL.format(marks=", ".join("(?)" for _ in tokens)), (*tokens, index)
        )
        return {token: _record(*record) for token, *record in rows}

    async def key_owners(self, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        rows = self._rows(
            f"SELECT key, record_id FROM record_keys WHERE key IN ({_marks(len(keys))})", keys
        )
        return {key: record_id for key, record_id in rows}

    async def get_idempotent(self, workspace: str, key: str) -> IdempotentCall | None:
        rows = self._rows(
            "SELECT fingerprint, status, response FROM idempotency WHERE workspace = ? AND key = ?",
            (workspace, key),
        )
        if not rows:
            return None
        fingerprint, status, response = rows[0]
        return IdempotentCall(workspace, key, fingerprint, status, json.loads(response))

    async def read_stream(self, workspace: str, stream: str) -> list[Event]:
        rows = self._rows(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE workspace = ? AND stream = ? "
            "ORDER BY version",
            (workspace, stream),
        )
        return [_event(*row) for row in rows]

    async def read_log(self, after_position: int, limit: int) -> list[Event]:
        rows = self._rows(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after_position, limit),
        )
        return [_event(*row) for row in rows]


EVENT_COLUMNS = "position, id, workspace, stream, version, body"


def _event(position: int, id: str, workspace: str, stream: str, version: int, body: str) -> Event:
    return documents.event_of(documents.loads(body), id, workspace, stream, version, position)


RECORD_COLUMNS = "id, workspace, object_slug, state"


def _record(id: str, workspace: str, object_slug: str, state: str) -> RecordState:
    return documents.record_of(documents.loads(state), id, workspace, object_slug)


class SqliteTransaction(SqliteReader):
    def __init__(self, connection: sqlite3.Connection, index_ids: dict[IndexKey, int]) -> None:
        super().__init__(connection, index_ids)
        # Index ids this transaction assigned: shared with the store only once committed,
        # since a rolled-back id may be given to another attribute by the next writer.
        self.assigned: dict[IndexKey, int] = {}
        self._by_object: dict[tuple[str, str], _IndexIds] = {}

    def _index_id(self, workspace: str, object_slug: str, attribute: str) -> int | None:
        assigned = self.assigned.get((workspace, object_slug, attribute))
        if assigned is not None:
            return assigned
        return super()._index_id(workspace, object_slug, attribute)

    def _index_for_writing(self, workspace: str, object_slug: str, attribute: str) -> int:
        found = self._index_id(workspace, object_slug, attribute)
        if found is not None:
            return found
        self._connection.execute(
            "INSERT INTO lookup_indexes (workspace, object_slug, attribute) VALUES (?, ?, ?)",
            (workspace, object_slug, attribute),
        )
        (assigned,) = self._connection.execute("SELECT last_insert_rowid()").fetchone()
        self.assigned[(workspace, object_slug, attribute)] = assigned
        return int(assigned)

    def _indexes(self, workspace: str, object_slug: str) -> _IndexIds:
        key = (workspace, object_slug)
        found = self._by_object.get(key)
        if found is None:
            found = self._by_object[key] = _IndexIds(self, workspace, object_slug)
        return found

    async def serialise(self, keys: Sequence[str]) -> None:
        # Nothing to do: BEGIN IMMEDIATE already made this the only writer of the file.
        return None

    async def write(self, changes: Changes) -> None:
        try:
            self._write(changes)
        except sqlite3.IntegrityError as error:
            # A taken stream version or unique key: the transaction is rolled back on exit.
            raise WriteConflict(str(error)) from error

    def _write(self, changes: Changes) -> None:
        execute, many = self._connection.execute, self._connection.executemany
        # Releases first: within a batch a unique value can pass from one record to another.
        many("DELETE FROM record_keys WHERE key = ?", [(k,) for k in changes.released_keys])
        many(
            "INSERT INTO record_keys (key, record_id) VALUES (?, ?)",
            list(changes.claimed_keys.items()),
        )
        (last,) = execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
        for offset, event in enumerate(changes.events, start=1):
            event.position = last + offset
        many(
            "INSERT INTO events (position, id, workspace, stream, version, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    e.position,
                    e.id,
                    e.workspace,
                    e.stream,
                    e.version,
                    documents.body(e, documents.EVENT_BODY),
                )
                for e in changes.events
            ],
        )
        created = {e.stream: e.position for e in changes.events if e.version == 1}
        self._write_records(changes.records, created)
        for deleted in changes.deleted_records:
            self._delete_record(deleted)
        many(
            "INSERT OR REPLACE INTO objects (workspace, slug, body) VALUES (?, ?, ?)",
            [(s.workspace, s.slug, s.model_dump_json()) for s in changes.objects],
        )
        if changes.idempotent:
            call = changes.idempotent
            execute(
                "INSERT INTO idempotency (workspace, key, fingerprint, status, response) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    call.workspace,
                    call.key,
                    call.fingerprint,
                    call.status,
                    json.dumps(call.response),
                ),
            )

    def _write_records(self, writes: Sequence[RecordWrite], created: dict[str, int | None]) -> None:
        """Every record of a commit in a few set-based statements, whatever their number."""
        many = self._connection.executemany
        new = [w for w in writes if created.get(w.state.stream) is not None]
        updated = [w for w in writes if created.get(w.state.stream) is None]
        seqs: dict[str, int] = {w.state.id: created[w.state.stream] or 0 for w in new}
        many(
            "INSERT INTO records (id, workspace, object_slug, seq, state) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    w.state.id,
                    w.state.workspace,
                    w.state.object_slug,
                    seqs[w.state.id],
                    documents.body(w.state, documents.RECORD_BODY),
                )
                for w in new
            ],
        )
        if updated:
            ids = [w.state.id for w in updated]
            seqs.update(
                self._rows(f"SELECT id, seq FROM records WHERE id IN ({_marks(len(ids))})", ids)
            )
            many(
                "UPDATE records SET state = ? WHERE id = ?",
                [(documents.body(w.state, documents.RECORD_BODY), w.state.id) for w in updated],
            )
        # Only the lookups that changed are touched: each one is a page write.
        removed, added = [], []
        for write in writes:
            state, record_id = write.state, write.state.id
            seq, index = seqs[record_id], self._indexes(state.workspace, state.object_slug)
            wanted, held = set(write.lookups), set(write.previous)
            for attribute, token in held - wanted:
                removed.append((index[attribute], token, seq))
            for attribute, token in wanted - held:
                added.append((index[attribute], token, seq, record_id))
        # In key order, consecutive rows land on the same B-tree pages while they are hot.
        removed.sort()
        added.sort()
        many("DELETE FROM lookups WHERE ix = ? AND token = ? AND seq = ?", removed)
        many("INSERT INTO lookups (ix, token, seq, record_id) VALUES (?, ?, ?, ?)", added)
        buckets = Counter(
            (w.state.workspace, w.state.object_slug, seqs[w.state.id] // BUCKET_WIDTH) for w in new
        )
        self._count([(*bucket, live) for bucket, live in buckets.items()])

    def _delete_record(self, deleted: RecordWrite) -> None:
        record, execute = deleted.state, self._connection.execute
        (seq,) = execute("SELECT seq FROM records WHERE id = ?", (record.id,)).fetchone()
        execute("DELETE FROM records WHERE id = ?", (record.id,))
        index = self._indexes(record.workspace, record.object_slug)
        self._connection.executemany(
            "DELETE FROM lookups WHERE ix = ? AND token = ? AND seq = ?",
            [(index[attribute], token, seq) for attribute, token in deleted.lookups],
        )
        self._count([(record.workspace, record.object_slug, seq // BUCKET_WIDTH, -1)])

    def _count(self, changes: list[tuple[str, str, int, int]]) -> None:
        """Add to the live counts of (workspace, object, bucket)."""
        self._connection.executemany(
            "INSERT INTO record_buckets (workspace, object_slug, bucket, live) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (workspace, object_slug, bucket) "
            "DO UPDATE SET live = live + excluded.live",
            changes,
        )


class _IndexIds(dict[str, int]):
    """Attribute -> lookup index id of one object, for a transaction: each id is looked up
    (or assigned) once, then a row costs a dict lookup."""

    def __init__(self, transaction: SqliteTransaction, workspace: str, object_slug: str) -> None:
        super().__init__()
        self._transaction, self._workspace, self._object_slug = transaction, workspace, object_slug

    def __missing__(self, attribute: str) -> int:
        index = self._transaction._index_for_writing(self._workspace, self._object_slug, attribute)
        self[attribute] = index
        return index


class SqliteStore(SqliteReader):
    def __init__(self, path: str, synchronous: str = "full") -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise StoreUnavailable(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}; got '{synchronous}'."
            )
        self.path = path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = _connect(path, busy_timeout_ms=0, synchronous=synchronous)
            super().__init__(_connect(path, READ_BUSY_TIMEOUT_MS, synchronous), {})
        except (OSError, sqlite3.Error) as error:
            raise StoreUnavailable(f"Can't open the SQLite database at {path}: {error}") from error
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        """Create the tables (idempotent), as one writer among any other processes."""
        async with self._write_lock:
            await self._begin()
            try:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self._writer.execute(statement)
                if self._writer.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_lookups'"
                ).fetchall():
                    for statement in MIGRATE_LOOKUPS:
                        self._writer.execute(statement)
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting without blocking the loop while another process writes."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.0005
        while True:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"The database stayed locked by another writer for {LOCK_WAIT_SECONDS} s."
                    ) from error
            await asyncio.sleep(random.uniform(0, pause))
            pause = min(pause * 2, 0.05)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        async with self._write_lock:
            await self._begin()
            transaction = SqliteTransaction(self._writer, self._index_ids)
            try:
                yield transaction
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._commit()
            self._index_ids.update(transaction.assigned)

    def _commit(self) -> None:
        try:
            self._writer.execute("COMMIT")
        except sqlite3.Error:
            if self._writer.in_transaction:
                self._writer.execute("ROLLBACK")
            raise

    async def ping(self) -> None:
        try:
            self._rows("SELECT 1")
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite is not usable: {error}") from error

    async def close(self) -> None:
        async with self._write_lock:
            self._writer.close()
        self._connection.close()

    async def add_token(self, token: Token) -> None:
        async with self.transaction() as tx:
            tx._connection.execute(
                "INSERT INTO tokens (id, workspace, scopes, token_hash, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    token.id,
                    token.workspace,
                    json.dumps(sorted(token.scopes)),
                    token.token_hash,
                    token.created_at.isoformat(),
                ),
            )

    async def find_token(self, token_hash: str) -> Token | None:
        rows = self._rows(
            "SELECT id, workspace, scopes, token_hash, created_at FROM tokens WHERE token_hash = ?",
            (token_hash,),
        )
        if not rows:
            return None
        token_id, workspace, scopes, stored_hash, created_at = rows[0]
        return Token(
            id=token_id,
            workspace=workspace,
            scopes=frozenset(json.loads(scopes)),
            token_hash=stored_hash,
            created_at=datetime.fromisoformat(created_at),
        )

    async def count_tokens(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM tokens")[0][0])
