"""Odd input stops at the edge with a clear 4xx (issue 14 items 3 and 9), for every route in one place.

- A URL whose path or query holds a NUL character: 400 (PostgreSQL text cannot hold NUL; no route wants one).
- Bodies are capped: server.max_body_kb, or server.max_upload_mb for knowledge-base uploads
  (``POST /api/v1/kb/{tenant}/ingest``). Over the cap: a 413 JSON message naming the setting — at once when
  Content-Length says so, else as soon as the bytes counted so far pass it (chunked bodies too).
- A JSON body (``application/json``, ``+json`` or no content type, which FastAPI also reads as JSON) is read
  whole (under the cap) and refused when it is not UTF-8 (400) or when any key or string in it holds a lone
  surrogate (``"\\ud800"``: valid JSON, not valid Unicode text) or a NUL (422, naming the field). Invalid JSON
  and wrong types are left to FastAPI's own 422.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
UPLOAD_PATH = re.compile(r"^/api/v1/kb/[^/]+/ingest/?$")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes its cap; FastAPI re-raises it from body parsing as a 413."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # no content type: FastAPI parses the body as JSON


def bad_text(value: str) -> str | None:
    """Why a string cannot be accepted as text, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode); send UTF-8 text"
    return None


def find_bad_text(doc: Any) -> tuple[str, str] | None:
    """(field path, problem) of the first key or string in ``doc`` that is not valid text (iterative)."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            problem = bad_text(node)
            if problem:
                return where or "body", problem
        elif isinstance(node, dict):
            for key, value in node.items():
                problem = bad_text(key)
                if problem:
                    return f"{where}.{key!a}".lstrip("."), f"field name {problem}"
                stack.append((f"{where}.{key}".lstrip("."), value))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))
    return None


class InputHygiene:
    """Pure ASGI middleware (it must see chunked bodies as they arrive and replay what it read)."""

    def __init__(self, app: ASGIApp, body_kb: int, upload_mb: int) -> None:
        self.app = app
        self.body_kb = body_kb
        self.upload_mb = upload_mb

    def limit_for(self, path: str) -> tuple[int, str]:
        """(bytes, setting as shown in messages) for a request path."""
        if UPLOAD_PATH.match(path):
            return self.upload_mb * 2**20, f"server.max_upload_mb={self.upload_mb}"
        return self.body_kb * 1024, f"server.max_body_kb={self.body_kb}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if "\x00" in path or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await self._reject(scope, receive, send, 400, "the URL contains a NUL character")
            return
        limit, setting = self.limit_for(path)
        detail = f"request body too large: at most {limit} bytes here ({setting})"
        length = _content_length(scope)
        if length is not None and length > limit:
            log.info("body refused path=%s content_length=%d limit=%d", path, length, limit)
            await self._reject(scope, receive, send, 413, detail)
            return
        limited = _counting(receive, limit, detail)
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if scope.get("method") in ("POST", "PUT", "PATCH") and _is_json(scope):
                body = await self._read(limited)
                problem = self._check(body)
                if problem is not None:
                    await self._reject(scope, receive, send, *problem)
                    return
                limited = self._replay(body, limited)
            await self.app(scope, limited, watch)
        except BodyTooLarge:
            if started:
                raise
            log.info("body refused path=%s limit=%d (counted)", path, limit)
            await self._reject(scope, receive, send, 413, detail)

    @staticmethod
    async def _read(receive: Receive) -> bytes:
        parts: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    @staticmethod
    def _check(body: bytes) -> tuple[int, Any] | None:
        if not body:
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return 400, f"the request body is not valid UTF-8 (byte {exc.start})"
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None  # FastAPI answers invalid JSON with its own 422 (or 400)
        found = find_bad_text(doc)
        if found is None:
            return None
        where, problem = found
        log.info("input refused field=%s problem=%s", where, problem.split(";")[0])
        return 422, [{"type": "invalid_text", "loc": ["body", *where.split(".")], "msg": f"{where} {problem}"}]

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, status: int, detail: Any) -> None:
        await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _counting(receive: Receive, limit: int, detail: str) -> Receive:
    """``receive`` that raises BodyTooLarge once more than ``limit`` body bytes have arrived."""
    total = 0

    async def counted() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise BodyTooLarge(detail)
        return message

    return counted
