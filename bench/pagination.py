"""What a page of a 10k-record listing costs, at its start and at its end, against a plain
LIMIT/OFFSET on the same rows. Cost is counted in SQLite VM instructions (hundreds), which
unlike time is the same on every run."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from tests.test_pagination import CTX, PAGE, seeded, vm_steps

OFFSET_SQL = (
    "SELECT state FROM records WHERE workspace = ? AND object_slug = ? "
    "ORDER BY seq LIMIT ? OFFSET ?"
)


async def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        store, service, ids = await seeded(Path(folder))
        counter = vm_steps(store)
        pages = len(ids) // PAGE
        bucketed, plain = {}, {}
        for page in (1, pages // 2, pages):
            before = counter[0]
            await service.list_records(CTX, "products", PAGE, page)
            bucketed[page] = counter[0] - before
            before = counter[0]
            store._connection.execute(
                OFFSET_SQL, ("acme", "products", PAGE, (page - 1) * PAGE)
            ).fetchall()
            plain[page] = counter[0] - before
        await store.close()
    first, last = 1, pages
    return [
        (f"page {p} of {pages}, bucketed / plain OFFSET", f"{bucketed[p]} / {plain[p]} ×100 ops")
        for p in bucketed
    ] + [
        ("last/first page, bucketed", f"{bucketed[last] / bucketed[first]:.2f}×"),
        ("last/first page, plain OFFSET", f"{plain[last] / plain[first]:.2f}×"),
    ]


if __name__ == "__main__":
    for name, value in asyncio.run(run()):
        print(f"{name:<44} {value}")
