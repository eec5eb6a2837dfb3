"""Burned-in renditions: libass over the picture, checked by OCR read-back."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.cli import main
from localize.domain import Cue, CueTrack
from localize.picture.burn import SAFE_AREA, BurnStyle, burn_subtitles
from localize.picture.check import check_burned
from localize.picture.errors import MissingGlyphError, PictureError, SubtitleTimingError
from localize.qc import build_report
from localize.subtitles import write_subtitles
from tests.picture.scenes import BAND, Scene

ENGLISH = CueTrack(
    "en",
    (
        Cue(600, 1800, "Our contract starts today."),
        Cue(2300, 3500, "Don't you dare regret it, because I will not wait for you."),
    ),
)


def test_burned_english_reads_back_inside_the_safe_area(
    still: Scene, reader: object, tmp_path: Path
) -> None:
    out = tmp_path / "still.en.mp4"
    report = burn_subtitles(still.background, ENGLISH, out, band=BAND)
    check = check_burned(str(out), report, reader=reader)  # type: ignore[arg-type]
    assert [c.index for c in check.cues] == [1, 2]
    assert all(c.cer <= 0.05 for c in check.cues), check.cues
    assert all(c.inside_safe_area for c in check.cues)
    # each cue appears and disappears within a frame of its times, as measured
    assert all(c.offsets.start is not None and c.offsets.end is not None for c in check.cues)
    assert all(c.offsets.ok for c in check.cues), check.cues
    assert check.flags() == []
    # the long cue was wrapped to two lines by the English style profile, not more
    assert report.cues[1].text.count("\n") == 1
    assert report.bottom_px <= SAFE_AREA.bottom * 640


def test_a_cue_under_the_buttons_is_flagged(still: Scene, reader: object, tmp_path: Path) -> None:
    # a style that puts the text at the very bottom is clamped into the safe area ...
    out = tmp_path / "low.mp4"
    report = burn_subtitles(still.background, ENGLISH, out, style=BurnStyle(bottom=0.99))
    assert report.bottom_px <= SAFE_AREA.bottom * 640 - 0.3 * report.size_px + 1
    # ... and a picture whose text really is outside it is reported by the read-back
    from dataclasses import replace

    strict = replace(report, safe_area=replace(SAFE_AREA, bottom=0.6))
    flags = check_burned(str(out), strict, reader=reader).flags()  # type: ignore[arg-type]
    assert {f.code for f in flags} == {"outside-safe-area"}
    qc = build_report({"en": ENGLISH}, extra_flags={"en": flags})
    assert not qc.ok and "outside-safe-area" in qc.to_markdown()


def test_a_missing_glyph_names_the_cue_and_the_character(still: Scene, tmp_path: Path) -> None:
    thai = CueTrack("en", (Cue(600, 1800, "Hello"), Cue(2300, 3500, "OK สวัสดี")))
    out = tmp_path / "x.mp4"
    with pytest.raises(MissingGlyphError) as caught:
        burn_subtitles(still.background, thai, out)
    assert caught.value.cue == 2 and caught.value.char == "ส"
    assert "cue 2" in str(caught.value) and "U+0E2A" in str(caught.value)
    assert not out.exists()


def test_subtitles_longer_than_the_video_are_refused(still: Scene, tmp_path: Path) -> None:
    late = CueTrack("en", (*ENGLISH.cues, Cue(60_000, 62_000, "Next week.")))
    with pytest.raises(SubtitleTimingError) as caught:
        burn_subtitles(still.background, late, tmp_path / "x.mp4")
    assert caught.value.cue == 3 and "another" in caught.value.hint


def test_style_parsing() -> None:
    style = BurnStyle.parse("font=DejaVu Sans, size=0.04, color=FFFF00, box=1")
    assert (style.font, style.size, style.colour, style.box) == (
        "DejaVu Sans",
        0.04,
        "FFFF00",
        True,
    )
    assert BurnStyle.parse("box=0").box is False
    assert BurnStyle.parse("box=auto").box is None and BurnStyle.parse("").box is None
    with pytest.raises(PictureError, match="keys"):
        BurnStyle.parse("weight=bold")


def test_cli_burn_with_check(still: Scene, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    subs = tmp_path / "still.en.srt"
    write_subtitles(ENGLISH, subs)
    out = tmp_path / "still.en.mp4"
    code = main(["burn", str(still.background), str(subs), "--out", str(out), "--check",
                 "--caption-band", "0.76,0.86", "--style", "box=1"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "2 cues read back" in printed


def test_thai_gets_a_thai_font(still: Scene, tmp_path: Path) -> None:
    from localize.picture.burn import find_font

    if find_font("Noto Sans Thai") is None:
        pytest.skip("no Thai font installed (scripts/setup.sh installs fonts-noto-core)")
    thai = CueTrack("th", (Cue(600, 1800, "สัญญาของเราเริ่มวันนี้"),))
    report = burn_subtitles(still.background, thai, tmp_path / "still.th.mp4")
    assert report.font.family == "Noto Sans Thai"


def test_a_long_cue_keeps_two_lines_and_shrinks_to_the_safe_width() -> None:
    from localize.picture.burn import _line_width, default_font, layout

    text = "I never wanted any of this, but you left me no choice, so now we play it your way " * 2
    track = CueTrack("en", (Cue(0, 4000, text.strip()),))
    font = default_font("en")
    cues, sizes, base = layout(track, "en", 720, 1280, font, BurnStyle())
    lines = cues[0].text.split("\n")
    assert len(lines) == 2
    assert sizes[0] is not None and sizes[0] < base
    room = (SAFE_AREA.right - SAFE_AREA.left) * 720
    assert max(_line_width(font, sizes[0])(line) for line in lines) <= room


def test_burning_onto_a_full_disk_leaves_nothing(still: Scene, tiny_disk: Path) -> None:
    from localize.picture.errors import DiskFullError

    out = tiny_disk / "still.en.mp4"
    with pytest.raises(DiskFullError):
        burn_subtitles(still.background, ENGLISH, out)
    assert list(tiny_disk.iterdir()) == []


def _shifted(track: CueTrack, ms: int) -> CueTrack:
    from dataclasses import replace

    moved = (replace(c, start_ms=c.start_ms + ms, end_ms=c.end_ms + ms) for c in track.cues)
    return CueTrack(track.language, tuple(moved))


@pytest.mark.parametrize("frames", [3, -2])
def test_a_burn_off_the_cue_times_is_flagged(
    frames: int, still: Scene, reader: object, tmp_path: Path
) -> None:
    """Subtitles burned 3 frames late (or 2 early) against the cues being published:
    the text still reads back right at each cue's middle, but the timing is off."""
    from dataclasses import replace

    out = tmp_path / "late.mp4"
    burned = burn_subtitles(still.background, _shifted(ENGLISH, frames * 40), out, band=BAND)
    report = replace(burned, cues=tuple(
        replace(c, start_ms=o.start_ms, end_ms=o.end_ms)
        for c, o in zip(burned.cues, ENGLISH.cues, strict=True)
    ))  # fmt: skip
    check = check_burned(str(out), report, reader=reader)  # type: ignore[arg-type]
    assert all(c.cer <= 0.05 for c in check.cues)
    assert not check.ok
    assert [(c.offsets.start, c.offsets.end) for c in check.cues] == [(frames, frames)] * 2
    flags = check.flags()
    assert {(f.code, f.index) for f in flags} == {("burn-readback", 1), ("burn-readback", 2)}
    word = "after" if frames > 0 else "before"
    assert f"appears {abs(frames)} frame(s) {word} the cue starts (0.600 s)" in flags[0].message
    assert f"disappears {abs(frames)} frame(s) {word} the cue ends" in flags[1].message
    # one frame off is within the tolerance (libass and the times' rounding)
    one = tmp_path / "one.mp4"
    burned = burn_subtitles(still.background, _shifted(ENGLISH, 40), one, band=BAND)
    report = replace(burned, cues=report.cues)
    assert check_burned(str(one), report, reader=reader).flags() == []  # type: ignore[arg-type]


