"""`make bench`: every benchmark, one table."""

from __future__ import annotations

import asyncio

from bench import assert_scale, pagination, sync


def main() -> None:
    rows = asyncio.run(sync.run()) + asyncio.run(assert_scale.run()) + asyncio.run(pagination.run())
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':<{width}}  result")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
