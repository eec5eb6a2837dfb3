"""Pictures over the hard sample scenery (issue 18): a night pan over lit windows and
busy motion. The clean master must keep the moving detail outside the captions
(>= 45 dB), and burned subtitles must read back where thin outlines get lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.ocr.band import CaptionBand
from localize.ocr.engine import RapidOcrReader
from localize.picture.burn import BurnStyle, burn_subtitles
from localize.picture.check import MIN_PSNR_DB, check_burned, check_clean
from localize.picture.clean import clean_video, find_caption_spans
from tests.picture.scenes import hard_background

#: where the sample's Chinese captions are (the OCR scan's band on the hard set)
BAND = CaptionBand(0.7336, 0.8341)


def test_clean_master_keeps_busy_moving_detail(tmp_path: Path, reader: RapidOcrReader) -> None:
    """Re-encoding the busy scenery at the old fixed CRF 14 lost it (~42 dB)."""
    from localize.sample import build_sample_episode

    clip = build_sample_episode(tmp_path / "busy", scenery="busy", max_lines=1)
    spans = find_caption_spans(clip.video)
    assert spans.spans, "the OCR scan found the caption"
    report = clean_video(clip.video, tmp_path / "clean.mp4", method="inpaint", spans=spans)
    check = check_clean(str(clip.video), str(report.out), spans, reader=reader)
    assert check.min_psnr_db >= MIN_PSNR_DB, report.crf_probes
    assert check.residual <= 0.02
    assert report.crf is not None and report.crf < 14  # the probe asked for more bits


# (scenery, start s in the sample episode, the cue): moments where the thin outline
# read back wrong: the pan's cue 4 over lit windows, the busy figure and lights
HARD_MOMENTS = [
    ("pan", 15.0, "Fine. I'll sign this contract."),
    ("busy", 0.0, "Lin Wan, you're nothing but a\nstand-in who's paid to play a part!"),
]


@pytest.mark.parametrize(("scenery", "start", "text"), HARD_MOMENTS)
def test_burned_subtitles_read_back_over_busy_scenery(
    scenery: str, start: float, text: str, tmp_path: Path, reader: RapidOcrReader
) -> None:
    picture = hard_background(tmp_path, scenery, start, 3.2)
    track = CueTrack("en", (Cue(700, 2900, text),))
    report = burn_subtitles(picture, track, tmp_path / "en.mp4", band=BAND)
    check = check_burned(str(report.out), report, reader=reader)
    assert check.ok, check.cues
    assert report.boxed and "busy" in report.style_note


def test_a_pinned_style_is_kept_and_calm_scenery_keeps_the_outline(
    tmp_path: Path, reader: RapidOcrReader
) -> None:
    from tests.picture.scenes import make_scene

    track = CueTrack("en", (Cue(700, 2900, "Fine. I'll sign this contract."),))
    calm = make_scene(tmp_path / "still")
    report = burn_subtitles(calm.background, track, tmp_path / "calm.mp4", band=BAND)
    assert not report.boxed and report.style_note.startswith("outline (auto")
    picture = hard_background(tmp_path, "pan", 15.0, 3.2)
    pinned = burn_subtitles(
        picture, track, tmp_path / "pinned.mp4", band=BAND, style=BurnStyle.parse("box=0")
    )
    assert not pinned.boxed and pinned.backdrop is None
    assert pinned.style_note == "outline (set by the style)"


def test_back_to_back_cues_are_timed_to_the_frame_over_busy_scenery(
    tmp_path: Path, reader: RapidOcrReader
) -> None:
    """Each cue's first and last frame is read from the pixels, also where the next
    cue's box replaces it on the very next frame; a burn 3 frames late is flagged."""
    from dataclasses import replace

    picture = hard_background(tmp_path, "busy", 0.0, 3.2)
    cues = (
        Cue(700, 1500, "Fine. I'll sign this contract."),
        Cue(1500, 2300, "Then we have a deal, Miss Lin."),
        Cue(2300, 2900, "Fine. I'll sign this contract."),
    )
    report = burn_subtitles(picture, CueTrack("en", cues), tmp_path / "en.mp4", band=BAND)
    check = check_burned(str(report.out), report, reader=reader)
    assert report.boxed
    assert [(c.offsets.start, c.offsets.end) for c in check.cues] == [(0, 0)] * 3
    assert check.ok, check.cues
    late = tuple(replace(c, start_ms=c.start_ms + 120, end_ms=c.end_ms + 120) for c in cues)
    burned = burn_subtitles(picture, CueTrack("en", late), tmp_path / "late.mp4", band=BAND)
    check = check_burned(str(burned.out), replace(burned, cues=report.cues), reader=reader)
    assert [(c.offsets.start, c.offsets.end) for c in check.cues] == [(3, 3)] * 3
    assert {f.code for f in check.flags()} == {"burn-readback"}
