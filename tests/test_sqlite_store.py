"""What only the embedded store has to show: indexed plans, files on disk, clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from app.auth import READ, WRITE, Principal, hash_token
from app.domain.ids import new_id
from app.domain.objects import AttributeSpec
from app.domain.records import decide_create
from app.service import Context, Service, utc_now
from app.store import open_store, sqlite_path
from app.store.base import Changes, RecordWrite, StoreUnavailable
from app.store.sqlite import SqliteStore
from projections.records import replay

pytestmark = pytest.mark.anyio

CTX = Context(Principal("t", "acme", frozenset({READ, WRITE})), "rest", "r")


async def products(service: Service) -> None:
    await service.create_object(CTX, "products", "Product", "Products", True)
    await service.add_attribute(CTX, "products", AttributeSpec("SKU", "text", is_unique=True))
    await service.add_attribute(CTX, "products", AttributeSpec("Price", "number"))


async def test_no_statement_of_an_assert_scans_a_table(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    assert isinstance(store, SqliteStore)
    service = Service(store)
    await products(service)
    for n in range(50):
        await service.assert_record(CTX, "products", "sku", {"sku": f"S-{n}", "price": n})

    statements: list[str] = []
    for connection in (store._writer, store._connection):
        connection.set_trace_callback(statements.append)
    await service.assert_record(CTX, "products", "sku", {"sku": "S-1", "price": 100})  # update
    await service.assert_record(CTX, "products", "sku", {"sku": "NEW", "price": 1})  # create
    await service.assert_record(CTX, "products", "price", {"price": 100})  # no-op
    await service.find_record(CTX, "products", "sku", "S-2")
    await store.read_log(10, 5)
    for connection in (store._writer, store._connection):
        connection.set_trace_callback(None)
    await store.close()

    queries = [s for s in statements if s.split()[0].upper() in ("SELECT", "UPDATE", "DELETE")]
    assert len(queries) >= 10
    plans = sqlite3.connect(f"{tmp_path}/crm.db")
    for query in queries:
        plan = [row[3] for row in plans.execute(f"EXPLAIN QUERY PLAN {query}")]
        # Only the list of wanted tokens may be scanned: it is the input, not a table.
        scans = [step for step in plan if step.startswith("SCAN") and not _input_list(step)]
        assert not scans, (query, plan)


def _input_list(step: str) -> bool:
    return step == "SCAN wanted" or step.endswith("CONSTANT ROWS") or step == "SCAN CONSTANT ROW"


async def test_a_value_many_records_share_costs_what_a_unique_one_does(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    assert isinstance(store, SqliteStore)
    service = Service(store)
    await products(service)
    await service.add_attribute(CTX, "products", AttributeSpec("Colour", "text"))
    batch = [{"sku": f"S-{n}", "colour": "red"} for n in range(1000)]
    for start in (0, 500):
        await service.assert_records(CTX, "products", "sku", batch[start : start + 500])
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    store._connection.set_progress_handler(tick, 10)
    costs = []
    for attribute, token in (("sku", "S-999"), ("colour", "red")):
        before = steps[0]
        found = await store.find_first("acme", "products", attribute, [token])
        costs.append(steps[0] - before)
        assert token in found
    store._connection.set_progress_handler(None, 0)
    first = await store.find_first("acme", "products", "colour", ["red"])
    await store.close()
    assert first["red"].values["sku"] == "S-0"  # still the earliest created
    unique, shared = costs
    assert shared <= unique * 2, costs  # not 1000 records' worth


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/folder/crm.db"
    store = await open_store(url)
    token = await Service(store).register_token("acme", [READ, WRITE])
    service = Service(store)
    await products(service)
    created = await service.assert_record(CTX, "products", "sku", {"sku": "A", "price": 1})
    await store.close()
    assert (tmp_path / "nested" / "folder" / "crm.db").exists()

    reopened = await open_store(url)
    service = Service(reopened)
    record = await service.get_record(CTX, "products", created.record.id)
    assert record == created.record
    again = await service.assert_record(CTX, "products", "sku", {"sku": "A", "price": 2})
    assert (again.created, again.record.version) == (False, 2)
    assert await reopened.count_tokens() == 1
    assert await reopened.find_token(hash_token(token)) is not None
    await reopened.close()


def test_sqlite_urls() -> None:
    assert sqlite_path("sqlite:///./data/crm.db") == "./data/crm.db"
    assert sqlite_path("sqlite:////srv/crm.db") == "/srv/crm.db"
    with pytest.raises(StoreUnavailable, match="No file"):
        sqlite_path("sqlite://")


async def test_bad_options_and_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="synchronous"):
        await open_store(f"sqlite:///{tmp_path}/a.db?synchronous=sometimes")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="Can't open"):
        await open_store(f"sqlite:///{blocker}/crm.db")


async def test_the_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    assert isinstance(store, SqliteStore)
    assert store._writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    await store.close()


async def test_rows_written_with_whole_documents_still_read(tmp_path: Path) -> None:
    """Rows once held whole JSON documents (identity fields too); now the columns hold the
    identity. A file written the old way must read back the same."""
    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    assert isinstance(store, SqliteStore)
    service = Service(store)
    await products(service)
    created = await service.assert_record(CTX, "products", "sku", {"sku": "A", "price": 1})
    history = await service.history(CTX, "products", created.record.id)
    raw = sqlite3.connect(tmp_path / "crm.db")
    with raw:
        for position, *identity, body in raw.execute(
            "SELECT position, id, workspace, stream, version, body FROM events"
        ).fetchall():
            keys = ("id", "workspace", "stream", "version")
            whole = {**json.loads(body), **dict(zip(keys, identity, strict=True))}
            raw.execute(
                "UPDATE events SET body = ? WHERE position = ?", (json.dumps(whole), position)
            )
        for record_id, workspace, slug, state in raw.execute(
            "SELECT id, workspace, object_slug, state FROM records"
        ).fetchall():
            whole = {**json.loads(state), "id": record_id, "workspace": workspace}
            whole["object_slug"] = slug
            raw.execute("UPDATE records SET state = ? WHERE id = ?", (json.dumps(whole), record_id))
    raw.close()

    assert await service.get_record(CTX, "products", created.record.id) == created.record
    assert await service.history(CTX, "products", created.record.id) == history
    again = await service.assert_record(CTX, "products", "sku", {"sku": "A", "price": 2})
    assert (again.created, again.record.version) == (False, 2)
    await store.close()


OLD_LOOKUPS = """CREATE TABLE record_lookups (
    workspace TEXT NOT NULL, object_slug TEXT NOT NULL, attribute TEXT NOT NULL,
    token TEXT NOT NULL, seq INTEGER NOT NULL, record_id TEXT NOT NULL,
    PRIMARY KEY (workspace, object_slug, attribute, token, seq)
) WITHOUT ROWID"""


async def test_a_file_with_the_old_lookup_table_is_migrated_on_open(tmp_path: Path) -> None:
    """Lookup rows once held workspace, object and attribute as strings (record_lookups);
    opening such a file moves them to `lookups` under index ids, and matching still works."""
    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    service = Service(store)
    await products(service)
    for n in range(3):
        await service.assert_record(CTX, "products", "sku", {"sku": f"S-{n}", "price": 7})
    await store.close()
    raw = sqlite3.connect(tmp_path / "crm.db")
    with raw:  # rewrite the file as the old layout had it
        raw.execute(OLD_LOOKUPS)
        raw.execute(
            "INSERT INTO record_lookups SELECT i.workspace, i.object_slug, i.attribute, "
            "l.token, l.seq, l.record_id FROM lookups l JOIN lookup_indexes i ON i.id = l.ix"
        )
        raw.execute("DELETE FROM lookups")
        raw.execute("DELETE FROM lookup_indexes")
    raw.close()

    store = await open_store(f"sqlite:///{tmp_path}/crm.db")
    service = Service(store)
    again = await service.assert_record(CTX, "products", "sku", {"sku": "S-1", "price": 8})
    assert (again.created, again.record.version) == (False, 2)
    first = await service.find_record(CTX, "products", "price", 7)
    assert first is not None and first.attributes["sku"] == "S-0"  # earliest of the holders
    await store.close()
    raw = sqlite3.connect(tmp_path / "crm.db")
    tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master")}
    assert "record_lookups" not in tables
    assert raw.execute("SELECT COUNT(*) FROM lookups").fetchone() == (3 * 2,)
    raw.close()


async def test_an_index_id_of_a_rolled_back_write_is_not_kept(tmp_path: Path) -> None:
    """Two stores on one file (as two processes). A write that assigned a lookup index id
    and then failed must not leave it cached: the other store may hand the same id to
    another attribute, and rows written under the stale id would answer for that one."""
    url = f"sqlite:///{tmp_path}/crm.db"
    first, second = await open_store(url), await open_store(url)
    service, other = Service(first), Service(second)
    await products(service)
    schema = await first.get_object(CTX.workspace, "products")
    assert schema is not None
    event = decide_create(schema, new_id(), {"sku": "Z", "price": 1}, CTX.metadata(), utc_now())
    with pytest.raises(RuntimeError):
        async with first.transaction() as tx:  # assigns an id to price, then rolls back
            await tx.write(Changes([event], [RecordWrite(replay([event]), [("price", "1")])]))
            raise RuntimeError("the command failed after writing")
    await other.assert_record(CTX, "products", "sku", {"sku": "B"})  # takes that id for sku
    await service.assert_record(CTX, "products", "sku", {"sku": "A", "price": 1})

    assert await service.find_record(CTX, "products", "sku", "1") is None
    found = await service.find_record(CTX, "products", "price", 1)
    assert found is not None and found.attributes["sku"] == "A"
    await first.close()
    await second.close()
