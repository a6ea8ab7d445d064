"""Run `crm-gateway serve` as a real process (uvicorn) for the tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parent.parent
BOOT_TOKEN = "boot-token-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`with ServerProcess(url) as server:` starts a gateway and waits for /healthz."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.env = {**os.environ, "CRM_BOOTSTRAP_TOKEN": BOOT_TOKEN, **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.log = ""

    def __enter__(self) -> ServerProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                self.database_url,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._wait_healthy()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early: {self.stop()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"server not healthy in 20 s: {self.stop()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        """Terminate (if still running) and return what the server logged."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
            _, self.log = self.process.communicate(timeout=10)
            self.process = None
        return self.log

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {BOOT_TOKEN}"}, timeout=10
        )

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {BOOT_TOKEN}"}, timeout=30
        )


def create_products(client: httpx.Client, unique_sku: bool = True) -> None:
    response = client.post(
        "/v2/crm/objects",
        json={"slug": "products", "singularName": "Product", "pluralName": "Products"},
    )
    assert response.status_code == 201, response.text
    for body in (
        {"label": "SKU", "type": "text", "isUnique": unique_sku},
        {"label": "Price", "type": "number"},
        {"label": "Inventory Count", "type": "number"},
    ):
        response = client.post("/v2/crm/objects/products/attributes", json=body)
        assert response.status_code == 201, response.text
