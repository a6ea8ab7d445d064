"""The gateway as users run it: `crm-gateway` in a real process, over real HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy in 20 s")


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(port),
            "--database-url",
            "memory://",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process)
    return process, base


@pytest.fixture
def server() -> Iterator[str]:
    process, base = start_server({"CRM_BOOTSTRAP_TOKEN": "boot-token-123"})
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_zeeg_example_over_real_http(server: str) -> None:
    auth = {"Authorization": "Bearer boot-token-123"}
    with httpx.Client(base_url=server, headers=auth, timeout=10) as client:
        assert (
            client.post(
                "/v2/crm/objects",
                json={"slug": "products", "singularName": "Product", "pluralName": "Products"},
            ).status_code
            == 201
        )
        for label in ("SKU", "Price", "Inventory Count"):
            kind = "text" if label == "SKU" else "number"
            assert (
                client.post(
                    "/v2/crm/objects/products/attributes", json={"label": label, "type": kind}
                ).status_code
                == 201
            )
        first = client.put(
            "/v2/crm/products",
            params={"matchingAttribute": "sku"},
            json={"sku": "DRESS-001", "price": 29, "inventory_count": 150},
        )
        second = client.put(
            "/v2/crm/products",
            params={"matchingAttribute": "sku"},
            json={"sku": "DRESS-001", "price": 35, "inventory_count": 80},
        )
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["record"]["id"] == first.json()["record"]["id"]
    assert second.json()["record"]["attributes"]["price"] == 35


def test_graphiql_and_401_over_real_http(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    anonymous = httpx.post(f"{server}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert anonymous.status_code == 401


def test_without_any_token_one_is_generated_and_logged_once() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CRM_BOOTSTRAP_TOKEN"}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**env, "CRM_DATABASE_URL": "memory://"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
    finally:
        process.terminate()
        _, log = process.communicate(timeout=10)
    tokens = re.findall(r"workspace 'default': (crm_\S+)", log)
    assert len(tokens) == 1, log


def test_tokens_create_prints_only_the_token() -> None:
    result = cli(
        "tokens",
        "create",
        "--workspace",
        "acme",
        "--scope",
        "crm:read",
        "--scope",
        "crm:write",
        "--database-url",
        "memory://",
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"crm_[A-Za-z0-9_-]{40,}\n", result.stdout)


def test_tokens_create_rejects_unknown_scopes() -> None:
    result = cli("tokens", "create", "--workspace", "acme", "--scope", "crm:admin")
    assert result.returncode == 2
    assert "crm:admin" in result.stderr and result.stdout == ""


def test_unreachable_mongodb_is_a_clear_error() -> None:
    result = cli("serve", "--database-url", "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300")
    assert result.returncode == 2
    assert "not reachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_database_scheme_is_a_clear_error() -> None:
    result = cli("serve", "--database-url", "postgres://localhost/db")
    assert result.returncode == 2
    assert "postgres://" in result.stderr and "Traceback" not in result.stderr
