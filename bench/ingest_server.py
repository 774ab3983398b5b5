"""The server under test for bench/ingest.py: footfall's app on one uvicorn worker, plus a
bare endpoint on the same router, with the same CORS middleware and the same plain-ASGI
shape as footfall's ingestion endpoint, that only reads the body and answers 202: the
baseline of what this server stack can do."""

from __future__ import annotations

import argparse

import uvicorn
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from footfall import Analytics

BARE_PATH = "/bench/bare"


class Bare:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        headers = [(b"access-control-allow-origin", b"*"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    args = parser.parse_args()
    analytics = Analytics(database_url=args.database, trusted_proxies=["127.0.0.1"])
    app = analytics.app
    cors = [Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST"])]
    app.router.routes.insert(0, Route(BARE_PATH, Bare(), methods=["POST"], middleware=cors))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        loop=args.loop,
    )


if __name__ == "__main__":
    main()
