"""Offline review: the draft as files a translator edits elsewhere, and reading them back.

A paused review run writes each target language's draft as SRT and as XLIFF 2.0 (the
exchange format CAT tools open; each unit carries the Chinese source, the cue's time
and its QC flags). The translator edits the text and brings the whole file back: pasted
into the review form's corrections field, or sent with ``localize review submit``. The
file is checked against the draft it came from before anything is applied: the same
episode (XLIFF sources match), the same cues (SRT count and times), text only.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from localize.domain import Cue, CueTrack, format_clock
from localize.errors import SubtitleFormatError
from localize.review import Corrections, ReviewInputError, parse_corrections
from localize.subtitles import format_srt, parse_srt

XLIFF_NS = "urn:oasis:names:tc:xliff:document:2.0"
#: an editor that re-times by rounding to frames moves a time by up to one frame
TIME_TOLERANCE_MS = 50
#: the optional first line of a pasted SRT naming its language: ``es:``
_LANGUAGE_LINE = re.compile(r"^\s*(?P<lang>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\s*:\s*$")
_SRT_TIMING = re.compile(r"^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", re.M)


def review_draft_dir(out_dir: Path) -> Path:
    """Where a paused run's draft files go: ``.review/<episode folder>`` next to the
    output (hidden, so a catalog never takes it for an episode)."""
    out_dir = Path(out_dir)
    return out_dir.parent / ".review" / out_dir.name


def write_review_draft(
    folder: Path,
    episode: str,
    source: CueTrack,
    targets: Mapping[str, CueTrack],
    flags_by_cue: Mapping[int, list[str]],
) -> list[Path]:
    """Write ``EPISODE.LANG.srt`` and ``EPISODE.LANG.xlf`` per target; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for lang, track in targets.items():
        srt = folder / f"{episode}.{lang}.srt"
        srt.write_text(format_srt(track.cues), encoding="utf-8")
        xlf = folder / f"{episode}.{lang}.xlf"
        xlf.write_text(draft_xliff(episode, source, track, flags_by_cue), encoding="utf-8")
        written += [srt, xlf]
    return written


