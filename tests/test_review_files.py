"""Offline review: the draft as SRT/XLIFF files and reading an edited file back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flows.review_submit import corrections_from_file
from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError
from localize.review import ReviewInputError, apply_corrections
from localize.review_files import (
    XLIFF_NS,
    draft_xliff,
    read_corrections,
    remove_review_draft,
    review_draft_dir,
    write_review_draft,
)
from localize.subtitles import format_srt

SOURCE = CueTrack(
    "zh-Hans",
    (
        Cue(1000, 2500, "顾总，林小姐来了。"),
        Cue(3000, 4200, "合同签了吗？"),
        Cue(5000, 6400, "签了。"),
    ),
)
EN = CueTrack(
    "en",
    (
        Cue(1000, 2500, "Mr. Gu, Miss Lin is here.", source="顾总，林小姐来了。"),
        Cue(3000, 4200, "Is the contract signed?", source="合同签了吗？"),
        Cue(5000, 6400, "Signed.", source="签了。"),
    ),
)
ES = CueTrack("es", tuple(Cue(c.start_ms, c.end_ms, f"es {i}") for i, c in enumerate(EN.cues)))
TRACKS = {"en": EN, "es": ES}


def _edit_unit(document: str, unit_id: str, text: str) -> str:
    root = ET.fromstring(document)
    ns = {"x": XLIFF_NS}
    for unit in root.iterfind(".//x:unit", ns):
        if unit.get("id") == unit_id:
            target = unit.find("x:segment/x:target", ns)
            assert target is not None
            target.text = text
    ET.register_namespace("", XLIFF_NS)
    return ET.tostring(root, encoding="unicode")


def test_an_edited_xliff_changes_exactly_the_edited_cue() -> None:
    document = draft_xliff("ep01", SOURCE, EN, {2: ["reading-speed: 21 chars/s"]})
    assert 'trgLang="en"' in document and "reading-speed" in document
    edited = _edit_unit(document, "2", "Did he sign the contract? <yes> & done")
    edits = read_corrections(edited, TRACKS, SOURCE)
    tracks, changes = apply_corrections(TRACKS, edits)
    assert [(c.language, c.index) for c in changes] == [("en", 2)]
    assert tracks["en"].cues[1].text == "Did he sign the contract? <yes> & done"
    assert tracks["es"] == ES


def test_an_xliff_of_another_episode_or_language_changes_nothing() -> None:
    other = CueTrack("zh-Hans", (Cue(1000, 2500, "别的台词。"), *SOURCE.cues[1:]))
    document = draft_xliff("ep02", other, EN, {})
    with pytest.raises(ReviewInputError, match="another episode or round"):
        read_corrections(document, TRACKS, SOURCE)
    french = draft_xliff("ep01", SOURCE, CueTrack("fr", EN.cues), {})
    with pytest.raises(ReviewInputError, match="'fr'"):
        read_corrections(french, TRACKS, SOURCE)
    with pytest.raises(ReviewInputError, match="not well-formed"):
        read_corrections("<xliff version='2.0'><file>", TRACKS, SOURCE)


def test_a_pasted_srt_names_its_language_and_must_keep_every_cue_and_time() -> None:
    cues = list(ES.cues)
    cues[0] = Cue(cues[0].start_ms, cues[0].end_ms, "Señor Gu, la señorita Lin está aquí.")
    edits = read_corrections("es:\n" + format_srt(cues), TRACKS, SOURCE)
    _, changes = apply_corrections(TRACKS, edits)
    assert [(c.language, c.index, c.after) for c in changes] == [
        ("es", 1, "Señor Gu, la señorita Lin está aquí.")
    ]
    # without a language line: the run's first language
    plain = list(EN.cues)
    plain[2] = Cue(plain[2].start_ms, plain[2].end_ms, "It's signed.")
    _, changes = apply_corrections(TRACKS, read_corrections(format_srt(plain), TRACKS, SOURCE))
    assert [(c.language, c.index) for c in changes] == [("en", 3)]

    with pytest.raises(ReviewInputError, match="has 2 cues, the draft has 3"):
        read_corrections(format_srt(plain[:2]), TRACKS, SOURCE)
    moved = [Cue(c.start_ms + 400, c.end_ms + 400, c.text) for c in plain]
    with pytest.raises(ReviewInputError, match="changes the times of cue"):
        read_corrections(format_srt(moved), TRACKS, SOURCE)
    emptied = [*plain[:2], Cue(plain[2].start_ms, plain[2].end_ms, " ")]
    with pytest.raises(ReviewInputError):
        read_corrections(format_srt(emptied), TRACKS, SOURCE)


def test_index_lines_still_work() -> None:
    edits = read_corrections(
        "2 | Signed yet?\nes:1 | Hola\n3 @ 00:05.000 --> 00:06.000", TRACKS, SOURCE
    )
    assert edits.text == {"en": {2: "Signed yet?"}, "es": {1: "Hola"}}
    assert edits.timing == {3: (5000, 6000)}


def test_the_draft_files_are_written_next_to_the_output_and_removed(tmp_path: Path) -> None:
    folder = review_draft_dir(tmp_path / "series" / "ep01")
    assert folder == tmp_path / "series" / ".review" / "ep01"
    written = write_review_draft(folder, "ep01", SOURCE, TRACKS, {})
    assert sorted(p.name for p in written) == [
        "ep01.en.srt", "ep01.en.xlf", "ep01.es.srt", "ep01.es.xlf",
    ]  # fmt: skip
    text = corrections_from_file(folder / "ep01.es.srt")
    assert text.startswith("es:\n")
    assert read_corrections(text, TRACKS, SOURCE).text == {"es": {1: "es 0", 2: "es 1", 3: "es 2"}}
    remove_review_draft(folder)
    assert not folder.exists() and not folder.parent.exists()


def test_a_file_whose_language_cannot_be_told_is_refused(tmp_path: Path) -> None:
    loose = tmp_path / "edited.srt"
    loose.write_text(format_srt(EN.cues), encoding="utf-8")
    with pytest.raises(LocalizeError, match="--lang"):
        corrections_from_file(loose)
    assert corrections_from_file(loose, "en").startswith("en:\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("1 | hi", encoding="utf-8")
    with pytest.raises(LocalizeError, match="neither an SRT nor an XLIFF"):
        corrections_from_file(notes)
