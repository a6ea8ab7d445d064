"""Crashes and several processes on one embedded store, with real servers over real HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app.store import open_store
from app.store.sqlite import SqliteStore
from projections import records as record_projection
from tests.processes import BOOT_TOKEN, ROOT, ServerProcess, create_products

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


def test_kill_9_mid_import_then_a_rerun_completes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.db"
    rows, batch = 6_000, 200
    data = tmp_path / "products.csv"
    data.write_text(
        "sku,price\n" + "".join(f"SKU-{n:05d},{n}\n" for n in range(rows)), encoding="utf-8"
    )
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "import",
        str(data),
        "--object",
        "products",
        "--match",
        "sku",
        "--batch",
        str(batch),
        "--retries",
        "0",
    ]
    env = {**os.environ, "CRM_TOKEN": BOOT_TOKEN}
    with ServerProcess(url) as server:
        with server.client() as client:
            create_products(client)
        importer = subprocess.Popen(
            [*command, "--url", server.url],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until some batches have landed
            with server.client() as client:
                total = client.get("/v2/crm/products?count=1").json()["pagination"]["total"]
            if total >= 5 * batch:
                break
            time.sleep(0.05)
        server.kill()
        _, log = importer.communicate(timeout=60)
    assert importer.returncode == 2, log  # it could not go on, and says so

    async def landed() -> int:
        store = await open_store(url)
        try:
            records, total = await store.page_records("default", "products", 0, rows)
            log_size = len(await store.read_log(0, 10 * rows))
            for record in records:  # each is exactly its stream
                stream = await store.read_stream("default", record.stream)
                assert record_projection.replay(stream) == record
            # people, companies, products and its 3 attributes; then one event a record:
            # nothing of an unacknowledged batch is in the log.
            assert log_size == 6 + total
            return int(total)
        finally:
            await store.close()

    before_rerun = asyncio.run(landed())
    assert 0 < before_rerun < rows and before_rerun % batch == 0  # whole batches only

    with ServerProcess(url) as server:
        rerun = subprocess.run(
            [*command, "--url", server.url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr
        assert f"created {rows - before_rerun:,}" in rerun.stderr
        assert f"unchanged {before_rerun:,}" in rerun.stderr
    assert asyncio.run(landed()) == rows
