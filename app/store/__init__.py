"""Store adapters, chosen by database URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.store.base import Store, StoreUnavailable

DEFAULT_MONGO_DATABASE = "crm_gateway"


async def open_store(url: str) -> Store:
    """Open (and prepare) the store a database URL names."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return await _open_sqlite(url)
    if scheme == "memory":
        return await _open_memory()
    if scheme in ("mongodb", "mongodb+srv"):
        return await _open_mongo(url)
    raise StoreUnavailable(
        f"Unsupported database URL scheme '{scheme}://'; use sqlite:///path, memory:// or mongodb://."
    )


def sqlite_path(url: str) -> str:
    """`sqlite:///./data/crm.db` -> `./data/crm.db`; `sqlite:////srv/crm.db` -> `/srv/crm.db`."""
    path = urlsplit(url).path.removeprefix("/")
    if not path:
        raise StoreUnavailable(f"No file in the SQLite URL '{url}': use sqlite:///./data/crm.db.")
    return path


async def _open_sqlite(url: str) -> Store:
    from app.store.sqlite import SqliteStore

    options = parse_qs(urlsplit(url).query)
    store = SqliteStore(sqlite_path(url), synchronous=options.get("synchronous", ["full"])[0])
    await store.open()
    return store


async def _open_memory() -> Store:
    from mongomock_motor import AsyncMongoMockClient

    from app.store.mongo import MongoStore

    store = MongoStore(AsyncMongoMockClient(), DEFAULT_MONGO_DATABASE, transactions=False)
    await store.open()
    return store


async def _open_mongo(url: str) -> Store:
    from pymongo import AsyncMongoClient

    from app.store.mongo import MongoStore

    # Fail fast when the server is not there, unless the URL chooses its own timeout.
    options: dict[str, Any] = (
        {} if "serverselectiontimeoutms" in url.lower() else {"serverSelectionTimeoutMS": 5000}
    )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, **options)
    database = urlsplit(url).path.lstrip("/") or DEFAULT_MONGO_DATABASE
    store = MongoStore(client, database, transactions=True)
    try:
        await store.open()
    except BaseException:
        await store.close()
        raise
    return store
