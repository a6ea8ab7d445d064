"""What every resolver gets: the service and the request's context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.types import Info as StrawberryInfo

from app.service import Context, Service


@dataclass(frozen=True)
class GraphQLContext:
    service: Service
    request: Context


Info = StrawberryInfo[GraphQLContext, Any]
