"""Crashes and several processes on one embedded store, with real servers over real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app.store import open_store
from app.store.sqlite import SqliteStore
from projections import records as record_projection
from tests.processes import ServerProcess, create_products

WRITERS = 4
SKUS_PER_WRITER = 10


ASSERT = """
mutation($sku: String!, $count: Int!) {
  assertRecord(objectSlug: "products", matchingAttribute: "sku",
               attributes: {sku: $sku, inventory_count: $count}) {
    status record { version }
  }
}
"""


def write_until_killed(
    server: ServerProcess,
    writer: int,
    acked: dict[tuple[str, int], int],
    lock: threading.Lock,
    stop: threading.Event,
) -> None:
    """Assert records in a loop; remember (sku, version) -> count of each acknowledged write."""
    count = 0
    with server.client() as client:
        while not stop.is_set():
            count += 1
            sku = f"W{writer}-{count % SKUS_PER_WRITER}"
            variables = {"sku": sku, "count": count}
            try:
                response = client.post("/graphql", json={"query": ASSERT, "variables": variables})
            except httpx.TransportError:
                return  # the server is gone
            payload = response.json()["data"]["assertRecord"]
            assert payload["status"] in (200, 201), payload
            with lock:
                acked[(sku, payload["record"]["version"])] = count


def test_kill_9_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.db"
    acked: dict[tuple[str, int], int] = {}
    lock, stop = threading.Lock(), threading.Event()
    with ServerProcess(url) as server:
        with server.client() as client:
            create_products(client)
        threads = [
            threading.Thread(target=write_until_killed, args=(server, n, acked, lock, stop))
            for n in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 15
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # while the writers are still sending
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert len(acked) >= 150

    asyncio.run(_check_store(url, acked))

    # The restarted server serves what was acknowledged and goes on writing.
    with ServerProcess(url) as server, server.client() as client:
        response = client.put(
            "/v2/crm/products",
            params={"matchingAttribute": "sku"},
            json={"sku": "W0-1", "inventory_count": -1},
        )
        assert response.status_code == 200


async def _check_store(url: str, acked: dict[tuple[str, int], int]) -> None:
    store = await open_store(url)
    assert isinstance(store, SqliteStore)
    try:
        schema = await store.get_object("default", "products")
        assert schema is not None
        log = await store.read_log(0, 1_000_000)
        streams = {e.stream for e in log if e.stream.startswith("record-")}
        records = await store.get_records("default", [s.removeprefix("record-") for s in streams])
        assert len(records) == len(streams)  # no event without its record, no half-written one
        by_sku = {}
        for record in records.values():
            stream = await store.read_stream("default", record.stream)
            assert [e.version for e in stream] == list(range(1, len(stream) + 1))
            assert record_projection.replay(stream) == record  # the record is its stream
            by_sku[record.values["sku"]] = stream
            key = record_projection.unique_keys(schema, record)
            assert await store.key_owners(list(key)) == dict.fromkeys(key, record.id)
        for (sku, version), count in acked.items():
            stream = by_sku[sku]  # every acknowledged record exists...
            if version > 0:  # ...and holds every acknowledged write at its version
                assert record_projection.replay(stream[:version]).values["inventory_count"] == count
            else:
                assert any(
                    record_projection.replay(stream[:n]).values["inventory_count"] == count
                    for n in range(1, len(stream) + 1)
                )
    finally:
        await store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_two_servers_on_one_file_create_one_record_per_value(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.db"
    with ServerProcess(url) as first, ServerProcess(url) as second:
        with first.client() as client:
            create_products(client, unique_sku=False)  # the harder case: nothing unique
        async with first.async_client() as a, second.async_client() as b:
            for value in range(5):
                body = {"sku": f"SAME-{value}", "inventory_count": value}
                responses = await asyncio.gather(
                    *(
                        client.put(
                            "/v2/crm/products", params={"matchingAttribute": "sku"}, json=body
                        )
                        for _ in range(20)
                        for client in (a, b)
                    )
                )
                statuses = Counter(r.status_code for r in responses)
                assert statuses == {201: 1, 200: 39}, [
                    r.text for r in responses if r.status_code >= 300
                ]
                assert len({r.json()["record"]["id"] for r in responses}) == 1
            # Distinct values written through both at once: nothing locked reaches a client.
            responses = await asyncio.gather(
                *(
                    client.put(
                        "/v2/crm/products",
                        params={"matchingAttribute": "sku"},
                        json={"sku": f"D-{n}", "price": n},
                    )
                    for n in range(60)
                    for client in (a, b)
                )
            )
            assert Counter(r.status_code for r in responses) == {201: 60, 200: 60}
    assert "locked" not in first.log + second.log
