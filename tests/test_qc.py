"""Tests for localize.qc: every check on a bad and a good cue, counting, the report."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError
from localize.glossary import Glossary, load_glossary
from localize.qc import (
    FLAG_CODES,
    Flag,
    QCReport,
    build_report,
    check_track,
    glossary_adherence,
)
from localize.segment import StyleProfile, load_style_profile
from localize.translate.enforce import LineOutcome

EXAMPLE = Path(__file__).resolve().parents[1] / "glossaries" / "ceo-contract-bride.toml"


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return load_glossary(EXAMPLE)


def profile(lang: str) -> StyleProfile:
    return load_style_profile(lang)


def en(*cues: Cue) -> CueTrack:
    return CueTrack("en", cues)


def of(flags: list[Flag], code: str) -> list[Flag]:
    return [f for f in flags if f.code == code]


# en profile: 42 chars/line, 2 lines, 17 (target) / 20 (max) chars/s, 833..7000 ms, 80 ms gap
OK = "Sign here."  # 10 chars: 5 chars/s over 2 s, fine everywhere

# (id, bad cues, good cues, check_track kwargs, code, severity, index, numbers in message)
CASES: list[
    tuple[str, tuple[Cue, ...], tuple[Cue, ...], dict[str, Any], str, str, int, tuple[str, ...]]
] = [
    (
        "reading-speed-error",
        (Cue(0, 1200, "I never signed that contract."),),  # 29 chars / 1.2 s = 24.17
        (Cue(0, 2000, "I never signed that contract."),),  # 14.5
        {},
        "reading-speed",
        "error",
        1,
        ("24.2", "20"),
    ),
    (
        "reading-speed-warning",
        (Cue(0, 1000, "Where is Secretary"),),  # 18 chars/s: over 17, under 20
        (Cue(0, 1100, "Where is Secretary"),),  # 16.4
        {},
        "reading-speed",
        "warning",
        1,
        ("18", "17", "20"),
    ),
    (
        "line-length",
        (Cue(0, 3000, "Mr. Gu, the board meeting starts in ten min"),),  # 43
        (Cue(0, 3000, "Mr. Gu, the board meeting starts\nin ten minutes"),),
        {},
        "line-length",
        "error",
        1,
        ("line 1", "43", "42"),
    ),
    (
        "line-count",
        (Cue(0, 4000, "One.\nTwo.\nThree."),),
        (Cue(0, 4000, "One. Two.\nThree."),),
        {},
        "line-count",
        "error",
        1,
        ("3 lines", "2"),
    ),
    (
        "too-short",
        (Cue(0, 500, "No."),),
        (Cue(0, 833, "No."),),
        {},
        "too-short",
        "warning",
        1,
        ("0.5 s", "0.833 s"),
    ),
    (
        "no-duration",
        (Cue(1000, 1000, "No."),),
        (Cue(1000, 2000, "No."),),
        {},
        "too-short",
        "error",
        1,
        ("0 ms",),
    ),
    (
        "too-long",
        (Cue(0, 8200, OK),),
        (Cue(0, 7000, OK),),
        {},
        "too-long",
        "warning",
        1,
        ("8.2 s", "7 s"),
    ),
    (
        "gap",
        (Cue(0, 2000, OK), Cue(2040, 4000, OK)),
        (Cue(0, 2000, OK), Cue(2080, 4000, OK)),
        {},
        "gap",
        "warning",
        1,
        ("40 ms", "80 ms"),
    ),
    (
        "overlap",
        (Cue(0, 2000, OK), Cue(1880, 4000, OK), Cue(4500, 6000, OK)),
        (Cue(0, 2000, OK), Cue(2080, 4000, OK), Cue(4500, 6000, OK)),
        {},
        "overlap",
        "error",
        1,
        ("120 ms", "cue 2"),
    ),
    (
        "empty",
        (Cue(0, 2000, OK), Cue(3000, 5000, " ")),
        (Cue(0, 2000, OK), Cue(3000, 5000, "Yes.")),
        {},
        "empty",
        "error",
        2,
        (),
    ),
    (
        "blank-line",
        (Cue(0, 2000, "Sign here.\n"),),
        (Cue(0, 2000, "Sign\nhere."),),
        {},
        "empty",
        "warning",
        1,
        ("line 2",),
    ),
    (
        "untranslated",
        (Cue(0, 2000, "林小姐", source="林小姐"),),
        (Cue(0, 2000, "Miss Lin", source="林小姐"),),
        {},
        "untranslated",
        "error",
        1,
        ("林小姐",),
    ),
    (
        "source-script",
        (Cue(0, 2000, "Hello, Lin晚.", source="你好，林晚"),),
        (Cue(0, 2000, "Hello, Lin Wan.", source="你好，林晚"),),
        {},
        "source-script",
        "error",
        1,
        ("晚",),
    ),
    (
        "glossary",
        (Cue(0, 2000, "Hello, CEO.", source="顾总，你好"),),
        (Cue(0, 2000, "Hello, Mr. Gu.", source="顾总，你好"),),
        {"glossary": True},
        "glossary",
        "error",
        1,
        ("顾总", "Mr. Gu"),
    ),
    (
        "outside-media-end",
        (Cue(0, 2000, OK), Cue(3000, 5000, OK)),
        (Cue(0, 2000, OK), Cue(2000 + 80, 4000, OK)),
        {"media_duration_ms": 4000},
        "outside-media",
        "error",
        2,
        ("5 s", "4 s"),
    ),
    (
        "outside-media-start",
        (Cue(-200, 2000, OK),),
        (Cue(0, 2000, OK),),
        {},
        "outside-media",
        "error",
        1,
        ("-0.2 s",),
    ),
]


@pytest.mark.parametrize(
    ("bad", "good", "kwargs", "code", "severity", "index", "numbers"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_check_fires_on_bad_cue_only(
    glossary: Glossary,
    bad: tuple[Cue, ...],
    good: tuple[Cue, ...],
    kwargs: dict[str, Any],
    code: str,
    severity: str,
    index: int,
    numbers: tuple[str, ...],
) -> None:
    kwargs = dict(kwargs)  # the case table is shared: do not edit it
    if kwargs.pop("glossary", False):
        kwargs["glossary"] = glossary
    flagged = of(check_track(en(*bad), profile("en"), **kwargs), code)
    assert [(f.index, f.severity) for f in flagged] == [(index, severity)]
    flag = flagged[0]
    assert flag.language == "en"
    for number in numbers:
        assert number in flag.message
    assert of(check_track(en(*good), profile("en"), **kwargs), code) == []


def test_flags_from_later_stages_join_the_report() -> None:
    from localize.dub import FitReport, overrun_flags
    from localize.dub.fit import DubClip

    clip = DubClip(
        cue_index=1,
        start_ms=1000,
        end_ms=3400,
        stretch=1.25,
        overrun_ms=400,
        path=Path("x.wav"),
        action="flag",
        text="Hello there.",
        cue_end_ms=2800,
        window_end_ms=3000,
    )
    flags = overrun_flags(FitReport(clips=(clip,)), "en")
    track = en(Cue(0, 900, "Hi."), Cue(1000, 2800, "Hello there."))
    report = build_report({"en": track}, extra_flags={"en": flags})
    [flag] = [f for f in report.language("en").flags if f.code == "dub-overrun"]
    assert (flag.index, flag.severity) == (2, "warning")
    assert "400 ms" in flag.message and "1.25" in flag.message


def test_every_code_is_tested() -> None:
    tested = {case[4] for case in CASES} | {"translation-retry", "dub-overrun"}
    tested |= {"source-conflict"}  # tests/test_pipeline.py
    # tests/picture/ (test_flags.py, test_burn.py, tests/flows/test_episode_pictures.py)
    tested |= {"residual-caption", "burn-readback", "outside-safe-area", "missing-glyph"}
    assert tested == set(FLAG_CODES)


def test_measured_value_and_limit() -> None:
    [flag] = of(
        check_track(en(Cue(0, 1200, "I never signed that contract.")), profile("en")),
        "reading-speed",
    )
    assert (flag.value, flag.limit) == (24.2, 20.0)
    assert flag.message == "reads at 24.2 chars/s; the en limit is 20: shorten or merge"


def test_reading_speed_at_the_limit_passes() -> None:
    # 20 chars in exactly 1 s is 20.0 chars/s: at the limit, not above it
    assert check_track(en(Cue(0, 1000, "a" * 20)), replace(profile("en"), target_cps=20.0)) == []


def test_good_track_has_no_flags(glossary: Glossary) -> None:
    source = CueTrack("zh-Hans", (Cue(0, 2000, "顾总，你好"), Cue(2080, 4000, "林小姐，签字吧")))
    target = en(Cue(0, 2000, "Hello, Mr. Gu."), Cue(2080, 4000, "Sign here,\nMiss Lin."))
    kwargs: dict[str, Any] = {"source": source, "glossary": glossary, "media_duration_ms": 4000}
    assert check_track(target, profile("en"), **kwargs) == []
    assert check_track(source, profile("zh-Hans"), **kwargs) == []


# ------------------------------------------------------------------- counting


@pytest.mark.parametrize(
    ("lang", "line", "count"),
    [
        ("zh-Hans", "你好，世界！", 6),  # full-width punctuation counts 1
        ("zh-Hans", "ＶＩＰ室", 4),  # full-width Latin counts 1
        ("zh-Hans", "VIP室", 4),  # half-width Latin counts 1 in Chinese too
        ("en", "Lin晚, hi!", 9),  # mixed scripts: one per character
        ("en", "Café — “fine”…", 14),
        ("ja", "OKです。", 4),  # ja: half-width counts 0.5, rounded up: 1 + 3
        ("ja", "A です", 3),  # A and the space 0.5 each, で and す 1 each
    ],
)
def test_line_length_counts_like_segment(lang: str, line: str, count: int) -> None:
    # a 1-char limit makes every line fire, so the flag reports the count
    tight = replace(profile(lang), max_chars_per_line=1)
    [flag] = of(check_track(CueTrack(lang, (Cue(0, 5000, line),)), tight), "line-length")
    assert flag.value == count
    assert f"has {count} characters" in flag.message


def test_full_width_line_at_the_zh_limit() -> None:
    fifteen = "林小姐，请你在这份契约上签字！"
    assert len(fifteen) == 15
    zh = profile("zh-Hans")
    assert (
        of(check_track(CueTrack("zh-Hans", (Cue(0, 5000, fifteen + "好"),)), zh), "line-length")
        == []
    )
    [flag] = of(
        check_track(CueTrack("zh-Hans", (Cue(0, 5000, fifteen + "好吗"),)), zh), "line-length"
    )
    assert (flag.value, flag.limit) == (17.0, 16.0)


def test_reading_speed_of_chinese_with_full_width_punctuation() -> None:
    zh = profile("zh-Hans")
    line = "你好，世界！"  # 6 chars
    assert check_track(CueTrack("zh-Hans", (Cue(0, 1000, line),)), zh) == []  # 6 chars/s
    fast = check_track(CueTrack("zh-Hans", (Cue(0, 500, line),)), zh)  # 12 chars/s
    [flag] = of(fast, "reading-speed")
    assert flag.severity == "error"
    assert "12 chars/s" in flag.message and "limit is 9" in flag.message


# ------------------------------------------------------------------- translation checks


def test_source_track_gets_no_translation_checks(glossary: Glossary) -> None:
    source = CueTrack("zh-Hans", (Cue(0, 2000, "顾总，你好"),))
    report = build_report({"zh-Hans": source}, source=source, glossary=glossary)
    assert report.ok and report.flags == ()
    assert report.language("zh-Hans").glossary_adherence is None


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "林小姐", ("untranslated", "error")),
        ("en", "林小姐！", ("untranslated", "error")),  # punctuation does not hide it
        ("es", "Hola, Lin晚", ("source-script", "error")),
        ("ja", "林小姐", ("untranslated", "warning")),  # kanji may be right: a human decides
        ("ja", "林さん", None),
        ("zh-Hant", "林小姐", None),  # a conversion may leave a line unchanged
        ("en", "VIP", None),  # same in every language
    ],
)
def test_untranslated_by_target(lang: str, text: str, expected: tuple[str, str] | None) -> None:
    track = CueTrack(lang, (Cue(0, 2000, text, source="林小姐"),))
    flags = check_track(track, profile(lang))
    found = [(f.code, f.severity) for f in flags if f.code in ("untranslated", "source-script")]
    assert found == ([expected] if expected else [])


def test_source_found_by_index_when_cue_has_none(glossary: Glossary) -> None:
    source = CueTrack("zh-Hans", (Cue(0, 2000, "你好"), Cue(2080, 4000, "顾总\n你好")))
    target = en(Cue(0, 2000, "Hi."), Cue(2080, 4000, "Hello, CEO."))
    [flag] = check_track(target, profile("en"), source=source, glossary=glossary)
    assert (flag.code, flag.index) == ("glossary", 2)
    # different cue counts: indices may not correspond, so no source-based check
    shorter = CueTrack("zh-Hans", source.cues[1:])
    assert check_track(target, profile("en"), source=shorter, glossary=glossary) == []


def test_translation_retry_until_the_line_is_edited() -> None:
    outcome = LineOutcome(
        1, "你好，林晚", "Hello, Lin晚.", "model", attempts=3, problems=("still Chinese",)
    )
    track = en(Cue(0, 2000, "Hello,\nLin晚.", source="你好，林晚"))
    [flag] = of(check_track(track, profile("en"), outcomes=[outcome]), "translation-retry")
    assert (flag.severity, flag.index, flag.value) == ("warning", 1, 3.0)
    assert "3 attempts" in flag.message and "still Chinese" in flag.message
    edited = en(Cue(0, 2000, "Hello, Lin Wan.", source="你好，林晚"))
    assert check_track(edited, profile("en"), outcomes=[outcome]) == []


def test_chinese_the_model_never_translated_is_an_error_even_when_shown_as_pinyin() -> None:
    """The last repair writes it as pinyin so no Han is published, but the line is still
    untranslated: an error a person must fix (an unattended run holds on it)."""
    repairs = ("签合同 -> Qian Hetong (pinyin)",)
    outcome = LineOutcome(
        1, "我们签合同", "We Qian Hetong.", "model", attempts=3,
        problems=("签合同 -> Qian Hetong (pinyin): check it",), repairs=repairs,
    )  # fmt: skip
    track = en(Cue(0, 2000, "We Qian Hetong.", source="我们签合同"))
    flags = check_track(track, profile("en"), outcomes=[outcome])
    [flag] = of(flags, "source-script")
    assert (flag.severity, flag.index) == ("error", 1)
    assert "签合同 -> Qian Hetong" in flag.message and "write it in en" in flag.message
    assert of(flags, "translation-retry") == []  # said once
    # a name completed from the glossary is no error
    named = replace(outcome, problems=(), repairs=("晚 -> Wan (name)",))
    assert check_track(track, profile("en"), outcomes=[named]) == []


# ------------------------------------------------------------------- glossary adherence


@pytest.mark.parametrize(
    ("source", "target", "fraction"),
    [
        ("顾总，你好", "Hello, Mr. Gu.", 1.0),
        ("顾总，你好", "Hello, CEO.", 0.0),
        ("你好", "Hello.", 1.0),  # nothing required
        ("林小姐，这是契约", "Miss Lin, this is the contract.", 1.0),
        ("林小姐，这是契约", "Miss Lin, this is the pact.", 0.5),
        ("林小姐，这是契约", "Ms. Lin, this is the covenant.", 0.0),
        ("晚晚，VIP室在这边", "Wanwan, the VIP room is here.", 1.0),
        ("晚晚，VIP室在这边", "Wanwan, the vip room is here.", 0.5),  # DNT keeps its case
    ],
)
def test_glossary_adherence_fraction(
    glossary: Glossary, source: str, target: str, fraction: float
) -> None:
    track = en(Cue(0, 2000, target, source=source))
    assert glossary_adherence(track, glossary, "en") == pytest.approx(fraction)


def test_glossary_adherence_over_a_track(glossary: Glossary) -> None:
    source = CueTrack(
        "zh-Hans",
        (Cue(0, 2000, "顾总，你好"), Cue(2080, 4000, "奶奶"), Cue(4080, 6000, "合同呢？")),
    )
    target = en(
        Cue(0, 2000, "Hello, Mr. Gu."), Cue(2080, 4000, "Granny"), Cue(4080, 6000, "The contracts?")
    )
    assert glossary_adherence(target, glossary, source=source) == pytest.approx(2 / 3)
    assert glossary_adherence(en(), glossary) == 1.0


# ------------------------------------------------------------------- report


def sample_report(glossary: Glossary) -> QCReport:
    source = CueTrack(
        "zh-Hans",
        (Cue(0, 2000, "顾总，你好", speaker="陈秘书"), Cue(2080, 3000, "林小姐｜签字吧")),
    )
    target = en(
        Cue(0, 2000, "Hello, CEO.", speaker="陈秘书", source="顾总，你好"),
        Cue(2080, 3000, "Miss Lin, please sign | the contract right here."),
    )
    return build_report(
        {"zh-Hans": source, "en": target},
        source=source,
        glossary=glossary,
        media_duration_ms=5000,
        episode="ep01",
    )


def test_report_counts_and_verdict(glossary: Glossary) -> None:
    report = sample_report(glossary)
    assert report.language_codes == ("zh-Hans", "en")
    assert report.cue_count == 4
    assert not report.ok
    enr = report.language("en")
    assert enr.cue_count == 2
    assert enr.counts() == {
        "glossary": {"error": 1, "warning": 0},
        "reading-speed": {"error": 1, "warning": 0},
        "line-length": {"error": 1, "warning": 0},
    }
    assert (enr.error_count, enr.warning_count, enr.ok) == (3, 0, False)
    assert enr.glossary_adherence == pytest.approx(0.5)
    assert report.language("zh-Hans").ok
    assert report.error_count == 3
    with pytest.raises(KeyError, match="zh-Hans, en"):
        report.language("fr")


def test_empty_track_gives_an_ok_report() -> None:
    report = build_report({"en": en()})
    assert report.ok and report.cue_count == 0 and report.flags == ()
    assert report.language("en").counts() == {}
    assert "No flags in 0 cues" in report.to_markdown()
    assert QCReport.from_json(report.to_json()) == report
    assert build_report({}).ok


def test_json_round_trip(glossary: Glossary) -> None:
    report = sample_report(glossary)
    text = report.to_json()
    assert "顾总" in text  # readable, not \\u escapes
    again = QCReport.from_json(text)
    assert again == report
    assert again.to_json() == text
    data = json.loads(text)
    assert data["ok"] is False and data["languages"][1]["counts"]["glossary"]["error"] == 1


def test_report_pickles(glossary: Glossary) -> None:
    report = sample_report(glossary)
    assert pickle.loads(pickle.dumps(report)) == report


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not a QC report"),
        ('{"format": 1}', "not a QC report"),
        ('{"format": 99, "languages": []}', "format 99"),
        (
            '{"format": 1, "languages": [{"language": "en", "cues": [], "flags": '
            '[{"code": "nope", "severity": "error", "language": "en", "index": 1, '
            '"message": "x"}]}]}',
            "unknown QC flag code",
        ),
    ],
)
def test_from_json_rejects_other_files(text: str, match: str) -> None:
    with pytest.raises(LocalizeError, match=match):
        QCReport.from_json(text)


def test_markdown_has_a_table_per_language(glossary: Glossary) -> None:
    md = sample_report(glossary).to_markdown()
    assert md.startswith("## QC report: ep01")
    assert "❌ **Fail**: 3 errors, 0 warnings in 4 cues across 2 languages." in md
    assert "| en | 2 | 3 | 0 | 2 | 50.0% | ❌ fail |" in md
    assert "| zh-Hans | 2 | 0 | 0 | 0 | – | ✅ pass |" in md
    assert "### en" in md and "### zh-Hans" in md
    assert "| glossary | 1 | 0 |" in md
    # the worst cue first; a pipe in the text cannot break the table
    top = md.split("**Top flagged cues** (2 of 2):")[1].splitlines()
    assert top[4].startswith("| 2 | 00:02.080–00:03.000 | Miss Lin, please sign \\| the")


def test_flag_rows_and_flags_by_cue(glossary: Glossary) -> None:
    report = sample_report(glossary)
    rows = report.flag_rows("en")
    assert [row["index"] for row in rows] == [1, 2]
    assert rows[0] == {
        "index": 1,
        "start": "00:00.000",
        "end": "00:02.000",
        "source": "顾总，你好",
        "text": "Hello, CEO.",
        "flags": "glossary: 顾总 must be rendered as 'Mr. Gu' (address), not found in the en line",
    }
    assert rows[1]["source"] == "林小姐｜签字吧"  # taken from the source track by index
    assert report.flag_rows("zh-Hans") == []
    assert len(report.flag_rows("zh-Hans", all_cues=True)) == 2
    by_cue = report.flags_by_cue()
    assert by_cue[1] == [
        "en glossary: 顾总 must be rendered as 'Mr. Gu' (address), not found in the en line"
    ]
    assert all(label.startswith("en ") for labels in by_cue.values() for label in labels)
    assert report.flags_by_cue("en")[1][0].startswith("glossary: ")


def test_warning_label_and_flag_validation() -> None:
    flag = Flag("gap", "warning", "en", 3, "is followed by cue 4 after 40 ms", 40, 80)
    assert flag.label == "gap (warning): is followed by cue 4 after 40 ms"
    assert isinstance(flag.value, float)
    with pytest.raises(ValueError, match="severity"):
        Flag("gap", "fatal", "en", 1, "x")  # type: ignore[arg-type]
