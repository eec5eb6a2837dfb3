"""Choosing the Chinese source: captions, speech, or both fused."""

from __future__ import annotations

import pytest

from localize.domain import Cue, CueTrack, Segment, Transcript
from localize.errors import LocalizeError
from localize.ocr import OcrResult
from localize.pipeline import choose_source

CAPTIONS = CueTrack("zh-Hans", (Cue(1000, 3000, "顾总，您好"), Cue(4000, 6000, "这份合同我签了")))
SPEECH = (
    CueTrack("zh-Hans", (Cue(1050, 2950, "顾总您好"), Cue(8000, 9500, "你刚才说什么"))),
    Transcript(
        "zh-Hans",
        10_000,
        (
            Segment(1050, 2950, "顾总您好", avg_logprob=-0.2),
            Segment(4100, 5900, "这份合同我签了", avg_logprob=-0.2),
            Segment(8000, 9500, "你刚才说什么？", avg_logprob=-0.2),
        ),
    ),
)


def _ocr(track: CueTrack, *, none: bool = False) -> OcrResult:
    return OcrResult(
        track=track,
        events=(),
        band=None,
        band_source="none" if none else "given",
        fps=25.0,
        duration_ms=10_000,
        no_captions=none,
        warnings=("no captions found",) if none else (),
    )


def test_fused_keeps_captions_and_adds_uncaptioned_speech_with_a_flag() -> None:
    choice = choose_source("fused", asr=SPEECH, ocr=_ocr(CAPTIONS))
    texts = [c.text for c in choice.track.cues]
    assert texts[:2] == ["顾总，您好", "这份合同我签了"]
    assert any("你刚才说什么" in t for t in texts[2:])
    assert choice.origin == "fused"
    assert any(f.code == "source-conflict" and f.index == 3 for f in choice.flags)


def test_without_captions_fused_falls_back_to_speech_and_says_so() -> None:
    choice = choose_source("fused", asr=SPEECH, ocr=_ocr(CueTrack("zh-Hans"), none=True))
    assert choice.track == SPEECH[0] and choice.origin == "asr"
    assert any("no burned-in captions" in n for n in choice.notes)


def test_ocr_mode_without_captions_is_a_clear_error() -> None:
    with pytest.raises(LocalizeError, match="no burned-in captions"):
        choose_source("ocr", asr=None, ocr=_ocr(CueTrack("zh-Hans"), none=True))


def test_asr_mode_ignores_captions() -> None:
    assert choose_source("asr", asr=SPEECH, ocr=_ocr(CAPTIONS)).track == SPEECH[0]


