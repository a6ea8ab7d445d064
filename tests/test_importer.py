"""`crm-gateway import`: against a real gateway process, and its retry rules in isolation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import httpx
import pytest

from app import importer as importer_module
from app.importer import Coercer, Importer, ImportFailed, Options, Row
from tests.processes import BOOT_TOKEN, ROOT, ServerProcess, create_products


def run_import(path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "import",
            str(path),
            "--object",
            "products",
            "--match",
            "sku",
            "--url",
            url,
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "CRM_TOKEN": BOOT_TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
    )


def total_products(server: ServerProcess) -> int:
    with server.client() as client:
        return int(client.get("/v2/crm/products?count=1").json()["pagination"]["total"])


def test_csv_import_with_rejects_and_a_safe_rerun(tmp_path: Path) -> None:
    rows = ["sku,price,inventory_count"]
    rows += [f"SKU-{n},{n}.5,{n % 7}" for n in range(1200)]
    rows[101] = "SKU-100,abc,1"  # line 102: price is not a number
    rows[501] = ",3,1"  # line 502: no matching value
    rows[901] = "SKU-900,1,2,surplus"  # line 902: a cell too many
    rows[1101] = f"SKU-1100,{2**70},1"  # line 1102: beyond JSON's exact integers (and orjson's)
    data = tmp_path / "products.csv"
    data.write_text("\n".join(rows) + "\n")
    with ServerProcess(f"sqlite:///{tmp_path}/crm.db") as server:
        with server.client() as client:
            create_products(client)
        first = run_import(data, server.url, "--batch", "500")
        assert first.returncode == 1, first.stderr
        assert "created 1,196" in first.stderr and "failed 4" in first.stderr
        rejects = [json.loads(line) for line in (tmp_path / "products.csv.rejects.jsonl").open()]
        assert [r["line"] for r in rejects] == [102, 502, 902, 1102]
        assert rejects[0]["errors"][0]["field"] == rejects[3]["errors"][0]["field"] == "price"
        assert rejects[1]["errors"][0]["code"] == "missing_matching_value"
        assert total_products(server) == 1196

        again = run_import(data, server.url, "--batch", "500")
        assert again.returncode == 1
        assert "created 0 " in again.stderr and "unchanged 1,196" in again.stderr
        assert total_products(server) == 1196


def test_jsonl_import_of_good_rows_exits_0(tmp_path: Path) -> None:
    data = tmp_path / "products.jsonl"
    data.write_text("".join(json.dumps({"sku": f"J-{n}", "price": n}) + "\n" for n in range(300)))
    with ServerProcess(f"sqlite:///{tmp_path}/crm.db") as server:
        with server.client() as client:
            create_products(client)
        result = run_import(data, server.url, "--batch", "128")
        assert result.returncode == 0, result.stderr
        assert "created 300" in result.stderr
        assert not (tmp_path / "products.jsonl.rejects.jsonl").exists()
        assert total_products(server) == 300


def test_bad_options_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "p.csv"
    data.write_text("sku\nA\n")
    no_token = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", str(data), "--object", "p", "--match", "sku"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "CRM_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_token.returncode == 2 and "CRM_TOKEN" in no_token.stderr
    unreachable = run_import(data, "http://127.0.0.1:9", "--retries", "0")
    assert unreachable.returncode == 2 and "unreachable" in unreachable.stderr


SCHEMA = {
    "slug": "products",
    "attributes": [
        {"key": "sku", "type": "text"},
        {"key": "price", "type": "number"},
        {"key": "ok", "type": "checkbox"},
        {"key": "stage", "type": "select", "options": [{"id": "o1", "label": "Won"}]},
        {
            "key": "tags",
            "type": "multiselect",
            "options": [{"id": "t1", "label": "A"}, {"id": "t2", "label": "B"}],
        },
        {"key": "owners", "type": "user"},
    ],
}


def test_csv_cells_become_typed_values() -> None:
    row = Coercer(SCHEMA).row(
        {"sku": "007", "price": "29", "ok": "Yes", "stage": "won", "tags": "A; B", "owners": ""}
    )
    assert row == {
        "sku": "007",
        "price": 29,
        "ok": True,
        "stage": {"id": "o1"},
        "tags": [{"id": "t1"}, {"id": "t2"}],
        "owners": None,
    }
    assert Coercer(SCHEMA).cell("price", "2.5") == 2.5
    assert Coercer(SCHEMA).cell("price", "abc") == "abc"  # the gateway will say why


def flaky(failures: int, status: int = 503, retry_after: str | None = None) -> httpx.Client:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= failures:
            headers = {"Retry-After": retry_after} if retry_after else {}
            return httpx.Response(status, json={"message": "busy"}, headers=headers)
        return httpx.Response(200, json={"object": SCHEMA})

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://gateway")


def importer(
    client: httpx.Client, tmp_path: Path, retries: int = 5
) -> tuple[Importer, list[float]]:
    pauses: list[float] = []
    options = Options(
        path=tmp_path / "x.csv", object_slug="products", match="sku", token="t", retries=retries
    )
    return Importer(client, options, sleep=pauses.append, out=StringIO()), pauses


def test_transient_failures_are_retried_with_backoff(tmp_path: Path) -> None:
    runner, pauses = importer(flaky(3), tmp_path)
    assert runner.schema()["slug"] == "products"
    assert pauses == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_and_retries_are_bounded(tmp_path: Path) -> None:
    runner, pauses = importer(flaky(1, status=429, retry_after="3"), tmp_path)
    runner.schema()
    assert pauses == [3.0]
    runner, pauses = importer(flaky(10), tmp_path, retries=2)
    with pytest.raises(ImportFailed, match="503"):
        runner.schema()
    assert len(pauses) == 2


def test_client_errors_are_not_retried(tmp_path: Path) -> None:
    runner, pauses = importer(flaky(1, status=404), tmp_path)
    with pytest.raises(ImportFailed, match="404"):
        runner.schema()
    assert pauses == []


def test_a_batch_over_the_body_limit_is_split(tmp_path: Path) -> None:
    data = tmp_path / "wide.jsonl"
    data.write_text(
        "".join(json.dumps({"sku": f"W-{n}", "note": "x" * 200}) + "\n" for n in range(40))
    )
    with ServerProcess(
        f"sqlite:///{tmp_path}/crm.db", env={"CRM_MAX_BODY_BYTES": "4000"}
    ) as server:
        with server.client() as client:
            create_products(client)
            client.post(
                "/v2/crm/objects/products/attributes", json={"label": "Note", "type": "text"}
            )
        result = run_import(data, server.url, "--batch", "40")
        assert result.returncode == 0, result.stderr
        assert total_products(server) == 40


def test_the_next_batch_is_read_while_one_is_sent_and_batches_go_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's time and the file's reading overlap, yet only one batch is ever at
    the gateway, and they arrive in file order (a later row of a record must land later)."""
    data = tmp_path / "x.csv"
    data.write_text("sku,price\n" + "".join(f"S-{n},{n}\n" for n in range(50)))
    read_ahead = threading.Event()
    reading = importer_module.read_rows

    def watched_rows(path: Path, coercer: Coercer) -> Iterator[Row]:
        for number, row in enumerate(reading(path, coercer)):
            if number == 19:  # the last row of the second batch of 10
                read_ahead.set()
            yield row

    monkeypatch.setattr(importer_module, "read_rows", watched_rows)
    first_skus: list[str] = []
    at_gateway, most_at_once, lock = [0], [0], threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"object": SCHEMA})
        with lock:
            at_gateway[0] += 1
            most_at_once[0] = max(most_at_once[0], at_gateway[0])
        records = json.loads(request.content)["records"]
        first_skus.append(records[0]["sku"])
        # The first batch is answered only once the second has been read: a reader that
        # waited for this answer would never get there, and the import would fail.
        ready = read_ahead.wait(5) if len(first_skus) == 1 else True
        with lock:
            at_gateway[0] -= 1
        if not ready:
            return httpx.Response(400, json={"message": "the next batch was not read ahead"})
        results = [{"status": 201, "created": True} for _ in records]
        return httpx.Response(
            200, json={"results": results, "totals": {"created": len(records), "failed": 0}}
        )

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://gateway")
    options = Options(path=data, object_slug="products", match="sku", token="t", batch=10)
    totals = Importer(client, options, out=StringIO()).run()
    assert (totals.rows, totals.created, totals.failed) == (50, 50, 0)
    assert first_skus == ["S-0", "S-10", "S-20", "S-30", "S-40"]
    assert most_at_once[0] == 1
