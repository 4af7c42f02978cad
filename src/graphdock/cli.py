"""The `graphdock` command: flags → Settings → server. No business logic lives here."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from graphdock.errors import CommandError, ConfigError, GraphdockError
from graphdock.http_protocol import OneWriteHttpToolsProtocol
from graphdock.settings import Settings, webhook_environment

if TYPE_CHECKING:
    from graphdock.project import ProjectConfig

# Idle keep-alive connections stay open this long: longer than a client or proxy in front keeps
# them (httpx, under the Python SDK, drops them after 5 s; a load balancer's default is 60 s), so
# the client always closes first. When the server closes first, a request the client sends at that
# moment fails with a connection reset (a 502 behind a proxy).
KEEP_ALIVE_SECONDS = 65


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        if args.command == "assistants":
            code = _assistants(args)
        else:
            flags = {k: v for k, v in vars(args).items() if k not in {"command", "no_reload"}}
            if args.command == "dev":
                flags["reload"] = not args.no_reload
            code = _COMMANDS[args.command](Settings.build(flags))
    except GraphdockError as exc:  # config, graphs, database unreachable, export/import refused
        print(f"graphdock: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphdock", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("dev", "serve a langgraph.json for development (reloads on change)"),
        ("serve", "serve a langgraph.json in production (no reload)"),
        ("migrate", "apply pending database migrations and exit"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--config", help="path of langgraph.json [GRAPHDOCK_CONFIG; default ./langgraph.json]"
        )
        sub.add_argument(
            "--database-url",
            help="sqlite:///path/file.sqlite3 or postgresql://user@host/db"
            " [GRAPHDOCK_DATABASE_URL; default <project>/.graphdock/graphdock.sqlite3]",
        )
        if name == "migrate":
            continue
        sub.add_argument("--host", help="interface to bind [GRAPHDOCK_HOST; default 127.0.0.1]")
        sub.add_argument(
            "--port", type=int, help="port to bind, 0 for any free one [GRAPHDOCK_PORT; default 2024]"
        )
        sub.add_argument(
            "--max-body-bytes", type=int, help="larger bodies get 413 [GRAPHDOCK_MAX_BODY_BYTES]"
        )
        sub.add_argument(
            "--log-level", help="debug, info, warning, error [GRAPHDOCK_LOG_LEVEL; default info]"
        )
        sub.add_argument(
            "--run-concurrency",
            type=int,
            help="runs executing at once, 0 for an API-only replica [GRAPHDOCK_RUN_CONCURRENCY; default 32]",
        )
        sub.add_argument(
            "--shutdown-grace-seconds",
            type=int,
            help="how long running runs may finish on shutdown [GRAPHDOCK_SHUTDOWN_GRACE_SECONDS; default 10]",
        )
        sub.add_argument(
            "--redis-url",
            help="redis://host:port/db, for several replicas on one PostgreSQL [GRAPHDOCK_REDIS_URL]",
        )
        sub.add_argument(
            "--run-lease-seconds",
            type=int,
            help="a run whose replica stops renewing its lease this long is retried or failed"
            " [GRAPHDOCK_RUN_LEASE_SECONDS; default 30]",
        )
        sub.add_argument(
            "--run-max-attempts",
            type=int,
            help="attempts a run gets before a lost lease fails it [GRAPHDOCK_RUN_MAX_ATTEMPTS; default 3]",
        )
        sub.add_argument(
            "--heartbeat-seconds",
            type=float,
            help="while a run is silent, wait/join send a newline and SSE a comment this often"
            " [GRAPHDOCK_HEARTBEAT_SECONDS; default 5]",
        )
        sub.add_argument(
            "--cron-tick-seconds",
            type=int,
            help="how often the cron scheduler looks for due crons [GRAPHDOCK_CRON_TICK_SECONDS; default 5]",
        )
        sub.add_argument(
            "--api-keys",
            help="built-in auth: comma-separated name:key entries; prefer the variable, flags show in ps"
            " [GRAPHDOCK_API_KEYS]",
        )
        if name == "dev":
            sub.add_argument("--no-reload", action="store_true", help="do not restart when files change")
    _add_assistants_commands(commands)
    return parser


def _add_assistants_commands(commands: Any) -> None:
    group = commands.add_parser("assistants", help="move assistants with their whole history between servers")
    actions = group.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write every version of every assistant as JSON")
    export.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    export.add_argument(
        "--assistant-id", action="append", dest="assistant_ids", help="only this one (repeatable)"
    )
    imported = actions.add_parser("import", help="read an export: keeps version numbers and active versions")
    imported.add_argument("file", type=Path, help="a file written by `graphdock assistants export`")
    imported.add_argument("--dry-run", action="store_true", help="report what would happen, write nothing")
    for action in (export, imported):
        action.add_argument("--url", default="http://127.0.0.1:2024", help="the graphdock server to talk to")
        action.add_argument(
            "--batch-size", type=int, default=100, help="assistants per request (default 100)"
        )
        action.add_argument("--api-key", help="sent as x-api-key, for a server that requires one")


def _assistants(args: argparse.Namespace) -> int:
    from graphdock import transfer

    if not 1 <= args.batch_size <= 1000:
        raise CommandError("--batch-size must be between 1 and 1000")
    if args.action == "import":
        return transfer.import_assistants(args.url, args.file, args.batch_size, args.dry_run, args.api_key)
    output = None if args.output == "-" else Path(args.output)
    return transfer.export_assistants(args.url, output, args.assistant_ids, args.batch_size, args.api_key)


def _serve(settings: Settings) -> int:
    import uvloop

    from graphdock.app import create_app
    from graphdock.auth.loading import load_policy
    from graphdock.logs import configure_logging
    from graphdock.project import fill_header_templates, load_project_config
    from graphdock.runtime.graphs import GraphRegistry

    configure_logging(settings.log_level)
    sock = _bind(settings)

    async def run() -> None:
        # Graphs and auth load before the server starts, so an import error is one clear message
        # and an exit code, not a traceback from inside the ASGI lifespan.
        project = load_project_config(settings.config)
        fill_header_templates(project.webhooks.headers, webhook_environment(project.env))
        graphs = await GraphRegistry.load(project)
        policy = load_policy(project, settings.api_keys)
        if not policy.enabled and settings.exposed:
            print(
                f"graphdock: WARNING: listening on {settings.host} with no authentication: anyone who "
                "can reach this port can read and change every assistant, thread and run. Set "
                "GRAPHDOCK_API_KEYS or an 'auth' entry in langgraph.json (docs/auth.md).",
                file=sys.stderr,
                flush=True,
            )
        await _check_database(settings, project)
        app = create_app(settings, graphs, policy)
        port = sock.getsockname()[1]
        print(
            f"graphdock: serving {settings.config} on http://{settings.host}:{port}",
            file=sys.stderr,
            flush=True,
        )
        # What is loaded by now (LangGraph, LangChain, pydantic, the graphs: ~250,000 objects the
        # collector tracks) lives as long as the process. Frozen, the full collections a busy
        # server triggers every few hundred runs stop walking it: they took a third of the CPU of a
        # stateless run at 32 clients (~0.15 s each). No gc.collect() first: at this point it
        # takes ~0.15 s of start-up to free some 600 objects.
        gc.freeze()
        await uvicorn.Server(server_config(app, settings)).serve(sockets=[sock])

    uvloop.run(run())
    return 0


def server_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """uvicorn's settings for graphdock: `serve` and the test harness's servers use these."""
    options: dict[str, Any] = {
        "log_level": settings.log_level,
        "access_log": False,
        "lifespan": "on",
        # Open streams would otherwise hold shutdown forever; runs get their own grace after.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "http": OneWriteHttpToolsProtocol,  # a response in one socket write, not two
    }
    return uvicorn.Config(app, **{**options, **overrides})


def _dev(settings: Settings) -> int:
    if not settings.reload:
        return _serve(settings)
    from graphdock.project import fill_header_templates, load_project_config
    from graphdock.runtime.graphs import GraphRegistry

    # Fail fast, with the same clear message as `serve`, before the reloader takes over.
    project = load_project_config(settings.config)
    fill_header_templates(project.webhooks.headers, webhook_environment(project.env))
    asyncio.run(GraphRegistry.load(project))
    _bind(settings).close()
    # The reloading child rebuilds Settings from the environment: same names, same values.
    os.environ.update(settings.to_env())
    print(
        f"graphdock: serving {settings.config} on http://{settings.host}:{settings.port} (reload)",
        file=sys.stderr,
    )
    uvicorn.run(
        "graphdock.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=True,
        reload_dirs=[str(settings.project_dir)],
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        http=OneWriteHttpToolsProtocol,
    )
    return 0


async def _check_database(settings: Settings, project: ProjectConfig) -> None:
    """Open the database and the store once (applying migrations and the store's setup), so an
    unreachable database or a store it cannot serve (no pgvector) is one clear message."""
    from graphdock.runtime.store import open_store
    from graphdock.storage import storage_for

    storage = storage_for(settings.resolved_database_url)
    await storage.open()  # opening applies pending migrations
    await storage.close()
    async with open_store(settings.resolved_database_url, project.store, project.root):
        pass


def _migrate(settings: Settings) -> int:
    from graphdock.project import load_project_config
    from graphdock.runtime.checkpoints import open_saver

    async def migrate() -> None:
        # The store's setup may need the project (store.index: embeddings, vector tables).
        await _check_database(settings, load_project_config(settings.config))
        async with open_saver(settings.resolved_database_url):  # LangGraph's checkpoint tables
            pass

    asyncio.run(migrate())
    print(f"graphdock: {settings.resolved_database_url} is up to date", file=sys.stderr)
    return 0


def _bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP so that asyncio recognises a TCP socket and sets TCP_NODELAY on connections.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {settings.port} on {settings.host} is already in use; "
                "choose another with --port (or GRAPHDOCK_PORT; with make dev: make dev PORT=<port>)"
            ) from None
        raise ConfigError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


_COMMANDS: dict[str, Any] = {"dev": _dev, "serve": _serve, "migrate": _migrate}
