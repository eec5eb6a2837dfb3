"""Timing repairs: what the pipeline fixes itself before QC, and what it leaves."""

from __future__ import annotations

from localize.domain import Cue, CueTrack
from localize.qc import build_report
from localize.segment import load_style_profile
from localize.timing import repair_tracks

ZH = load_style_profile("zh-Hans")  # 80 ms minimum gap, 833 ms minimum duration


def _codes(source: CueTrack, targets: dict[str, CueTrack]) -> list[str]:
    report = build_report({source.language: source, **targets}, source=source)
    return [f.code for lang in report.languages for f in lang.flags]


def test_gaps_and_short_cues_the_pipeline_made_are_repaired_in_every_language() -> None:
    zh = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "顾总，您好"),
            Cue(3040, 5000, "这份合同我签了"),  # 40 ms after the previous one
            Cue(6000, 6700, "好。"),  # 700 ms, a second free after it
            Cue(9000, 11000, "你刚才说什么？"),
        ),
    )
    en = CueTrack(
        "en",
        tuple(
            replace_text(c, t)
            for c, t in zip(
                zh.cues,
                ["Mr. Gu, hello.", "I signed this contract.", "Good.", "What did you say?"],
                strict=True,
            )
        ),
    )
    assert {"gap", "too-short"} <= set(_codes(zh, {"en": en}))
    fixed = repair_tracks(zh, {"en": en})
    assert _codes(fixed.source, fixed.targets) == []
    kinds = sorted((r.language, r.index, r.kind) for r in fixed.repairs)
    assert kinds == [
        ("en", 1, "gap"),
        ("en", 3, "duration"),
        ("zh-Hans", 1, "gap"),
        ("zh-Hans", 3, "duration"),
    ]
    assert fixed.summary() == "4 timing repairs (2 duration, 2 gap)"
    # nothing moved by more than a slip, texts untouched
    for before, after in zip(zh.cues, fixed.source.cues, strict=True):
        assert after.text == before.text
        assert abs(after.start_ms - before.start_ms) <= 200


def replace_text(cue: Cue, text: str) -> Cue:
    return Cue(cue.start_ms, cue.end_ms, text, source=cue.text)


def test_a_fragment_joins_its_neighbour_and_a_split_caption_becomes_one_cue() -> None:
    zh = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "契约是假的，"),
            Cue(3080, 3400, "可我"),  # a 320 ms fragment with no room to grow
            Cue(3480, 6000, "想护着你"),
            Cue(8000, 9000, "晚晚"),
            Cue(9080, 10500, "晚晚"),  # the same caption read twice
        ),
    )
    fixed = repair_tracks(zh, {})
    assert [c.text for c in fixed.source.cues] == ["契约是假的，可我", "想护着你", "晚晚"]
    assert [(c.start_ms, c.end_ms) for c in fixed.source.cues] == [
        (1000, 3400),
        (3480, 6000),
        (8000, 10500),
    ]
    assert [r.kind for r in fixed.repairs] == ["merge", "merge"]
    assert _codes(fixed.source, {}) == []


def test_what_cannot_be_fixed_safely_is_left_for_qc() -> None:
    zh = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 1300, "不！"),  # too short, and the next cue is right there...
            Cue(1380, 8100, "你听我解释，这件事情不是你想的那样"),  # ...and too long to join
            Cue(7100, 9000, "够了"),  # overlaps by a whole second: a person decides
        ),
    )
    fixed = repair_tracks(zh, {})
    assert fixed.source.cues[2] == zh.cues[2]
    assert "overlap" in _codes(fixed.source, {})
    assert "too-short" in _codes(fixed.source, {})


def test_repairs_can_be_turned_off() -> None:
    zh = CueTrack("zh-Hans", (Cue(1000, 3000, "你好"), Cue(3040, 5000, "再见")))
    off = repair_tracks(zh, {}, enabled=False)
    assert off.source == zh and off.repairs == () and off.summary() == "no timing repairs"


def test_after_a_merge_flags_and_translation_notes_point_at_the_same_lines() -> None:
    """Merging renumbers the cues: a source-conflict flag and a translation's pinyin note
    on a later line must still land on that line, in every language."""
    from localize.pipeline import repair_episode_timing
    from localize.qc import Flag, QCReport
    from localize.translate.enforce import LineOutcome

    zh = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "契约是假的，"),
            Cue(3080, 3400, "可我"),  # a fragment: joins cue 1
            Cue(3480, 7000, "晚晚，从今天起"),
        ),
    )
    en = CueTrack(
        "en",
        (
            Cue(1000, 3000, "The contract is fake,", source="契约是假的，"),
            Cue(3080, 3400, "but I", source="可我"),
            Cue(3480, 7000, "Wan Wan, from today", source="晚晚，从今天起"),
        ),
    )
    outcomes = [
        LineOutcome(1, "契约是假的，", "The contract is fake,", "model"),
        LineOutcome(2, "可我", "but I", "model"),
        LineOutcome(3, "晚晚，从今天起", "Wan Wan, from today", "model", 3, ("pinyin",)),
    ]
    conflict = Flag("source-conflict", "warning", "zh-Hans", 3, "check the line")
    timed = repair_episode_timing(
        zh, {"en": en}, {"en": outcomes}, {"zh-Hans": [conflict]}, media_duration_ms=10_000
    )
    assert [c.text for c in timed.targets["en"].cues] == [
        "The contract is fake, but I",
        "Wan Wan, from today",
    ]
    assert [f.index for f in timed.flags["zh-Hans"]] == [2]
    assert [(o.index, o.problems) for o in timed.outcomes["en"]] == [(1, ()), (2, ("pinyin",))]
    assert timed.outcomes["en"][0].translation == "The contract is fake, but I"
    report = build_report(
        {"zh-Hans": timed.source, **timed.targets},
        source=timed.source,
        timing_repairs=timed.repairs,
    )
    again = QCReport.from_json(report.to_json())
    assert again.timing_repairs == timed.repairs and again.to_json() == report.to_json()
    assert "2 timing repairs" in report.to_markdown()
