"""Backend-independent translation guarantees: memory first, glossary enforced, no lost lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.errors import TranslationError
from localize.glossary import Glossary, load_glossary
from localize.translate.enforce import leftover_source_script, translate_cues
from localize.translate.fake import FakeTranslator
from localize.translate.memory import TranslationMemory

TABLE = {"你好": "hello", "签": "sign", "这份": "this", "我们走": "let's go", "。": ".", "，": ", "}


@pytest.fixture
def glossary(glossary_path: Path) -> Glossary:
    return load_glossary(glossary_path)


def _track(*texts: str) -> CueTrack:
    return CueTrack(
        "zh-Hans", tuple(Cue(i * 2000, i * 2000 + 1500, t) for i, t in enumerate(texts))
    )


def test_instruction_backend_gets_the_glossary_and_passes(glossary: Glossary) -> None:
    fake = FakeTranslator(TABLE, follows_instructions=True)
    track, outcomes = translate_cues(
        _track("顾总，你好。", "我们走。"), fake, target="en", glossary=glossary
    )
    texts = [c.text for c in track.cues]
    assert texts[0].startswith("Mr. Gu") and "hello" in texts[0]
    assert texts[1].startswith("let's go")
    assert all(not o.problems for o in outcomes)
    # the glossary pairs were in the request context
    assert fake.calls[0].context is not None
    assert ("顾总", "Mr. Gu") in fake.calls[0].context.required[0]
    # timings and sources are kept
    assert [(c.start_ms, c.end_ms, c.source) for c in track.cues] == [
        (0, 1500, "顾总，你好。"),
        (2000, 3500, "我们走。"),
    ]


def test_seq2seq_backend_gets_protected_names_in_the_source(glossary: Glossary) -> None:
    fake = FakeTranslator(TABLE, follows_instructions=False)
    track, outcomes = translate_cues(_track("林晚，你好。"), fake, target="en", glossary=glossary)
    assert "Lin Wan" in fake.calls[0].lines[0]
    assert track.cues[0].text.startswith("Lin Wan")
    assert not outcomes[0].problems


def test_lines_that_break_the_glossary_are_retried_then_flagged(glossary: Glossary) -> None:
    # this backend ignores instructions and knows 总裁 only as "CEO"
    fake = FakeTranslator({"总裁": "CEO", "。": "."}, follows_instructions=True)
    fake.follows_instructions = True
    fake_context_free = FakeTranslator({"总裁": "CEO", "。": "."})
    fake_context_free.follows_instructions = True  # claims to follow, but has no glossary logic
    fake_context_free.translate = (  # type: ignore[method-assign]
        lambda lines, **kw: ["CEO." for _ in lines]
    )
    track, outcomes = translate_cues(
        _track("总裁。"), fake_context_free, target="en", glossary=glossary, max_attempts=3
    )
    assert outcomes[0].attempts == 3
    assert any("Mr. Gu" in p for p in outcomes[0].problems)
    assert track.cues[0].text == "CEO."  # kept for the reviewer, not dropped


def test_leftover_chinese_is_replaced_and_flagged() -> None:
    assert leftover_source_script("Lin晚, you signed", "en")
    assert not leftover_source_script("林晚", "zh-Hant")
    fake = FakeTranslator({})  # knows nothing: Han passes through
    track, outcomes = translate_cues(_track("天哪"), fake, target="en")
    # never published in Chinese: romanised as the last resort, and flagged for review
    assert track.cues[0].text == "Tian Na"
    assert any("pinyin" in p for p in outcomes[0].problems)


def test_a_backend_that_loses_a_line_is_an_error_not_a_shift() -> None:
    fake = FakeTranslator(TABLE, drop_line_at=0)
    with pytest.raises(TranslationError, match="returned 1 lines for 2"):
        translate_cues(_track("你好", "我们走"), fake, target="en")


def test_translation_memory_is_used_first(tmp_path: Path, glossary: Glossary) -> None:
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    memory.approve([("我们走。", "Let's get out of here.")], "en", who="ana")
    fake = FakeTranslator(TABLE, follows_instructions=True)
    track, outcomes = translate_cues(
        _track("我们走。", "你好。"), fake, target="en", glossary=glossary, memory=memory
    )
    assert track.cues[0].text == "Let's get out of here."
    assert outcomes[0].origin == "memory-approved"
    assert list(fake.calls[0].lines) == ["你好。"]  # only the unknown line reached the model
    # machine output is remembered for the same model + glossary version...
    again = FakeTranslator(TABLE, follows_instructions=True)
    _, outcomes2 = translate_cues(
        _track("你好。"), again, target="en", glossary=glossary, memory=memory
    )
    assert outcomes2[0].origin == "memory" and again.calls == []
    # ...but not when the glossary changed
    translate_cues(_track("你好。"), again, target="en", glossary=None, memory=memory)
    assert len(again.calls) == 1


def test_target_lines_are_wrapped_to_the_profile() -> None:
    long = "hello " * 12
    fake = FakeTranslator({"长": long.strip()})
    track, _ = translate_cues(_track("长"), fake, target="en")
    lines = track.cues[0].text.split("\n")
    assert len(lines) == 2 and all(len(line) <= 42 for line in lines)


def test_a_target_with_no_style_profile_fails_before_any_line_is_translated() -> None:
    from localize.errors import StyleProfileError

    fake = FakeTranslator(TABLE)
    with pytest.raises(StyleProfileError, match="xx"):
        translate_cues(_track("你好。"), fake, target="xx")
    assert fake.calls == []


def test_every_language_offered_anywhere_has_a_style_profile() -> None:
    """The deployment form, the catalog and the CLI offer these; each must run to the end."""
    import typing

    from flows.params import TargetLanguage
    from localize.segment import load_style_profile

    offered = typing.get_args(TargetLanguage)
    assert {"fr", "de"} <= set(offered)
    for lang in offered:
        assert load_style_profile(lang).language == lang
