"""An episode's pictures for publishing: the clean master and the burned languages,
each read back with OCR, problems returned as QC flags (no Prefect here)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from localize.domain import Cue, CueTrack
from localize.qc import Flag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PictureFile:
    """A picture made for publishing: its name in the package, where it is, its language."""

    rel: str
    path: str
    language: str | None
    duration_ms: int
    note: str = ""

    def manifest_entry(self) -> dict[str, str | None]:
        """The manifest's record: the file, its language, how it was made."""
        return {"file": self.rel, "language": self.language, "made": self.note}


def cue_indices(spans: Sequence[tuple[int, int]], fps: float, cues: Sequence[Cue]) -> list[int]:
    """For each caption span, the 1-based index of the cue showing at its middle (the
    nearest cue when none does; 0 for an empty track)."""
    out = []
    for start, end in spans:
        middle = (start + end) / 2 * 1000 / fps
        best = min(
            range(len(cues)),
            key=lambda i: max(cues[i].start_ms - middle, middle - cues[i].end_ms, 0),
            default=-1,
        )
        out.append(best + 1)
    return out


def episode_pictures(
    video: Path,
    episode: str,
    folder: Path,
    *,
    clean: str,
    burn: Mapping[str, CueTrack],
    source: CueTrack,
    spans: object | None = None,
    check: bool = True,
    style: str = "",
) -> tuple[list[PictureFile], dict[str, list[Flag]]]:
    """The clean master (``clean`` != "none") and one burned-in picture per language of
    ``burn`` (over the clean master when there is one), read back with OCR when
    ``check``. A language whose font cannot draw a character is not burned: it gets a
    ``missing-glyph`` flag instead. ``style`` is the burn style (``localize burn
    --style``). Flags are keyed by language (the source's for ``residual-caption``)."""
    from localize.ocr.engine import RapidOcrReader
    from localize.picture.burn import BurnStyle, burn_subtitles
    from localize.picture.check import check_burned, check_clean
    from localize.picture.clean import CaptionSpans, clean_video, find_caption_spans
    from localize.picture.errors import MissingGlyphError
    from localize.picture.frames import geometry

    geo = geometry(video)
    found = spans if isinstance(spans, CaptionSpans) else None
    reader = RapidOcrReader() if check else None
    files: list[PictureFile] = []
    flags: dict[str, list[Flag]] = {}
    base = video
    if clean != "none":
        found = found if found is not None else find_caption_spans(video)
        report = clean_video(video, folder / f"{episode}.clean.mp4", method=clean, spans=found)
        base = report.out
        made = f"{report.method}, x264 CRF {report.crf}" if report.crf else report.note
        files.append(PictureFile(base.name, str(base), None, geo.duration_ms, made))
        if check and not found.empty:
            result = check_clean(str(video), str(base), found, reader=reader)
            indices = cue_indices(found.spans, geo.fps, source.cues)
            flags[source.language] = result.flags(source.language, indices)
            if result.min_psnr_db < 45.0:
                log.warning(
                    "%s: the clean master differs from the source outside the captions "
                    "(worst frame %.1f dB PSNR)",
                    episode,
                    result.min_psnr_db,
                )
    burn_style = BurnStyle.parse(style)
    for lang, track in burn.items():
        rel = f"{episode}.{lang}.burned.mp4"
        try:
            burned = burn_subtitles(
                base,
                track,
                folder / rel,
                language=lang,
                band=found.band if found else None,
                style=burn_style,
            )
        except MissingGlyphError as exc:
            log.error("%s is not burned: %s", lang, exc)
            message = f"{exc.message}; {exc.hint}"
            flags.setdefault(lang, []).append(
                Flag("missing-glyph", "error", lang, max(1, exc.cue), message)
            )
            continue
        log.info("%s burned: %s", lang, burned.style_note)
        files.append(PictureFile(rel, str(burned.out), lang, geo.duration_ms, burned.style_note))
        if check:
            flags.setdefault(lang, []).extend(
                check_burned(str(burned.out), burned, reader=reader).flags()
            )
    return files, {lang: found_flags for lang, found_flags in flags.items() if found_flags}
