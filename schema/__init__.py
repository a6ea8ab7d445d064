"""The Strawberry schema of crm-gateway. Resolvers are thin: they call `app.service`."""

from __future__ import annotations

import logging

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.types import ExecutionContext

from schema.mutations import Mutation
from schema.queries import Query

logger = logging.getLogger("crm_gateway.graphql")

MAX_DEPTH = 10
MAX_ALIASES = 30
# Built once: limiters built per request would defeat ValidationCache.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    max_depth_rule(MAX_DEPTH, None),
    max_aliases_rule(MAX_ALIASES),
]


def is_unexpected(error: GraphQLError) -> bool:
    """A Python exception from a resolver, not a syntax, validation or client error."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class CrmSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes are answered, not logged with a traceback; bugs are.
        for error in errors:
            if is_unexpected(error):
                logger.error("GraphQL resolver failed", exc_info=error.original_error)
            else:
                logger.debug("GraphQL client error: %s", error.message)


def build_schema() -> strawberry.Schema:
    return CrmSchema(
        query=Query,
        mutation=Mutation,
        # No MaskErrors: /graphql masks while it formats the answer (app.server.masked),
        # one extension fewer on every request.
        extensions=[
            lambda: AddValidationRules(LIMIT_RULES),
            ParserCache,
            ValidationCache,
        ],
    )