def test_parallel_episodes_share_one_loaded_translator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two catalog episodes asking for the LLM at the same moment load it once: a second
    copy would cost ~1.9 GB more."""
    import threading
    import time

    import localize.translate as translate
    from localize.pool import ModelPool

    loads: list[str] = []

    def slow_load(backend: str, **kwargs: object) -> object:
        loads.append(backend)
        time.sleep(0.2)  # loading takes a while: both threads arrive before it ends
        return object()

    monkeypatch.setattr(translate, "create_translator", slow_load)
    pool = ModelPool()
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(pool.translator("llm", "m"))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == ["llm"] and got[0] is got[1]
    assert pool.translator("llm", "other") is not got[0] and loads == ["llm", "llm"]


def _glossary_with_targets(tmp_path, targets: str):  # type: ignore[no-untyped-def]
    from localize.glossary import load_glossary

    path = tmp_path / "s.toml"
    path.write_text(
        f'[series]\nid = "s"\ntitle = {{ en = "S" }}\ntargets = {targets}\n', encoding="utf-8"
    )
    return load_glossary(path)


def test_targets_default_to_the_glossarys_targets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from localize.pipeline import choose_targets

    glossary = _glossary_with_targets(tmp_path, '["es", "fr"]')
    assert choose_targets(None, glossary) == ("es", "fr")
    assert choose_targets([], glossary) == ("es", "fr")
    assert choose_targets(["de"], glossary) == ("de",)


def test_targets_are_checked_before_any_stage(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from localize.errors import StyleProfileError
    from localize.pipeline import choose_targets

    glossary = _glossary_with_targets(tmp_path, '["en"]')
    with pytest.raises(StyleProfileError, match="xx"):
        choose_targets(["en", "xx"], glossary)
    with pytest.raises(LocalizeError, match="dub languages es are not among the targets"):
        choose_targets(None, glossary, dub=["es"])


# ------------------------------------------------- decisions the episode flow delegates
def test_failed_speech_leaves_the_episode_to_the_captions_and_says_why() -> None:
    from localize.errors import TranscriptionError

    failed = TranscriptionError("the audio sounds like 'en'", "pass --no-language-check")
    choice = choose_source("fused", asr=None, ocr=_ocr(CAPTIONS), asr_error=failed)
    assert choice.track == CAPTIONS and choice.origin == "ocr"
    assert "speech recognition failed (the audio sounds like 'en')" in choice.notes[0]


def test_failed_speech_without_captions_is_the_speech_error() -> None:
    from localize.errors import TranscriptionError

    failed = TranscriptionError("the audio sounds like 'en'", "pass --no-language-check")
    with pytest.raises(TranscriptionError) as err:
        choose_source("fused", asr=None, ocr=_ocr(CueTrack("zh-Hans"), none=True), asr_error=failed)
    assert err.value is failed


@pytest.mark.parametrize(
    ("mode", "audio", "video", "asr", "ocr"),
    [
        ("fused", True, True, True, True),
        ("fused", False, True, False, True),
        ("asr", True, True, True, False),
        ("ocr", True, True, False, True),
        ("ocr", True, False, False, False),
    ],
)
def test_source_stages_follow_the_mode_and_the_streams(
    mode: str, audio: bool, video: bool, asr: bool, ocr: bool
) -> None:
    from pathlib import Path

    from localize.media import AudioStream, MediaInfo, VideoStream
    from localize.pipeline import SourceStages

    info = MediaInfo(
        Path("e.mp4"),
        60_000,
        "mp4",
        (VideoStream(0, "h264", 720, 1280, 25.0),) if video else (),
        (AudioStream(1, "aac", 44100, 2),) if audio else (),
    )
    stages = SourceStages.for_episode(mode, info)  # type: ignore[arg-type]
    assert (stages.asr, stages.ocr) == (asr, ocr)
    assert stages.tolerates_asr_failure() == ocr


def test_stage_plan_lists_what_the_run_will_do() -> None:
    from localize.pipeline import SourceStages, stage_plan
    from localize.settings import EpisodeParams

    params = EpisodeParams(video="e.mp4", series="s", dub=["en"], burn=["en"], review=False)
    plan = stage_plan(params, ["en", "es"], SourceStages(asr=True, ocr=False), has_video=True)
    assert plan == ["transcribe", "translate en", "translate es", "speakers", "qc", "dub en",
                    "pictures", "package"]  # fmt: skip
    no_picture = stage_plan(params, ["en"], SourceStages(asr=True, ocr=False), has_video=False)
    assert "pictures" not in no_picture


def test_merge_flags_keeps_every_stage_s_flags_per_language() -> None:
    from localize.pipeline import merge_flags
    from localize.qc import Flag

    a = Flag("source-conflict", "warning", "zh-Hans", 1, "m", 0.0, 0.0)
    b = Flag("reading-speed", "warning", "en", 2, "m", 0.0, 0.0)
    c = Flag("glossary", "error", "en", 3, "m", 0.0, 0.0)
    merged = merge_flags({"zh-Hans": [a]}, {"en": [b]}, {"en": [c]})
    assert merged == {"zh-Hans": [a], "en": [b, c]}


def _read(track: CueTrack, confidences: tuple[float, ...]) -> OcrResult:
    from localize.ocr.scan import OcrEvent

    events = tuple(
        OcrEvent(c.start_ms, c.end_ms, c.text, p, c.start_ms // 40, c.end_ms // 40)
        for c, p in zip(track.cues, confidences, strict=True)
    )
    return OcrResult(track, events, None, "given", 25.0, 10_000, False)


def test_captions_read_confidently_are_the_text_and_raise_no_conflicts() -> None:
    """Misheard speech under clear captions is not a reviewer's problem; under a caption
    read poorly it is worth a look."""
    misheard = (
        SPEECH[0],
        Transcript(
            "zh-Hans",
            10_000,
            (
                Segment(1050, 2950, "故总您号", avg_logprob=-0.6),
                Segment(4100, 7200, "这个河童我钱了", avg_logprob=-0.6),  # 1.2 s late too
            ),
        ),
    )
    clear = choose_source("fused", asr=misheard, ocr=_read(CAPTIONS, (0.99, 0.98)))
    assert [c.text for c in clear.track.cues] == ["顾总，您好", "这份合同我签了"]
    assert clear.flags == ()
    blurred = choose_source("fused", asr=misheard, ocr=_read(CAPTIONS, (0.99, 0.7)))
    assert [f.index for f in blurred.flags] == [2]  # the unclear one, 1.2 s off its speech


def test_speech_repeating_a_late_or_split_caption_adds_nothing() -> None:
    """Fused is never worse than the captions: speech heard before a late caption, or
    a sliver between two parts of a split caption, is the same line, not a new one."""
    from localize.metrics import character_error_rate

    captions = CueTrack(
        "zh-Hans",
        (Cue(1800, 3000, "顾总，您好"), Cue(4000, 5000, "这份合同"), Cue(5080, 6000, "我签了")),
    )
    speech = (
        captions,
        Transcript(
            "zh-Hans",
            10_000,
            (
                Segment(500, 3000, "顾总您好", avg_logprob=-0.3),  # caption 1.3 s late
                Segment(4500, 5600, "合同，我", avg_logprob=-0.3),  # over the split
                Segment(5000, 5090, "签", avg_logprob=-0.3),  # the 80 ms between the halves
                Segment(8000, 9500, "你刚才说什么？", avg_logprob=-0.3),  # uncaptioned
            ),
        ),
    )
    choice = choose_source("fused", asr=speech, ocr=_read(captions, (0.99, 0.99, 0.99)))
    truth = "顾总，您好这份合同我签了你刚才说什么？"
    ocr_only = "".join(c.text for c in captions.cues)
    fused = "".join(c.text for c in choice.track.cues)
    assert character_error_rate(truth, fused) < character_error_rate(truth, ocr_only)
    assert [c.text for c in choice.track.cues][3:] == ["你刚才说什么？"]
    assert [f.index for f in choice.flags] == [4]  # the added line, for a look


def test_no_speech_result_means_no_source_conflicts() -> None:
    """Speech recognition failed or refused (asr None) or heard nothing: nothing to
    disagree with, so a clear caption track comes through without a flag."""
    ocr = _read(CAPTIONS, (0.99, 0.99))
    assert choose_source("fused", asr=None, ocr=ocr).flags == ()
    silent = (CueTrack("zh-Hans"), Transcript("zh-Hans", 10_000, ()))
    assert choose_source("fused", asr=silent, ocr=ocr).flags == ()
    unread = _read(CAPTIONS, (0.5, 0.5))
    assert choose_source("fused", asr=silent, ocr=unread).flags == ()
