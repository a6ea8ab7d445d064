"""Configuration: environment variables, overridden by CLI flags. Nothing else lives here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

# Relative to the folder `serve` runs in; the folder is created.
DEFAULT_DATABASE_URL = "sqlite:///./data/crm.db"
# A batch of 1000 wide records is several MB; larger bodies get a 413.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Registered at start-up for workspace `default` with read and write scopes, if unknown.
    bootstrap_token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> Settings:
        settings = cls(
            database_url=environ.get("CRM_DATABASE_URL") or DEFAULT_DATABASE_URL,
            bootstrap_token=environ.get("CRM_BOOTSTRAP_TOKEN") or None,
            max_body_bytes=int(environ.get("CRM_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
