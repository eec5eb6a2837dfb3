"""Judging QC flags against the truth: real problems vs false alarms."""

from __future__ import annotations

from localize.domain import Cue, CueTrack
from localize.flag_precision import TruthLine, judge_report
from localize.qc import Flag, build_report

TRUTH = [
    TruthLine(1000, 3000, "顾总，您好", {"en": "Hello, Mr. Gu."}),
    TruthLine(4000, 6000, "这份合同我签了", {"en": "I signed this contract."}),
    TruthLine(7000, 7400, "好", {"en": "Fine."}),  # too short in the material itself
]


def test_flags_on_right_cues_are_false_alarms_and_on_wrong_ones_real() -> None:
    zh = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "顾总，您好"),  # right
            Cue(4000, 6000, "这份合同我答了"),  # misread
            Cue(7000, 7400, "好"),  # right, but the caption itself is too short
            Cue(9000, 9100, "国"),  # never on screen
        ),
    )
    noise = Flag("source-conflict", "warning", "zh-Hans", 1, "captions and speech disagree")
    misread = Flag("source-conflict", "warning", "zh-Hans", 2, "captions and speech disagree")
    report = build_report({"zh-Hans": zh}, extra_flags={"zh-Hans": [noise, misread]})
    judged = judge_report(report, TRUTH).language("zh-Hans")
    assert judged.by_code["source-conflict"] == [2, 1]  # the one on the right cue is noise
    assert judged.by_code["too-short"] == [2, 2]  # in the material, and an invented glyph
    assert [(i, code) for i, code, _ in judged.false_alarms] == [(1, "source-conflict")]
    assert judged.flagged_cues == 4 and judged.precision == 4 / 5


def test_a_translation_equal_to_the_reference_has_no_real_content_problem() -> None:
    zh = CueTrack("zh-Hans", tuple(Cue(t.start_ms, t.end_ms, t.zh) for t in TRUTH))
    en = CueTrack(
        "en",
        (
            Cue(1000, 3000, "Hello, Mr. Gu.", source="顾总，您好"),
            Cue(4000, 6000, "这份合同我签了", source="这份合同我签了"),  # left in Chinese
            # a right line worded far too long for its two seconds: the translator's job
            Cue(7000, 7400, "Fine, fine, I will do it, whatever you say.", source="好"),
        ),
    )
    wrong = Flag("glossary", "error", "en", 1, "Mr. Gu missing")  # a rule misfiring
    report = build_report({"zh-Hans": zh, "en": en}, source=zh, extra_flags={"en": [wrong]})
    judged = judge_report(report, TRUTH).language("en")
    assert [(i, c) for i, c, _ in judged.false_alarms] == [(1, "glossary")]
    assert judged.real_flags == judged.flags - 1 >= 1  # the Chinese left in line 2
    assert judged.by_code["reading-speed"] == [1, 1]
