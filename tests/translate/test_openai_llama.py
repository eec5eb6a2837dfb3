"""The openai backend against a real OpenAI-compatible server: llama.cpp serving the packaged GGUF.

Each test starts ``python -m llama_cpp.server`` (``scripts/setup.sh --dev`` installs
``llama-cpp-python[server]``) on a free loopback port and stops it. Sample lines are few:
a 2-core CPU decodes ~10 tokens/s.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from localize.cli import main
from localize.glossary import load_glossary
from localize.models import ModelStore
from localize.translate.chat import LLMOptions
from localize.translate.openai import EndpointError, EndpointOptions, OpenAITranslator

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(600)]

KEY = "sk-llama-test-5d41402abc4b2a76"
LINES = [
    "林晚，你签了这份契约。",
    "顾总，这是您要的文件。",
    "苏曼，你别太过分！",
    "林小姐，请跟我来。",
]
SETUP_HINT = "run scripts/setup.sh --dev (it installs llama-cpp-python[server])"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def llama_server(tmp_path: Path) -> Iterator[Server]:
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        pytest.fail(f"llama_cpp.server is missing: {SETUP_HINT}", pytrace=False)
    gguf = ModelStore().resolve("qwen2.5-coder-1.5b-instruct-gguf", fetch=False)
    model = next(gguf.glob("*.gguf"))
    port = _free_port()
    log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_threads", "2", "--n_ctx", "4096",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}/v1", process, log)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama.cpp server did not come up in 300 s")
            time.sleep(0.5)
        yield server
    finally:
        process.kill()
        process.wait()


def _srt(path: Path, lines: list[str]) -> Path:
    blocks = [
        f"{i + 1}\n00:00:{2 * i:02d},000 --> 00:00:{2 * i + 1:02d},500\n{line}\n"
        for i, line in enumerate(lines)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_episode_lines_through_llama_cpp_follow_the_glossary(
    llama_server: Server,
    glossary_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LOCALIZE_MT_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    work = tmp_path / "run"
    work.mkdir()
    source = _srt(work / "ep01.zh.srt", LINES)
    out = work / "ep01.en.srt"
    argv = ["translate", str(source), "--to", "en", "--out", str(out), "--series"]
    argv += [str(glossary_path), "--memory", str(work / "tm.sqlite"), "--mt-backend", "openai"]
    argv += ["--mt-model", "qwen", "--mt-endpoint", llama_server.url]
    assert main(argv) == 0
    glossary = load_glossary(glossary_path)
    blocks = [b for b in out.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    translated = [b.split("\n", 2)[2].replace("\n", " ") for b in blocks]
    assert len(translated) == len(LINES)
    for zh, en in zip(LINES, translated, strict=True):  # glossary adherence: 100%
        assert glossary.check_adherence(zh, en, "en") == [], (zh, en)
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in en), en
    # the key went to the server only: not in anything the run wrote, logged or printed
    assert _files_containing(work, KEY) == []
    printed = capsys.readouterr()
    assert KEY not in caplog.text + printed.out + printed.err


def test_a_server_killed_mid_run_is_retried_then_named_and_nothing_is_written(
    llama_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("localize.translate.openai._sleep", lambda s: time.sleep(min(s, 0.2)))
    translator = OpenAITranslator(
        "qwen",
        endpoint=llama_server.url,
        options=LLMOptions(lines_per_request=1),
        endpoint_options=EndpointOptions(concurrency=1, attempts=3),
    )

    def kill_after_first_answer() -> None:
        while translator.usage.requests < 1:
            time.sleep(0.05)
        llama_server.process.kill()

    killer = threading.Thread(target=kill_after_first_answer, daemon=True)
    killer.start()
    with pytest.raises(EndpointError) as info:
        translator.translate(LINES, source="zh-Hans", target="en")
    killer.join()
    assert llama_server.url in str(info.value)
    assert "did not answer after 3 attempts" in str(info.value)
    assert translator.usage.retries == 2
    # through the CLI: the error names the endpoint and no subtitle file is written
    source = _srt(tmp_path / "ep01.zh.srt", LINES)
    out = tmp_path / "ep01.en.srt"
    argv = ["translate", str(source), "--to", "en", "--out", str(out), "--mt-backend", "openai"]
    assert main([*argv, "--mt-model", "qwen", "--mt-endpoint", llama_server.url]) == 1
    assert llama_server.url in capsys.readouterr().err
    assert not out.exists()


class _Throttle(BaseHTTPRequestHandler):
    """A proxy that answers the first request with 429 Retry-After and forwards the rest."""

    upstream = ""
    throttled: list[str] = []  # noqa: RUF012

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if not self.throttled:
            self.throttled.append(self.path)
            self._send(429, b'{"error": "slow down"}', {"Retry-After": "3"})
            return
        reply = httpx.post(f"{self.upstream}{self.path}", content=body, timeout=300,
                           headers={"content-type": "application/json"})  # fmt: skip
        self._send(reply.status_code, reply.content, {})

    def _send(self, status: int, raw: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)


def test_a_429_from_the_server_waits_for_retry_after(
    llama_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("localize.translate.openai._sleep", slept.append)
    upstream = llama_server.url.removesuffix("/v1")
    handler = type("Throttle", (_Throttle,), {"upstream": upstream, "throttled": []})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        translator = OpenAITranslator(
            "qwen", endpoint=f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        )
        out = translator.translate(["苏曼，你别太过分！"], source="zh-Hans", target="en")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert handler.throttled == ["/v1/chat/completions"]
    assert len(slept) == 1 and slept[0] >= 3
    assert out[0].strip() and not any("\u4e00" <= ch <= "\u9fff" for ch in out[0])  # answered
    assert json.dumps(translator.usage.as_dict())  # usage stays JSON-able for the manifest
