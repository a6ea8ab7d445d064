"""`crm-gateway serve | tokens create | import`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from pathlib import Path

import httpx

from app.auth import READ, SCOPES
from app.domain.errors import DomainError
from app.service import Service
from app.settings import Settings
from app.store import open_store
from app.store.base import StoreError

DATABASE_URL_HELP = (
    "sqlite:///./data/crm.db (default), memory:// or mongodb://…; env CRM_DATABASE_URL"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (REST shim and GraphQL)")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")
    serve.add_argument("--database-url", help=DATABASE_URL_HELP)

    tokens = commands.add_parser("tokens", help="manage API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--workspace", required=True)
    create.add_argument(
        "--scope",
        action="append",
        choices=sorted(SCOPES),
        default=None,
        help="repeat for several scopes (default crm:read)",
    )
    create.add_argument("--database-url", help=DATABASE_URL_HELP)

    sync = commands.add_parser(
        "import", help="assert every row of a CSV or JSON Lines file through a running gateway"
    )
    sync.add_argument("file", type=Path, help="a .csv (with a header) or .jsonl file")
    sync.add_argument("--object", required=True, help="the object's slug, e.g. products")
    sync.add_argument("--match", required=True, help="the matching attribute, e.g. sku")
    sync.add_argument("--batch", type=int, default=1000, help="records a request (1-1000)")
    sync.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    sync.add_argument("--token", help="bearer token (default: $CRM_TOKEN)")
    sync.add_argument("--rejects", type=Path, help="where failed rows go (FILE.rejects.jsonl)")
    sync.add_argument("--retries", type=int, default=5, help="per request, on 429/5xx")
    return parser


async def serve(settings: Settings) -> None:
    import uvicorn

    from app.server import create_app

    # Opened here, not in the app's lifespan, so a bad database URL is one clear line.
    store = await open_store(settings.database_url)
    try:
        app = create_app(settings, store=store)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None)
        freeze_startup_heap()
        await uvicorn.Server(config).serve()
    finally:
        await store.close()


def freeze_startup_heap() -> None:
    """Take what lives as long as the process (modules, the GraphQL schema, the app) out of
    the garbage collector's generations: a full collection during a batch then walks only
    the objects of the requests in flight. Measured: see docs/performance.md."""
    gc.collect()
    gc.freeze()


async def create_token(settings: Settings, workspace: str, scopes: list[str]) -> str:
    store = await open_store(settings.database_url)
    try:
        return await Service(store).register_token(workspace, scopes)
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "import":
        return import_file(args)
    settings = Settings.from_env(
        database_url=args.database_url,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            asyncio.run(serve(settings))
            return 0
        if settings.database_url.startswith("memory://"):
            print(
                "warning: memory:// keeps nothing; this token dies with this command.",
                file=sys.stderr,
            )
        token = asyncio.run(create_token(settings, args.workspace, args.scope or [READ]))
    except (DomainError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(token)
    return 0


def import_file(args: argparse.Namespace) -> int:
    """0: every row asserted; 1: some rows failed (see the rejects file); 2: could not run."""
    from app.importer import Importer, ImportFailed, Options

    token = args.token or os.environ.get("CRM_TOKEN", "")
    if not token:
        print("error: give --token or set CRM_TOKEN.", file=sys.stderr)
        return 2
    if not 1 <= args.batch <= 1000:
        print("error: --batch must be 1-1000.", file=sys.stderr)
        return 2
    options = Options(
        path=args.file,
        object_slug=args.object,
        match=args.match,
        batch=args.batch,
        url=args.url,
        token=token,
        rejects=args.rejects,
        retries=args.retries,
    )
    with httpx.Client(base_url=args.url, timeout=120) as client:
        try:
            totals = Importer(client, options).run()
        except ImportFailed as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if totals.failed:
        print(f"{totals.failed} row(s) failed: see {options.rejects_path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
