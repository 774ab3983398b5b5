"""The server under test for bench/ingest.py: footfall's app on one uvicorn worker (or N,
sharing the database and the rate limit as ``footfall serve --workers N`` does), plus a
bare endpoint on the same router, with the same CORS middleware and the same plain-ASGI
shape as footfall's ingestion endpoint, that only reads the body and answers 202: the
baseline of what this server stack can do."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from footfall import Analytics

BARE_PATH = "/bench/bare"
OPTIONS = ("FOOTFALL_BENCH_DATABASE", "FOOTFALL_BENCH_RATE_LIMIT_FILE")
"""How ``main`` hands the database and the shared rate-limit file to each worker."""


class Bare:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        headers = [(b"access-control-allow-origin", b"*"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def build(database: str, rate_limit_file: str | None = None) -> Any:
    analytics = Analytics(
        database_url=database, trusted_proxies=["127.0.0.1"], rate_limit_file=rate_limit_file
    )
    app = analytics.app
    cors = [Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST"])]
    app.router.routes.insert(0, Route(BARE_PATH, Bare(), methods=["POST"], middleware=cors))
    return app


def worker_app() -> Any:
    """The application of one of ``--workers`` processes (uvicorn calls this in each)."""
    return build(os.environ[OPTIONS[0]], os.environ[OPTIONS[1]])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    server: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "loop": args.loop,
    }
    if args.workers == 1:
        uvicorn.run(build(args.database), **server)
        return
    with tempfile.TemporaryDirectory(prefix="footfall-bench-") as shared:
        os.environ[OPTIONS[0]] = args.database
        os.environ[OPTIONS[1]] = str(Path(shared) / "rate-limit")
        uvicorn.run(
            "ingest_server:worker_app",
            factory=True,
            workers=args.workers,
            app_dir=str(Path(__file__).parent),
            **server,
        )


if __name__ == "__main__":
    main()
