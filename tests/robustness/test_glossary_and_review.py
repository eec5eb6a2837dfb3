"""Glossary files from the CLI, and a reviewer's corrections: precise, nothing applied."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from localize.cli import main
from localize.domain import Cue, CueTrack
from localize.review import ReviewInputError, apply_edits, parse_edits

SERIES = '[series]\nid = "demo"\ntitle = { en = "Demo" }\ntargets = ["en"]\n'


@pytest.mark.parametrize(
    ("snippet", "line", "words"),
    [
        ('\n[[terms]]\nzh = "合同\nto = { en = "contract" }\n', 7, ""),
        (
            '\n[[address]]\nzh = "顾总"\nto = { en = "Mr. Gu" }\n'
            '\n[[terms]]\nzh = "顾总"\nto = { en = "Mr. Gu" }\n',
            11,
            "duplicate entry",
        ),
        (
            '\n[[address]]\nzh = "总裁"\nto = { en = "Mr. Gu" }\n'
            '\n[[terms]]\nzh = "总裁"\nto = { en = "CEO" }\n',
            11,
            "conflicting renderings for 总裁",
        ),
    ],
    ids=["syntax-error", "duplicate", "conflict"],
)
def test_glossary_check_reports_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], snippet: str, line: int, words: str
) -> None:
    path = tmp_path / "series.toml"
    path.write_text(SERIES + dedent(snippet), encoding="utf-8")
    assert main(["glossary", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:{line}: "), err
    assert words in err and "\n  -> " in err and "Traceback" not in err


def test_glossary_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.toml"
    assert main(["glossary", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: glossary file not found" in err
    assert "\n  -> " in err and "Traceback" not in err


# ----------------------------------------------------------------------------- review
def _tracks() -> dict[str, CueTrack]:
    en = CueTrack("en", (Cue(0, 1000, "Hello."), Cue(1000, 2000, "Sign here.")))
    es = CueTrack("es", (Cue(0, 1000, "Hola."),))
    return {"en": en, "es": es}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("7 | Who?", "line 1: there is no cue 7 (cues are 1..2)"),
        ("1 |   ", "line 1: the new text for cue 1 is empty"),
        ("fr:1 | Bonjour", "line 1: no 'fr' translation in this run (languages: en, es)"),
        ("one | Hi", "line 1: expected 'INDEX | new text'"),
        ("1 | Hi\n1 | Hey", "line 2: cue 1 is edited twice"),
    ],
)
def test_bad_review_lines_are_named_and_nothing_is_applied(text: str, problem: str) -> None:
    tracks = _tracks()
    with pytest.raises(ReviewInputError) as info:
        parse_edits("2 | A good edit.\n" + text if "twice" not in text else text, tracks)
    assert any(problem.split(": ", 1)[1] in p for p in info.value.problems), info.value.problems
    assert "nothing was changed" in info.value.hint
    assert tracks == _tracks()  # the whole batch was refused, the good line included


def test_every_bad_line_is_listed_at_once() -> None:
    with pytest.raises(ReviewInputError) as info:
        parse_edits("9 | x\n\n1 |\nes:5 | y", _tracks())
    assert [p.split(":")[0] for p in info.value.problems] == ["line 1", "line 3", "line 4"]


@pytest.mark.parametrize("text", ["", "   \n\n"])
def test_approve_with_no_edits_is_valid(text: str) -> None:
    tracks = _tracks()
    edits = parse_edits(text, tracks)
    assert edits == {}
    new, changes = apply_edits(tracks, edits)
    assert new == tracks and changes == ()


def test_nothing_to_review_is_a_clear_error() -> None:
    with pytest.raises(ReviewInputError, match="no translation to edit") as info:
        parse_edits("1 | x", {})
    assert info.value.hint
