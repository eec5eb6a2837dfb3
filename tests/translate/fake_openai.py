"""A fake OpenAI-compatible chat server on loopback: the FakeTranslator behind real HTTP.

It answers ``POST /v1/chat/completions`` the way an obedient instruction model would:
each numbered line of the "Translate:" block word for word (``FakeTranslator``), with the
prompt's required glossary renderings applied. Tests script failures (status codes,
``Retry-After``) and read what it received (headers, bodies, requests in flight).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from localize.translate.fake import FakeTranslator

_REQUIRED = re.compile(r"^Glossary for these lines \(required\): (.*)$", re.MULTILINE)
_LINE = re.compile(r"^(\d+)\. (?:\[[^\]]*\] )?(.*)$")


@dataclass
class FakeServer:
    url: str = ""
    #: statuses to answer with first, one per request: (status, headers)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: seconds each successful answer takes (to see requests overlap)
    delay: float = 0.0
    translator: FakeTranslator = field(default_factory=FakeTranslator)
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, body: dict[str, Any]) -> str:
        user = body["messages"][-1]["content"]
        required: dict[str, str] = {}
        match = _REQUIRED.search(user)
        if match:
            for pair in match.group(1).split("; "):
                zh, _, target = pair.partition(" -> ")
                required[zh] = target
        block = user.rsplit("Translate:\n", 1)[-1]
        out = []
        for raw in block.splitlines():
            numbered = _LINE.match(raw)
            if numbered:
                text = self.translator.translate_line(numbered.group(2), required)
                out.append(f"{numbered.group(1)}. {text}")
        return "\n".join(out)


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length))
            with server.lock:
                server.headers.append(dict(self.headers))
                server.bodies.append(body)
                failure = server.failures.pop(0) if server.failures else None
                server.in_flight += 1
                server.most_in_flight = max(server.most_in_flight, server.in_flight)
            try:
                if failure is not None:
                    status, headers = failure
                    self._send(status, {"error": {"message": "scripted failure"}}, headers)
                    return
                time.sleep(server.delay)
                reply = server.reply(body)
                self._send(
                    200,
                    {
                        "choices": [{"message": {"role": "assistant", "content": reply}}],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 10},
                    },
                )
            finally:
                with server.lock:
                    server.in_flight -= 1

        def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@contextmanager
def fake_openai_server(**kwargs: Any) -> Iterator[FakeServer]:
    state = FakeServer(**kwargs)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
