"""Lines/s of the same lines through in-process CTranslate2 (``llm``) and llama.cpp's
OpenAI-compatible server (``openai``) serving the packaged GGUF, in one run.

    python -m bench.mt_endpoint [--reverse]

Model load and server start are excluded; both go through ``translate_cues`` with the
sample glossary and default settings. Needs ``llama-cpp-python[server]`` (setup.sh --dev).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from localize.domain import Cue, CueTrack
from localize.glossary import load_glossary
from localize.models import ModelStore
from localize.translate.base import Translator
from localize.translate.enforce import translate_cues

LINES = [
    "林晚，你签了这份契约。",
    "顾总，这是您要的文件。",
    "奶奶，我来看您了。",
    "苏曼，你别太过分！",
    "林小姐，请跟我来。",
    "我们的合同只有一年。",
    "你为什么要骗我？",
    "顾言深，我恨你。",
    "陈秘书，把会议推迟到明天。",
    "这件事不能让奶奶知道。",
    "我不会放弃的。",
    "晚晚，回家吧。",
]
GLOSSARY = Path(__file__).resolve().parent.parent / "glossaries" / "ceo-contract-bride.toml"


def measure(name: str, translator: Translator) -> float:
    glossary = load_glossary(GLOSSARY)
    track = CueTrack(
        "zh-Hans", tuple(Cue(i * 2000, i * 2000 + 1500, t) for i, t in enumerate(LINES))
    )
    start = time.perf_counter()
    _, outcomes = translate_cues(track, translator, target="en", glossary=glossary)
    seconds = time.perf_counter() - start
    flagged = sum(bool(o.problems) for o in outcomes)
    rate = len(LINES) / seconds
    print(f"{name}: {len(LINES)} lines in {seconds:.1f} s = {rate:.2f} lines/s, {flagged} flagged")
    return rate


def in_process() -> float:
    from localize.translate.llm import LLMTranslator

    return measure("ctranslate2 in-process (llm)", LLMTranslator())


def through_server() -> float:
    from localize.translate.openai import EndpointOptions, OpenAITranslator

    gguf = next(
        ModelStore().resolve("qwen2.5-coder-1.5b-instruct-gguf", fetch=False).glob("*.gguf")
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
        "--port", str(port), "--n_threads", "2", "--n_ctx", "4096",
    ]  # fmt: skip
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise SystemExit("llama.cpp server exited") from None
            time.sleep(0.5)
        translator = OpenAITranslator(
            "qwen", endpoint=url, endpoint_options=EndpointOptions(concurrency=1)
        )
        rate = measure("llama.cpp server (openai), 1 in flight", translator)
        print(f"  usage: {translator.usage.as_dict()}")
        return rate
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reverse", action="store_true", help="the server first")
    args = parser.parse_args()
    order: list[Callable[[], float]] = [in_process, through_server]
    for run in reversed(order) if args.reverse else order:
        run()


if __name__ == "__main__":
    main()
