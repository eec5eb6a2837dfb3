"""localize.ocr.scan: reading the captions of the sample episode and of synthetic videos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localize.errors import MediaError
from localize.metrics import boundary_errors, character_error_rate
from localize.ocr import (
    CaptionBand,
    OcrResult,
    RapidOcrReader,
    ocr_video,
)
from localize.sample import SampleEpisode
from localize.tools import run_tool
from tests.ocr.helpers import FRAME_MS, Line, check_timing, make_video, needs_fonts

pytestmark = needs_fonts


def test_sample_episode_text_and_timing(episode: SampleEpisode, sample_ocr: OcrResult) -> None:
    truth = json.loads(episode.ground_truth.read_text(encoding="utf-8"))
    lines = truth["lines"]
    # the band was found automatically, inside the ground truth's caption band, and
    # excludes the series title and the name cards at the top of the frame
    low, high = truth["video"]["caption_band"]
    assert sample_ocr.band_source == "detected"
    assert sample_ocr.band is not None
    assert low - 0.03 <= sample_ocr.band.top and sample_ocr.band.bottom <= high + 0.03
    assert sample_ocr.track.language == "zh-Hans"

    reference = "".join(line["zh"] for line in lines)
    hypothesis = "".join(cue.text for cue in sample_ocr.track.cues)
    assert character_error_rate(reference, hypothesis) < 0.02
    assert [c.text for c in sample_ocr.track.cues] == [line["caption"] for line in lines]

    spans = [(line["start_ms"], line["end_ms"]) for line in lines]
    errors = boundary_errors(spans, [(c.start_ms, c.end_ms) for c in sample_ocr.track.cues])
    assert len(sample_ocr.track) == len(lines)
    for line, error in zip(lines, errors, strict=True):
        assert error is not None, line
        assert abs(error[0]) <= 2 * FRAME_MS and abs(error[1]) <= 2 * FRAME_MS, (line, error)
    assert all(c > 0.9 for c in sample_ocr.confidences)
    assert not sample_ocr.no_captions


def test_sample_episode_ocr_is_cheap(sample_ocr: OcrResult) -> None:
    # OCR runs once per caption change, not per frame
    assert sample_ocr.stats.frames > 1900
    assert sample_ocr.stats.ocr_calls <= 3 * len(sample_ocr.track)


def test_clean_video_hint(sample_ocr: OcrResult, tmp_path: Path) -> None:
    hint = json.loads(sample_ocr.write_clean_video_hint(tmp_path / "hint.json").read_text())
    assert sample_ocr.band is not None
    assert hint["band"] == sample_ocr.band.as_dict()
    assert len(hint["events"]) == len(sample_ocr.track)
    first = hint["events"][0]
    assert first["start_frame"] * FRAME_MS == first["start_ms"]


def test_video_without_captions_is_flagged(tmp_path: Path, reader: RapidOcrReader) -> None:
    video = make_video(
        tmp_path / "clean.mp4",
        size=(720, 1280),
        duration_ms=5000,
        static=[("总裁的契约新娘", 7), ("独家播出", 3)],
    )
    result = ocr_video(video, reader=reader)
    assert result.no_captions
    assert len(result.track) == 0 and result.band is None
    assert result.warnings and "no burned-in captions" in result.warnings[0]


def test_captions_that_move_are_all_read(tmp_path: Path, reader: RapidOcrReader) -> None:
    lines = [
        Line(400, 1600, "第一句在下面", y=0.85),
        Line(2000, 3200, "第二句也在下面", y=0.85),
        Line(3600, 4800, "第三句还在下面", y=0.85),
        Line(5200, 6400, "第四句挪到中间", y=0.62),
        Line(6800, 8000, "第五句也在中间", y=0.62),
        Line(8400, 9600, "第六句还在中间", y=0.62),
    ]
    video = make_video(tmp_path / "moving.mp4", size=(720, 1280), duration_ms=10_000, lines=lines)
    result = ocr_video(video, reader=reader)
    assert result.band is not None
    assert result.band.top < 0.6 and result.band.bottom > 0.85
    assert any("positions" in w for w in result.warnings)
    check_timing(result, lines)


def test_gaps_between_lines_and_two_line_captions(tmp_path: Path, reader: RapidOcrReader) -> None:
    lines = [
        Line(800, 2000, "第一句话"),
        Line(2040, 3000, "只隔了一帧的第二句"),  # one blank frame before it
        Line(3000, 4200, "紧接着的第三句"),  # no blank at all
        Line(5600, 7000, "两行字幕的第一行\n这是第二行"),  # after 1.4 s with no caption
    ]
    video = make_video(tmp_path / "gaps.mp4", size=(720, 1280), duration_ms=8000, lines=lines)
    # a band given by the user is used as it is
    band = CaptionBand(0.78, 0.93)
    result = ocr_video(video, band=band, reader=reader)
    assert result.band == band and result.band_source == "given"
    check_timing(result, lines, frames=1)
    assert result.track.cues[3].text.count("\n") == 1


def test_audio_only_file_gives_empty_result(tmp_path: Path) -> None:
    audio = tmp_path / "speech.wav"
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", str(audio)],
        timeout=60,
        what="making a test tone",
    )
    result = ocr_video(audio)
    assert result.no_captions and not result.track.cues
    assert "no video stream" in result.warnings[0]


def test_unreadable_file_raises_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(MediaError):
        ocr_video(bad)
