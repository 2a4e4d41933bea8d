"""The production adapter (`bot.web.asgi_app`): whole requests only reach the WSGI app; oversized ones never do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from bot.web import asgi_app


def _call(app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Run one HTTP request through an ASGI app; the body arrives in `chunks` (chunked: no Content-Length)."""
    sent: list[dict[str, Any]] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)  # a client that has sent everything just waits
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/slack/events",
        "raw_path": b"/slack/events",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 3000),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def test_the_wsgi_app_gets_the_whole_body_even_when_it_arrives_in_pieces() -> None:
    seen: list[tuple[str, bytes]] = []

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append((environ["CONTENT_LENGTH"], environ["wsgi.input"].read(length)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    app = asgi_app(wsgi, threads=2, max_body_bytes=100)
    status, body = _call(app, [b"payload=", b"%7B%7D", b"&x=1"], [(b"transfer-encoding", b"chunked")])
    assert (status, body) == (200, b"ok")
    assert seen == [("18", b"payload=%7B%7D&x=1")]


def test_a_chunked_body_over_the_limit_gets_413_and_never_reaches_the_app() -> None:
    reached: list[bytes] = []

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # The real door (bot.web.wsgi_app) answers 413 from CONTENT_LENGTH without reading; so does this one.
        if int(environ.get("CONTENT_LENGTH") or 0) > 100:
            start_response("413 Content Too Large", [])
            return [b""]
        reached.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    app = asgi_app(wsgi, threads=2, max_body_bytes=100)
    status, _ = _call(app, [b"x" * 60, b"x" * 60, b"x" * 60], [(b"transfer-encoding", b"chunked")])
    assert status == 413 and reached == []
