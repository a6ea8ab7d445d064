"""Bearer tokens: made random, stored as SHA-256 hashes, resolved to a workspace and scopes.

A token is 32 random bytes, so a plain SHA-256 is enough: there is nothing to brute-force,
and a fast hash keeps authentication off the hot path.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain.errors import Forbidden, Unauthorized, ValidationFailed, field_error
from app.store.base import Store, Token

READ = "crm:read"
WRITE = "crm:write"
SCOPES = frozenset({READ, WRITE})
TOKEN_PREFIX = "crm_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, its workspace and what it may do."""

    token_id: str
    workspace: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        # crm:write implies crm:read.
        if scope in self.scopes or (scope == READ and WRITE in self.scopes):
            return
        raise Forbidden(f"This token lacks the '{scope}' scope.")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(scopes)
    unknown = chosen - SCOPES
    if unknown or not chosen:
        raise field_error(
            "scope",
            "invalid_scope",
            f"Scopes must be among {sorted(SCOPES)}; got {sorted(chosen)}.",
        )
    return chosen


def issue_token(
    workspace: str, scopes: Iterable[str], token: str | None = None
) -> tuple[str, Token]:
    """A token in clear (a new random one unless given) and the record to store of it."""
    if not workspace.strip():
        raise ValidationFailed("The workspace must not be empty.")
    clear = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    return clear, Token(
        id=str(uuid.uuid4()),
        workspace=workspace,
        scopes=check_scopes(scopes),
        token_hash=hash_token(clear),
        created_at=datetime.now(UTC),
    )


async def authenticate(store: Store, authorization: str | None) -> Principal:
    scheme, _, credential = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("Send an 'Authorization: Bearer <token>' header.")
    token = await store.find_token(hash_token(credential.strip()))
    if token is None:
        raise Unauthorized("The bearer token is not valid.")
    return Principal(token_id=token.id, workspace=token.workspace, scopes=token.scopes)