def test_frames_a_cue_is_drawn_on_follow_libass() -> None:
    """libass draws a cue on the frames whose time t has start <= t < end."""
    from localize.picture.timing import cue_frames

    times = [n * 40.0 for n in range(100)]
    cues = [Cue(600, 1800, "a"), Cue(610, 1790, "b"), Cue(3950, 5000, "c"), Cue(1010, 1030, "d")]
    frames = cue_frames(cues, times)
    assert [(f.first, f.last) for f in frames[:3]] == [(15, 44), (16, 44), (99, 99)]
    assert not frames[3].drawn  # shorter than a frame, between two frames


def test_cue_times_between_centiseconds_keep_their_frames(
    still: Scene, reader: object, tmp_path: Path
) -> None:
    """ASS keeps centiseconds: 0.604-1.804 s rounded to the nearest (0.60-1.80) drew the
    cue one frame early and dropped its last frame (1.800 s); rounded up, libass draws
    exactly the frames 0.640-1.800 s the cue's times imply."""
    track = CueTrack("en", (Cue(604, 1804, "Our contract starts today."),))
    report = burn_subtitles(still.background, track, tmp_path / "cs.mp4", band=BAND)
    [cue] = check_burned(str(report.out), report, reader=reader).cues  # type: ignore[arg-type]
    assert (cue.offsets.start, cue.offsets.end) == (0, 0)
