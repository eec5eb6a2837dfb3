"""Models compute on the run's thread count, never the machine's: the same settings give
the same numerics on every worker (see localize.numerics)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import pytest

from localize.models import ModelStore
from localize.numerics import DEFAULT_COMPUTE_THREADS, ct2_numerics
from localize.pool import ModelPool


class Recorder:
    """Stands in for a CTranslate2 model class: remembers how it was built."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Recorder.calls.append(kwargs)


@pytest.fixture
def many_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64-core worker: what the models are given must not follow it."""
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    Recorder.calls = []


def _needs(name: str) -> None:
    if not ModelStore().is_ready(name):
        pytest.skip(f"{name} is not prepared (scripts/setup.sh prepares it)")


@pytest.mark.usefixtures("many_cores")
def test_whisper_computes_on_the_runs_threads_not_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import faster_whisper

    from localize.transcribe import FasterWhisperTranscriber

    _needs("whisper-base")
    monkeypatch.setattr(faster_whisper, "WhisperModel", Recorder)
    default = FasterWhisperTranscriber("whisper-base")
    assert Recorder.calls[-1]["cpu_threads"] == DEFAULT_COMPUTE_THREADS == 2
    assert Recorder.calls[-1]["num_workers"] == 1
    assert default.numerics == ct2_numerics(2)
    FasterWhisperTranscriber("whisper-base", cpu_threads=3)
    assert Recorder.calls[-1]["cpu_threads"] == 3


@pytest.mark.usefixtures("many_cores")
def test_the_llm_computes_on_the_runs_threads_not_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ctranslate2
    import tokenizers

    from localize.translate.llm import LLMTranslator

    _needs("qwen2.5-coder-1.5b-instruct")
    monkeypatch.setattr(ctranslate2, "Generator", Recorder)
    monkeypatch.setattr(tokenizers.Tokenizer, "from_file", staticmethod(lambda path: None))
    LLMTranslator()
    assert Recorder.calls[-1]["intra_threads"] == 2
    assert Recorder.calls[-1]["inter_threads"] == 1
    LLMTranslator(threads=1)
    assert Recorder.calls[-1]["intra_threads"] == 1


def test_the_pool_never_shares_a_model_between_thread_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import localize.pool as pool_module
    import localize.translate as translate

    built: list[tuple[str, dict[str, Any]]] = []

    def build(backend: str, **kwargs: Any) -> object:
        built.append((backend, kwargs))
        return object()

    monkeypatch.setattr(pool_module, "create_transcriber", build)
    monkeypatch.setattr(translate, "create_translator", build)
    pool = ModelPool()
    one, two = pool.transcriber("m", threads=1), pool.transcriber("m", threads=2)
    assert one is not two and pool.transcriber("m", threads=1) is one
    assert [kw["cpu_threads"] for _, kw in built] == [1, 2]
    llm = pool.translator("llm", "q", threads=1)
    assert pool.translator("llm", "q", threads=3) is not llm
    assert pool.translator("llm", "q") is pool.translator("llm", "q", threads=2)
    assert [kw["threads"] for _, kw in built[2:]] == [1, 3, 2]
    with pytest.raises(ValueError, match="at least 1"):
        pool.transcriber("m", threads=0)


def test_the_manifest_record_loads_nothing_and_says_what_the_loaders_use() -> None:
    from localize.transcribe import FasterWhisperTranscriber
    from localize.translate.llm import LLMTranslator

    pool = ModelPool()
    record = pool.numerics(3, asr_backend="faster-whisper", mt_backend="llm")
    assert record == {
        "compute_threads": 3,
        "asr": FasterWhisperTranscriber.plan_numerics(3).to_json(),
        "mt": LLMTranslator.plan_numerics(3).to_json(),
    }
    assert record["asr"]["threads"] == record["mt"]["threads"] == 3
    assert pool.loaded() == []
    # a backend that computes nothing has no numerics; an OCR-only run records no ASR
    assert pool.numerics(1, mt_backend="fake") == {"compute_threads": 1, "mt": None}
