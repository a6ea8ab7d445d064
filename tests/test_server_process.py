"""The gateway as users run it: `crm-gateway` in a real process, over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import ROOT, ServerProcess, create_products


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(f"sqlite:///{tmp_path}/crm.db") as running:
        yield running


def test_zeeg_example_over_real_http(server: ServerProcess) -> None:
    with server.client() as client:
        create_products(client, unique_sku=False)
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


def test_graphiql_and_401_over_real_http(server: ServerProcess) -> None:
    page = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    anonymous = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert anonymous.status_code == 401


def test_the_default_store_is_a_file_in_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CRM_DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.settings import Settings; print(Settings.from_env().database_url)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.strip() == "sqlite:///./data/crm.db"


def test_without_any_token_one_is_generated_and_logged_once(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path}/crm.db", env={"CRM_BOOTSTRAP_TOKEN": ""})
    with server:
        pass
    tokens = re.findall(r"workspace 'default': (crm_\S+)", server.log)
    assert len(tokens) == 1, server.log
    again = ServerProcess(f"sqlite:///{tmp_path}/crm.db", env={"CRM_BOOTSTRAP_TOKEN": ""})
    with again, httpx.Client(base_url=again.url, timeout=10) as client:
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        assert client.get("/v2/crm/objects/nothing", headers=auth).status_code == 404
    assert "created one" not in again.log  # the store has a token now: none is printed


def test_tokens_create_prints_only_the_token_and_it_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.db"
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
        url,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"crm_[A-Za-z0-9_-]{40,}\n", result.stdout)
    with ServerProcess(url) as server:
        auth = {"Authorization": f"Bearer {result.stdout.strip()}"}
        response = httpx.post(
            f"{server.url}/v2/crm/objects",
            json={"slug": "deals", "singularName": "Deal", "pluralName": "Deals"},
            headers=auth,
            timeout=10,
        )
    assert response.status_code == 201


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
