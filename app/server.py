"""create_app(settings) -> the Starlette app: routes, middleware, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app import openapi, rest
from app.auth import READ, WRITE, Principal, hash_token
from app.domain.errors import DomainError, PayloadTooLarge, field_error
from app.jsonio import JSONResponse
from app.service import Context, Service
from app.settings import Settings
from app.store import open_store
from app.store.base import Store, StoreError, StoreUnavailable
from schema import build_schema, is_unexpected
from schema.context import GraphQLContext

logger = logging.getLogger("crm_gateway")


class BodyLimit:
    """Reads a request body whole, up to a limit, before the app sees it; past it, a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes.")
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await rest.failure(too_large)(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await rest.failure(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return body

        await self.app(scope, replay, send)


# Strawberry builds a context even for the GraphiQL page, which executes nothing.
NOBODY = Context(Principal(token_id="", workspace="", scopes=frozenset()), "graphql", "")
OPERATIONS = (OperationType.QUERY, OperationType.MUTATION)


class GraphiQL(GraphQL[GraphQLContext, None]):
    """Strawberry's HTTP view, kept for the explorer page only (GET /graphql)."""

    async def get_context(self, request: Request, response: Response) -> GraphQLContext:  # type: ignore[override]
        return GraphQLContext(service=rest.service_of(request), request=NOBODY)


class GraphQLEndpoint:
    """/graphql: GraphiQL for a browser's GET; a POST needs a valid bearer token (else 401).

    A POST goes straight to `schema.execute`: Strawberry's HTTP view cost about twice the
    execution itself (measured: ~600 µs against ~300 µs a mutation), and a JSON POST is all
    this endpoint takes.
    """

    def __init__(self) -> None:
        self.schema = build_schema()
        self.explorer = GraphiQL(self.schema, graphql_ide="graphiql", allow_queries_via_get=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method != "POST":
            await self.explorer(scope, receive, send)
            return
        try:
            context = await rest.request_context(request, "graphql")
            query, variables, operation_name = await graphql_request(request)
        except DomainError as error:
            await rest.failure(error)(scope, receive, send)
            return
        response = await self.execute(request, context, query, variables, operation_name)
        await response(scope, receive, send)

    async def execute(
        self,
        request: Request,
        context: Context,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> JSONResponse:
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=GraphQLContext(service=rest.service_of(request), request=context),
                operation_name=operation_name,
                allowed_operation_types=OPERATIONS,
            )
        except InvalidOperationTypeError:
            return graphql_error(400, "Only queries and mutations are served here.")
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [masked(error) for error in result.errors]
        return JSONResponse(body)


def masked(error: GraphQLError) -> dict[str, Any]:
    """A client's own mistakes are shown; anything else is only "Unexpected error." (it was
    logged with its traceback by the schema's process_errors)."""
    formatted = dict(error.formatted)
    if is_unexpected(error):
        formatted = {**formatted, "message": "Unexpected error."}
        formatted.pop("extensions", None)
    return formatted


async def graphql_request(request: Request) -> tuple[str, dict[str, Any] | None, str | None]:
    """query, variables and operationName of a GraphQL-over-HTTP JSON POST, or a 400."""
    body = await rest.json_object(request)
    query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise field_error("query", "invalid_body", "The body needs a 'query' string.")
    if variables is not None and not isinstance(variables, dict):
        raise field_error("variables", "invalid_body", "'variables' must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise field_error("operationName", "invalid_body", "'operationName' must be a string.")
    return query, variables, name


def graphql_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message}]}, status_code=status)


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(openapi.document())


async def healthz(request: Request) -> JSONResponse:
    try:
        await rest.service_of(request).store.ping()
    except StoreError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def on_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return rest.failure(error)


async def on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return rest.failure(_http_error(error.status_code, str(error.detail)))


async def on_store_unavailable(request: Request, error: Exception) -> Response:
    logger.error("store unavailable: %s", error)
    return rest.failure(_http_error(503, "The database is not available; retry later."))


async def on_unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return rest.failure(_http_error(500, "Internal server error."))


def _http_error(status: int, message: str) -> DomainError:
    code = {404: "not_found", 405: "method_not_allowed", 503: "unavailable"}.get(
        status, "internal_error" if status >= 500 else "bad_request"
    )
    return rest.TransportError(status, code, message)


async def bootstrap_tokens(service: Service, bootstrap_token: str | None) -> None:
    """Make sure someone can call the API: the given token, or a new one printed once."""
    store = service.store
    if bootstrap_token:
        if await store.find_token(hash_token(bootstrap_token)) is None:
            await service.register_token("default", [READ, WRITE], bootstrap_token)
            logger.info("registered CRM_BOOTSTRAP_TOKEN for workspace 'default'")
        return
    if await store.count_tokens() == 0:
        token = await service.register_token("default", [READ, WRITE])
        logger.warning("no API token exists; created one for workspace 'default': %s", token)


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """The app; it opens the store named by the settings unless one is given (tests)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        opened = store or await open_store(settings.database_url)
        try:
            app.state.service = Service(opened)
            await bootstrap_tokens(app.state.service, settings.bootstrap_token)
            yield
        finally:
            if store is None:
                await opened.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
            Route("/graphql", GraphQLEndpoint(), methods=["GET", "POST"]),
            Mount("/v2/crm", routes=rest.routes),
        ],
        exception_handlers={
            DomainError: on_domain_error,
            HTTPException: on_http_error,
            StoreUnavailable: on_store_unavailable,
            Exception: on_unexpected,
        },
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
