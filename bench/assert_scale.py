"""Does an assert cost the same at 100k records as at 1k? (embedded store, service level)

Both stores are seeded, then measured in alternating rounds so machine noise hits both
alike; each figure is the median of the rounds. Half the asserts update an existing record,
half create one. It runs twice: with synchronous=normal, which shows the store's own work,
and with synchronous=full (the default), where an fsync per commit adds a noisy constant.
The lookup's query plan is printed too: it must be a SEARCH, never a SCAN.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from app.auth import READ, WRITE, Principal
from app.domain import records as domain_records
from app.domain.ids import new_id
from app.domain.objects import AttributeSpec
from app.service import Context, Service, utc_now
from app.store import open_store
from app.store.base import Changes, RecordWrite, Store
from app.store.sqlite import FIND_FIRST_SQL
from projections import records as record_projection

CTX = Context(Principal("bench", "bench", frozenset({READ, WRITE})), "rest", "bench")
SIZES = (1_000, 100_000)
ROUNDS = 7
ASSERTS_PER_ROUND = 400
SEED_BATCH = 5_000


async def seeded_service(folder: Path, size: int, synchronous: str) -> Service:
    store = await open_store(f"sqlite:///{folder}/crm-{size}.db?synchronous={synchronous}")
    service = Service(store)
    await service.create_object(CTX, "products", "Product", "Products", True)
    await service.add_attribute(CTX, "products", AttributeSpec("SKU", "text", is_unique=True))
    await service.add_attribute(CTX, "products", AttributeSpec("Price", "number"))
    await seed(store, size)
    return service


async def seed(store: Store, size: int) -> None:
    """Write `size` records straight through the store port, many to a transaction."""
    schema = await store.get_object("bench", "products")
    assert schema is not None
    metadata = CTX.metadata()
    for start in range(0, size, SEED_BATCH):
        changes = Changes()
        for n in range(start, min(start + SEED_BATCH, size)):
            values = {"sku": f"SKU-{n:07d}", "price": n % 100}
            event = domain_records.decide_create(schema, new_id(), values, metadata, utc_now())
            state = record_projection.apply(None, event)
            changes.events.append(event)
            changes.records.append(RecordWrite(state, record_projection.lookups(schema, state)))
            for key in record_projection.unique_keys(schema, state):
                changes.claimed_keys[key] = state.id
        async with store.transaction() as tx:
            await tx.write(changes)


async def one_round(service: Service, size: int, rng: random.Random, round_: int) -> float:
    """Seconds per assert over one round: alternately an update and a create."""
    bodies = []
    for n in range(ASSERTS_PER_ROUND):
        if n % 2:
            bodies.append({"sku": f"SKU-{rng.randrange(size):07d}", "price": rng.random()})
        else:
            bodies.append({"sku": f"NEW-{round_}-{n}", "price": 1})
    started = time.perf_counter()
    for body in bodies:
        await service.assert_record(CTX, "products", "sku", body)
    return (time.perf_counter() - started) / ASSERTS_PER_ROUND


def query_plan(path: str) -> list[str]:
    connection = sqlite3.connect(path)
    sql = "EXPLAIN QUERY PLAN " + FIND_FIRST_SQL.format(marks="(?)")
    plan = connection.execute(sql, ("SKU-1", 1))  # a token, a lookup index id
    return [row[3] for row in plan if row[3].startswith(("SEARCH", "SCAN"))]


async def measure(synchronous: str) -> tuple[float, float, list[str]]:
    """Median seconds per assert at each size, and the lookup plan at the largest."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        services = {size: await seeded_service(Path(folder), size, synchronous) for size in SIZES}
        timings: dict[int, list[float]] = {size: [] for size in SIZES}
        for round_ in range(ROUNDS):
            for size, service in services.items():
                timings[size].append(await one_round(service, size, rng, round_))
        plan = query_plan(f"{folder}/crm-{SIZES[-1]}.db")
        for service in services.values():
            await service.store.close()
    small, large = (statistics.median(timings[size]) for size in SIZES)
    return small, large, plan


async def run() -> list[tuple[str, str]]:
    rows = []
    for synchronous in ("normal", "full"):
        small, large, plan = await measure(synchronous)
        rows += [
            (f"[{synchronous}] assert at {SIZES[0]:,}", f"{small * 1e6:6.0f} µs"),
            (f"[{synchronous}] assert at {SIZES[1]:,}", f"{large * 1e6:6.0f} µs"),
            (f"[{synchronous}] ratio (target ≤ 1.3×)", f"{large / small:6.2f}×"),
        ]
    rows.append(("lookup plan at 100k", " | ".join(plan)))
    return rows


if __name__ == "__main__":
    for name, value in asyncio.run(run()):
        print(f"{name:<34} {value}")