def remove_review_draft(folder: Path) -> None:
    """The run ended (approved or rejected): its draft files would only mislead."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # the .review folder, unless other drafts wait in it
        folder.parent.rmdir()


def draft_xliff(
    episode: str, source: CueTrack, target: CueTrack, flags_by_cue: Mapping[int, list[str]]
) -> str:
    """One XLIFF 2.0 document: a unit per cue (id = the cue's index in the review form)."""
    ET.register_namespace("", XLIFF_NS)
    root = ET.Element(
        f"{{{XLIFF_NS}}}xliff",
        {"version": "2.0", "srcLang": source.language, "trgLang": target.language},
    )
    file = ET.SubElement(root, f"{{{XLIFF_NS}}}file", {"id": episode})
    for index, (zh, cue) in enumerate(zip(source.cues, target.cues, strict=True), 1):
        unit = ET.SubElement(file, f"{{{XLIFF_NS}}}unit", {"id": str(index)})
        notes = ET.SubElement(unit, f"{{{XLIFF_NS}}}notes")
        timing = ET.SubElement(notes, f"{{{XLIFF_NS}}}note", {"category": "timing"})
        timing.text = (
            f"{format_clock(cue.start_ms, hours=True)} --> {format_clock(cue.end_ms, hours=True)}"
        )
        for flag in flags_by_cue.get(index, []):
            ET.SubElement(notes, f"{{{XLIFF_NS}}}note", {"category": "qc"}).text = flag
        segment = ET.SubElement(unit, f"{{{XLIFF_NS}}}segment", {"state": "translated"})
        ET.SubElement(segment, f"{{{XLIFF_NS}}}source").text = zh.text
        ET.SubElement(segment, f"{{{XLIFF_NS}}}target").text = cue.text
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def read_corrections(text: str, tracks: Mapping[str, CueTrack], source: CueTrack) -> Corrections:
    """The review form's corrections: ``INDEX | text`` and ``INDEX @ START --> END``
    lines, or a whole draft file (XLIFF or SRT) edited offline (text only)."""
    if is_document(text):
        return Corrections(text=edits_from_document(text, tracks, source))
    return parse_corrections(text, tracks)


def is_document(text: str) -> bool:
    """Whether review input is a whole draft file (XLIFF or SRT) rather than
    ``INDEX | text`` lines."""
    return text.lstrip().startswith("<") or bool(_SRT_TIMING.search(text))


def edits_from_document(
    text: str, tracks: Mapping[str, CueTrack], source: CueTrack
) -> dict[str, dict[int, str]]:
    """``{language: {index: text}}`` for every cue of an uploaded draft file.

    Unchanged cues come back too (applying them changes nothing). Raises
    ReviewInputError when the file does not belong to this draft.
    """
    if text.lstrip().startswith("<"):
        lang, by_index = _read_xliff(text, tracks, source)
    else:
        lang, by_index = _read_srt(text, tracks)
    empty = [str(i) for i, t in sorted(by_index.items()) if not t.strip()]
    if empty:
        raise ReviewInputError(
            f"the {lang} file leaves cue(s) {', '.join(empty)} empty",
            "write the text of every cue (a cue cannot be removed in review); nothing was changed",
        )
    return {lang: by_index}


def _read_xliff(
    text: str, tracks: Mapping[str, CueTrack], source: CueTrack
) -> tuple[str, dict[int, str]]:
    try:
        # the stdlib parser resolves no external entities; expat >= 2.4 caps expansion
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise ReviewInputError(
            f"the uploaded XLIFF is not well-formed XML ({exc})",
            "upload the .xlf file as your tool saved it; nothing was changed",
        ) from exc
    ns = f"{{{XLIFF_NS}}}" if root.tag.startswith("{") else ""
    if root.tag != f"{ns}xliff" or root.get("version", "").split(".")[0] != "2":
        raise ReviewInputError(
            "the uploaded XML is not an XLIFF 2 document",
            "upload the .xlf draft this run wrote (XLIFF 2.0); nothing was changed",
        )
    lang = _known_language(root.get("trgLang", ""), tracks)
    cues = source.cues
    by_index: dict[int, str] = {}
    for unit in root.iter(f"{ns}unit"):
        raw_id = unit.get("id", "")
        if not raw_id.isdigit() or not 1 <= int(raw_id) <= len(cues):
            raise ReviewInputError(
                f"the XLIFF has a unit {raw_id!r}; this draft's cues are 1..{len(cues)}",
                "upload the draft of this episode and round; nothing was changed",
            )
        index = int(raw_id)
        src = "".join(unit.findtext(f"{ns}segment/{ns}source") or "")
        if src.strip() != cues[index - 1].text.strip():
            raise ReviewInputError(
                f"unit {index} of the XLIFF has the source {src!r}, the draft has "
                f"{cues[index - 1].text!r}: the file is from another episode or round",
                "download this run's draft again and copy your changes into it; "
                "nothing was changed",
            )
        target = unit.find(f"{ns}segment/{ns}target")
        by_index[index] = "".join(target.itertext()).strip() if target is not None else ""
    if not by_index:
        raise ReviewInputError(
            "the XLIFF has no units", "upload the .xlf draft this run wrote; nothing was changed"
        )
    return lang, by_index


def _read_srt(text: str, tracks: Mapping[str, CueTrack]) -> tuple[str, dict[int, str]]:
    first, _, rest = text.lstrip().partition("\n")
    named = _LANGUAGE_LINE.match(first)
    lang = _known_language(named.group("lang"), tracks) if named else next(iter(tracks))
    try:
        cues = parse_srt(rest if named else text)
    except SubtitleFormatError as exc:
        raise ReviewInputError(
            f"the uploaded SRT cannot be read: {exc.message}",
            "upload the .srt file as your editor saved it; nothing was changed",
        ) from exc
    draft = tracks[lang].cues
    if len(cues) != len(draft):
        raise ReviewInputError(
            f"the {lang} SRT has {len(cues)} cues, the draft has {len(draft)}",
            "keep every cue of the draft and change only the text (merging, splitting "
            "or deleting cues is not a review edit); nothing was changed",
        )
    moved = [str(i) for i, (a, b) in enumerate(zip(cues, draft, strict=True), 1) if _moved(a, b)]
    if moved:
        raise ReviewInputError(
            f"the {lang} SRT changes the times of cue(s) {', '.join(moved[:10])}"
            + (" ..." if len(moved) > 10 else ""),
            "review edits change text only: keep the draft's times (note timing problems "
            "in the notes field); nothing was changed",
        )
    return lang, {i: cue.text for i, cue in enumerate(cues, 1)}


def _moved(a: Cue, b: Cue) -> bool:
    return (
        abs(a.start_ms - b.start_ms) > TIME_TOLERANCE_MS
        or abs(a.end_ms - b.end_ms) > TIME_TOLERANCE_MS
    )


def _known_language(lang: str, tracks: Mapping[str, CueTrack]) -> str:
    if lang not in tracks:
        raise ReviewInputError(
            f"the file is for language {lang or '(none)'!r}; this run translates "
            f"{', '.join(tracks)}",
            "upload a draft file of one of this run's languages (for a pasted SRT, a "
            "first line such as 'es:' names its language); nothing was changed",
        )
    return lang
