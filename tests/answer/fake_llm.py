"""A real local HTTP server speaking the OpenAI chat-completions protocol, scripted by the test.

    server = FakeLlmServer().start()
    server.enqueue(Status(500), '{"answer": "…", "sources_used": [1], "completeness": "full"}')
    LlmSettings(base_url=server.base_url, ...)
    ...
    assert server.history[0]["temperature"] == 0

Each ``POST /v1/chat/completions`` takes the next scripted reply from the queue (the default reply
when it is empty):

- ``str``: the assistant message content, in a normal 200 completion;
- ``Status(code)``: that HTTP status with an OpenAI-style error body;
- ``Slow(seconds, content)``: sleep, then answer (to outlast the client timeout);
- ``Malformed()``: a 200 whose content is not the expected JSON (``body=True``: a body that is not
  JSON at all);
- ``DiesAfter(chars, content)``: streams ``content`` and drops the connection after ``chars`` characters;
- a callable ``(request body) -> reply``: computed from the request (e.g. echo the prompt).

A request with ``"stream": true`` gets the content as ``chat.completion.chunk`` Server-Sent Events, a few
characters per event (``stream_delay_s`` apart), ending with ``data: [DONE]``.

``history`` holds every request body (messages, temperature, max_tokens …) in arrival order;
``GET /v1/models`` lists the one model.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Status:
    code: int
    message: str = "scripted failure"


@dataclass(frozen=True)
class Slow:
    seconds: float
    content: str = '{"answer": "late", "sources_used": [], "completeness": "none"}'


@dataclass(frozen=True)
class Malformed:
    body: bool = False  # True: the HTTP body itself is not JSON
    content: str = "Sure! Here is what I found: the office opens at 9."


@dataclass(frozen=True)
class DiesAfter:
    """Stream ``content`` but drop the connection after ``chars`` characters (a server dying mid-answer)."""

    chars: int
    content: str


Reply = str | Status | Slow | Malformed | DiesAfter | Callable[[dict[str, Any]], Any]  # a callable returns a Reply


class FakeLlmServer:
    def __init__(self, model: str = "fake-model", default: Reply = "") -> None:
        self.model = model
        self.default: Reply = default or json.dumps(
            {"answer": "No scripted reply.", "sources_used": [], "completeness": "none"})
        self.history: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self.stream_chars = 8  # characters per streamed event
        self.stream_delay_s = 0.01
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> FakeLlmServer:
        with self._lock:
            self._queue.extend(replies)
        return self

    def set_default(self, reply: Reply) -> None:
        self.default = reply

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.history.clear()
            self.paths.clear()

    @property
    def requests(self) -> int:
        return len(self.history)

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.history.append(body)
            reply = self._queue.popleft() if self._queue else self.default
        while callable(reply):
            reply = reply(body)
        return reply

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeLlmServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _send(self, code: int, payload: bytes, ctype: str = "application/json") -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def _stream(self, body: dict[str, Any], content: str, dies: int | None) -> None:
                cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"

                def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
                    chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": body.get("model", server.model),
                             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()

                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(event({"role": "assistant", "content": ""}))
                    sent = 0
                    for i in range(0, len(content), server.stream_chars):
                        if dies is not None and sent >= dies:
                            self.wfile.flush()
                            self.connection.shutdown(2)  # the server died mid-answer
                            return
                        piece = content[i:i + server.stream_chars]
                        self.wfile.write(event({"content": piece}))
                        self.wfile.flush()
                        sent += len(piece)
                        if server._stop.wait(server.stream_delay_s):
                            return
                    self.wfile.write(event({}, "stop"))
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

            def do_GET(self) -> None:
                server.paths.append(self.path)
                if self.path.rstrip("/") == "/v1/models":
                    body = {"object": "list", "data": [
                        {"id": server.model, "object": "model", "created": 0, "owned_by": "fake"}]}
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}).encode())

            def do_POST(self) -> None:
                server.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, json.dumps({"error": {"message": "request is not JSON"}}).encode())
                    return
                reply = server._next(body)
                if isinstance(reply, Status):
                    err = {"error": {"message": reply.message, "type": "server_error" if reply.code >= 500
                                     else "invalid_request_error", "code": reply.code}}
                    self._send(reply.code, json.dumps(err).encode())
                    return
                if isinstance(reply, Slow):
                    if server._stop.wait(reply.seconds):
                        return
                    reply = reply.content
                if isinstance(reply, Malformed):
                    if reply.body:
                        self._send(200, b"<html>502 Bad Gateway</html> not json {", "application/json")
                        return
                    reply = reply.content
                dies = reply.chars if isinstance(reply, DiesAfter) else None
                content = reply.content if isinstance(reply, DiesAfter) else str(reply)
                if body.get("stream"):
                    self._stream(body, content, dies)
                    return
                completion = {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", server.model),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": sum(len(str(m.get("content", ""))) for m in body.get("messages", [])),
                              "completion_tokens": len(content), "total_tokens": 0},
                }
                self._send(200, json.dumps(completion, ensure_ascii=False).encode())

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeLlmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for assertions --------------------------------------------------------------

    def prompt(self, i: int = -1) -> str:
        """All message contents of request ``i``, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.history[i].get("messages", []))

    def messages(self, i: int = -1) -> list[dict[str, Any]]:
        return list(self.history[i].get("messages", []))
