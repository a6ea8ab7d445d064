"""The persistence port. Every adapter passes the same contract suite (tests/contract)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.domain.events import Event
from app.domain.objects import ObjectSchema
from app.domain.records import RecordState
from projections.records import Lookup


class StoreError(Exception):
    """A failure of the storage layer, never of the client's request."""


class WriteConflict(StoreError):
    """A concurrent transaction wrote the same stream version or key: rerun the command."""


class StoreUnavailable(StoreError):
    """The database can't be reached or is not usable (for example no replica set)."""


@dataclass(frozen=True)
class Token:
    id: str
    workspace: str
    scopes: frozenset[str]
    token_hash: str
    created_at: datetime


@dataclass(frozen=True)
class IdempotentCall:
    """The first answer to a request with an Idempotency-Key, kept to replay it."""

    workspace: str
    key: str
    fingerprint: str  # of the request: the same key with another request is a conflict
    status: int
    response: dict[str, Any]


@dataclass(slots=True)  # one a record of a batch: cheaper to build than a frozen one
class RecordWrite:
    """A record's new state with the lookups it can be found by from now on, and those it
    had before this write (empty for a new record), so a store changes only the difference."""

    state: RecordState
    lookups: list[Lookup]
    previous: list[Lookup] = field(default_factory=list)


@dataclass
class Changes:
    """Everything one command writes; an adapter commits all of it or none of it."""

    events: list[Event] = field(default_factory=list)
    records: list[RecordWrite] = field(default_factory=list)
    objects: list[ObjectSchema] = field(default_factory=list)
    # Unique keys taken by a record (key -> record id); taking a held key is a WriteConflict.
    claimed_keys: dict[str, str] = field(default_factory=dict)
    released_keys: list[str] = field(default_factory=list)
    # Records removed from the projection, with their lookups (their events stay in the log).
    deleted_records: list[RecordWrite] = field(default_factory=list)
    # Stored with the writes it answered; a second one with the same key is a WriteConflict.
    idempotent: IdempotentCall | None = None


class Reader(Protocol):
    async def get_object(self, workspace: str, slug: str) -> ObjectSchema | None: ...

    async def list_objects(self, workspace: str) -> list[ObjectSchema]:
        """The workspace's objects, by slug."""
        ...

    async def get_records(self, workspace: str, ids: Sequence[str]) -> dict[str, RecordState]:
        """The records with these ids, keyed by id; ids of other workspaces are absent."""
        ...

    async def find_first(
        self, workspace: str, object_slug: str, attribute: str, tokens: Sequence[str]
    ) -> dict[str, RecordState]:
        """For each token, the earliest-created record holding it (assert rule 4)."""
        ...

    async def find_holders(
        self, workspace: str, object_slug: str, attribute: str, token: str
    ) -> list[RecordState]:
        """Every record holding the token (for lists: containing it), in creation order."""
        ...

    async def page_records(
        self, workspace: str, object_slug: str, offset: int, limit: int
    ) -> tuple[list[RecordState], int]:
        """Records in creation order from `offset`, and how many there are in all."""
        ...

    async def records_after(
        self, workspace: str, object_slug: str, after: int, limit: int
    ) -> list[tuple[int, RecordState]]:
        """Records in creation order after a position (0: from the start), with positions."""
        ...

    async def key_owners(self, keys: Sequence[str]) -> dict[str, str]:
        """Unique key -> id of the record holding it, for the keys that are held."""
        ...

    async def read_stream(self, workspace: str, stream: str) -> list[Event]: ...

    async def get_idempotent(self, workspace: str, key: str) -> IdempotentCall | None: ...

    async def read_log(self, after_position: int, limit: int) -> list[Event]:
        """Events of every workspace with position > after_position, in position order."""
        ...


class Transaction(Reader, Protocol):
    async def serialise(self, keys: Sequence[str]) -> None:
        """Write these keys' documents, so that concurrent transactions on them conflict."""
        ...

    async def write(self, changes: Changes) -> None: ...


class Store(Reader, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A unit of work: its reads see one snapshot; it commits on a clean exit."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    async def add_token(self, token: Token) -> None: ...

    async def find_token(self, token_hash: str) -> Token | None: ...

    async def count_tokens(self) -> int: ...
