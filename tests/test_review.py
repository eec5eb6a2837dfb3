"""Review corrections: validated as a whole, applied with a before/after record."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

from localize.domain import Cue, CueTrack
from localize.review import ReviewInputError, apply_edits, make_record, parse_edits

EN = CueTrack("en", (Cue(0, 1000, "Hello."), Cue(1000, 2000, "Bye."), Cue(2000, 3000, "CEO.")))
ES = CueTrack("es", (Cue(0, 1000, "Hola."), Cue(1000, 2000, "Adiós."), Cue(2000, 3000, "Jefe.")))


def test_edits_apply_to_the_first_language_or_the_named_one() -> None:
    edits = parse_edits(
        "3 | Mr. Gu.\nes:3 | Señor Gu.\n\n 1 |Hi there.\\nFriend.", {"en": EN, "es": ES}
    )
    assert edits == {"en": {3: "Mr. Gu.", 1: "Hi there.\nFriend."}, "es": {3: "Señor Gu."}}
    tracks, changes = apply_edits({"en": EN, "es": ES}, edits)
    assert tracks["en"].cues[2].text == "Mr. Gu."
    assert tracks["en"].cues[2].start_ms == 2000
    assert {(c.language, c.index, c.before, c.after) for c in changes} >= {
        ("en", 3, "CEO.", "Mr. Gu."),
        ("es", 3, "Jefe.", "Señor Gu."),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 | text", "there is no cue 7 (cues are 1..3)"),
        ("2 |   ", "the new text for cue 2 is empty"),
        ("fr:1 | Bonjour", "no 'fr' translation in this run"),
        ("one | text", "expected 'INDEX | new text'"),
        ("1 | a\n1 | b", "cue 1 is edited twice"),
    ],
)
def test_bad_input_changes_nothing_and_says_why(text: str, expected: str) -> None:
    with pytest.raises(ReviewInputError) as err:
        parse_edits(
            "2 | fine\n" + text if not text.startswith("1 |") else text, {"en": EN, "es": ES}
        )
    assert expected in str(err.value)
    assert "nothing was changed" in err.value.hint
    back = pickle.loads(pickle.dumps(err.value))
    assert back.problems == err.value.problems


def test_record_says_who_when_and_what() -> None:
    record = make_record("approve", "  Ana ", "ok", 1, ())
    assert record.reviewer == "Ana" and record.at.endswith("+00:00")
    with pytest.raises(ReviewInputError, match="unknown decision"):
        make_record("maybe", "Ana", "", 1, ())


def test_the_review_form_has_no_default_decision() -> None:
    """Submitting the form untouched must not publish: the translator picks a decision."""
    from pydantic import ValidationError

    from flows.review_input import ReviewInput

    with pytest.raises(ValidationError, match="decision"):
        ReviewInput(reviewer="Ana", edits="")
    schema = ReviewInput.model_json_schema()
    assert "decision" in schema["required"]
    assert "default" not in schema["properties"]["decision"]


def test_an_approved_episode_teaches_the_series_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from localize.review import ReviewHistory, remember_approved
    from localize.translate.memory import TranslationMemory

    memory = TranslationMemory(tmp_path / "tm.sqlite")
    en = CueTrack("en", (Cue(0, 1000, "Mr. Gu,\nhello.", source="顾总，您好"),))
    history = ReviewHistory((make_record("approve", "Ana", "", 1, ()),))
    remember_approved(memory, {"en": en}, history, episode="ep01")
    hit = memory.lookup("顾总，您好", "en")
    assert hit is not None
    assert (hit.translation, hit.origin, hit.who) == ("Mr. Gu, hello.", "approved", "Ana")


def test_a_reviewer_corrects_who_speaks_a_line() -> None:
    tracks = {"en": CueTrack("en", (Cue(0, 900, "Hi."), Cue(1000, 1900, "Sign.", speaker="?2")))}
    edits = parse_edits("2 | @Lin Wan", tracks)
    out, changes = apply_edits(tracks, edits)
    assert out["en"].cues[1].speaker == "Lin Wan" and out["en"].cues[1].text == "Sign."
    assert [(c.index, c.before, c.after) for c in changes] == [(2, "@?2", "@Lin Wan")]
    with pytest.raises(ReviewInputError, match="speaker's name after '@'"):
        parse_edits("1 | @ ", tracks)


def test_a_speaker_correction_holds_in_every_language_so_any_dub_uses_it() -> None:
    cue = Cue(0, 900, "Hi.", speaker="?1")
    tracks = {"en": CueTrack("en", (cue,)), "es": CueTrack("es", (replace(cue, text="Hola."),))}
    out, changes = apply_edits(tracks, parse_edits("1 | @Lin Wan\nes:1 | ¡Hola!", tracks))
    assert [t.cues[0].speaker for t in out.values()] == ["Lin Wan", "Lin Wan"]
    assert out["es"].cues[0].text == "¡Hola!" and out["en"].cues[0].text == "Hi."
    assert len(changes) == 2


def test_the_draft_shows_who_speaks_each_cue_only_when_known() -> None:
    from localize.review import cue_speakers

    zh = CueTrack("zh-Hans", (Cue(0, 900, "你好"), Cue(1000, 1900, "签字")))
    en = CueTrack("en", (Cue(0, 900, "Hi.", speaker="Lin Wan"), Cue(1000, 1900, "Sign.")))
    assert cue_speakers(zh, {"en": en}) == ["Lin Wan", ""]
    assert cue_speakers(zh, {"en": replace(en, cues=(Cue(0, 900, "Hi."),) * 2)}) == []


def test_a_timing_line_retimes_the_cue_in_every_language_and_is_recorded() -> None:
    from localize.review import apply_corrections, parse_corrections

    tracks = {"en": EN, "es": ES}
    corrections = parse_corrections("2 @ 00:01.100 --> 00:01.900\nes:2 | Adiós, Gu.", tracks)
    assert corrections.timing == {2: (1100, 1900)}
    new, changes = apply_corrections(tracks, corrections)
    assert [(c.start_ms, c.end_ms) for c in new["es"].cues] == [
        (0, 1000),
        (1100, 1900),
        (2000, 3000),
    ]
    assert new["en"].cues[1].start_ms == 1100 and new["es"].cues[1].text == "Adiós, Gu."
    assert ("en", 2, "00:01.000 --> 00:02.000", "00:01.100 --> 00:01.900", "timing") in {
        (c.language, c.index, c.before, c.after, c.kind) for c in changes
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 @ 00:01.000 --> 00:02.000", "there is no cue 4 (cues are 1..3)"),
        ("1 @ 00:02.000 --> 00:01.000", "cue 1 would end (00:01.000) before it starts"),
        ("1 @ 00:00.100 --> 00:00.900\n1 @ 00:00.200 --> 00:00.900", "cue 1 is retimed twice"),
    ],
)
def test_a_bad_timing_line_changes_nothing_and_says_why(text: str, expected: str) -> None:
    from localize.review import parse_corrections

    with pytest.raises(ReviewInputError) as caught:
        parse_corrections(text, {"en": EN, "es": ES})
    assert expected in caught.value.message
