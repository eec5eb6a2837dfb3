"""The OpenAI-compatible backend against a fake chat server on loopback: retries, limits, keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.errors import TranslationError
from localize.glossary import load_glossary
from localize.translate import create_translator
from localize.translate.enforce import translate_cues
from localize.translate.memory import TranslationMemory
from localize.translate.openai import EndpointError, EndpointOptions, OpenAITranslator, base_url
from tests.translate.fake_openai import fake_openai_server

KEY = "sk-test-7f3a9c0e-never-log-me"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("localize.translate.openai._sleep", slept.append)
    return slept


def _track(*texts: str) -> CueTrack:
    return CueTrack(
        "zh-Hans", tuple(Cue(i * 2000, i * 2000 + 1500, t) for i, t in enumerate(texts))
    )


def test_episode_lines_go_through_the_endpoint_with_the_glossary_enforced(
    glossary_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALIZE_MT_API_KEY", KEY)
    glossary = load_glossary(glossary_path)
    memory = TranslationMemory(tmp_path / "tm.jsonl")
    with fake_openai_server() as server:
        translator = create_translator("openai", model="qwen", endpoint=server.url)
        track, outcomes = translate_cues(
            _track("顾总，你好。", "林晚，我们走。"),
            translator,
            target="en",
            glossary=glossary,
            memory=memory,
        )
        assert [c.text for c in track.cues] == ["Mr. Gu, you good.", "Lin Wan, we go."]
        assert not any(o.problems for o in outcomes)
        assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
        # the glossary went into the system prompt, as for the local LLM
        assert "顾总 -> Mr. Gu" in server.bodies[0]["messages"][0]["content"]
        assert translator.usage.prompt_tokens == 100 * len(server.bodies)
        # the memory answers a second run: no request at all
        sent = len(server.bodies)
        again, _ = translate_cues(
            _track("顾总，你好。"), translator, target="en", glossary=glossary, memory=memory
        )
        assert again.cues[0].text == "Mr. Gu, you good." and len(server.bodies) == sent
    assert KEY not in translator.model_id
    assert KEY.encode() not in (tmp_path / "tm.jsonl").read_bytes()


def test_429_waits_at_least_what_retry_after_asks(sleeps: list[float]) -> None:
    with fake_openai_server(failures=[(429, {"Retry-After": "7"})]) as server:
        translator = OpenAITranslator("m", endpoint=server.url)
        assert translator.translate(["你好"], source="zh-Hans", target="en") == ["you good"]
    assert len(sleeps) == 1 and sleeps[0] >= 7
    assert translator.usage.retries == 1 and translator.usage.requests == 1


def test_5xx_and_refused_connections_back_off_then_name_the_endpoint(
    sleeps: list[float],
) -> None:
    limits = EndpointOptions(attempts=4, backoff_s=1.0, max_backoff_s=8.0)
    with fake_openai_server(failures=[(503, {})] * 10) as server:
        translator = OpenAITranslator("m", endpoint=server.url, endpoint_options=limits)
        with pytest.raises(EndpointError) as info:
            translator.translate(["你好"], source="zh-Hans", target="en")
        assert len(server.bodies) == 4
    assert server.url in info.value.message and "HTTP 503" in info.value.message
    assert len(sleeps) == 3 and all(0.5 <= s <= 8.0 for s in sleeps)
    # nobody listens here any more: connection errors are retried the same way
    sleeps.clear()
    with pytest.raises(EndpointError, match="did not answer after 4 attempts"):
        translator.translate(["你好"], source="zh-Hans", target="en")
    assert len(sleeps) == 3


def test_a_bad_key_fails_at_once_naming_the_variable_not_the_key(
    sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_MT_KEY", KEY)
    with fake_openai_server(failures=[(401, {})]) as server:
        translator = OpenAITranslator("m", endpoint=server.url, api_key_env="MY_MT_KEY")
        with pytest.raises(EndpointError) as info:
            translator.translate(["你好"], source="zh-Hans", target="en")
    assert "MY_MT_KEY" in info.value.hint
    assert KEY not in f"{info.value.message} {info.value.hint}"
    assert sleeps == [] and len(server.bodies) == 1


def test_requests_in_flight_never_exceed_the_endpoint_limit() -> None:
    limits = EndpointOptions(concurrency=2)
    lines = [f"{i}你好" for i in range(24)]
    with fake_openai_server(delay=0.05) as server:
        translator = OpenAITranslator("m", endpoint=server.url, endpoint_options=limits)
        out = translator.translate(lines, source="zh-Hans", target="en")
    assert out == [f"{i} you good" for i in range(24)]
    assert server.most_in_flight == 2  # 3 requests of 8 lines: two at a time


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://gpu-box:8000", "http://gpu-box:8000/v1"),
        ("http://gpu-box:8000/v1/", "http://gpu-box:8000/v1"),
        ("https://api.example.com/openai/v1", "https://api.example.com/openai/v1"),
    ],
)
def test_endpoints_are_normalised_to_an_api_base(given: str, expected: str) -> None:
    assert base_url(given) == expected


@pytest.mark.parametrize("bad", ["gpu-box:8000", "ftp://x/v1", "http://user:sk-secret@x/v1"])
def test_bad_endpoints_are_refused_before_any_request(bad: str) -> None:
    with pytest.raises(TranslationError) as info:
        base_url(bad)
    assert "sk-secret" not in info.value.message


def test_the_pool_keeps_one_client_per_endpoint() -> None:
    from localize.pool import ModelPool

    pool = ModelPool()
    a = pool.translator("openai", "m", "http://gpu-a:8000/v1")
    assert pool.translator("openai", "m", "http://gpu-a:8000/v1") is a  # one request limit
    b = pool.translator("openai", "m", "http://gpu-b:8000/v1")
    assert b is not a and b.endpoint == "http://gpu-b:8000/v1"


def test_episode_params_need_an_endpoint_and_take_a_variable_name_not_a_key() -> None:
    from pydantic import ValidationError

    from flows.params import EpisodeParams

    base = {"video": "ep.mp4", "series": "s", "mt_backend": "openai"}
    with pytest.raises(ValidationError, match="needs mt_endpoint"):
        EpisodeParams(**base)
    ok = EpisodeParams(**base, mt_endpoint="http://gpu-box:8000/v1", mt_api_key_env="MY_KEY")
    assert ok.mt_api_key_env == "MY_KEY"
    with pytest.raises(ValidationError):
        EpisodeParams(**base, mt_endpoint="http://gpu-box:8000/v1", mt_api_key_env=KEY)


def test_a_key_from_a_secret_store_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from localize.pool import ModelPool

    monkeypatch.setenv("LOCALIZE_MT_API_KEY", "sk-the-variable")
    with fake_openai_server() as server:
        pool = ModelPool()
        translator = pool.translator("openai", "m", server.url, api_key=KEY)
        translator.translate(["你好"], source="zh-Hans", target="en")
    assert server.headers[0]["Authorization"] == f"Bearer {KEY}"


def test_the_cli_asks_for_an_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from localize.cli import main

    source = tmp_path / "ep.zh.srt"
    source.write_text("1\n00:00:00,000 --> 00:00:01,000\n你好\n", encoding="utf-8")
    out = tmp_path / "ep.en.srt"
    argv = ["translate", str(source), "--to", "en", "--out", str(out), "--mt-backend", "openai"]
    assert main(argv) == 2  # a usage error: the command line lacks the server
    assert "--mt-endpoint" in capsys.readouterr().err and not out.exists()
