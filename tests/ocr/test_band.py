"""localize.ocr.band: finding the caption band, and band settings given by hand."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from localize.ocr import (
    CaptionBand,
    OcrError,
    RapidOcrReader,
    benchmark,
    ocr_video,
)
from tests.ocr.helpers import Line, check_timing, make_video, needs_fonts

pytestmark = needs_fonts


def test_horizontal_video_band_found_and_read(tmp_path: Path, reader: RapidOcrReader) -> None:
    lines = [
        Line(520, 2000, "这是横屏视频的字幕"),
        Line(2400, 3800, "第二句：我们明天见"),
        Line(4200, 5600, "你到底是谁？"),
        Line(6000, 7400, "我是你的老板"),
    ]
    video = make_video(
        tmp_path / "wide.mp4",
        size=(1280, 720),
        duration_ms=8000,
        lines=lines,
        static=[("短剧频道", 7), ("独家", 3)],
        font_size=36,
    )
    result = ocr_video(video, reader=reader)
    assert result.band is not None and result.band_source == "detected"
    assert 0.75 <= result.band.top < 0.9 < result.band.bottom
    # the "独家" watermark level with the captions (bottom right) is cut off the band
    assert result.band.right < 0.95
    check_timing(result, lines)

    # the benchmark helper measures the same against a ground truth file
    truth = {"lines": [{"zh": x.text, "start_ms": x.start_ms, "end_ms": x.end_ms} for x in lines]}
    (tmp_path / "ground_truth.json").write_text(json.dumps(truth), encoding="utf-8")
    numbers = benchmark(video, reader=reader)
    assert numbers["cer"] == 0.0 and numbers["lines_within_2_frames"] == "4/4"
    assert numbers["events"] == 4 and numbers["s_per_min"] > 0


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("0.7,0.85", CaptionBand(0.7, 0.85)),
        ("0.7:0.85", CaptionBand(0.7, 0.85)),
        ("0.1,0.2,0.05,0.95", CaptionBand(0.1, 0.2, 0.05, 0.95)),
    ],
)
def test_caption_band_parse(text: str, band: CaptionBand) -> None:
    assert CaptionBand.parse(text) == band


@pytest.mark.parametrize("text", ["0.9,0.8", "0.7", "a,b", "0.1,1.2", "0.1,0.2,0.9,0.3"])
def test_caption_band_rejects_nonsense(text: str) -> None:
    with pytest.raises(OcrError) as info:
        CaptionBand.parse(text)
    assert pickle.loads(pickle.dumps(info.value)).hint == info.value.hint


def test_caption_band_pixels_are_even() -> None:
    assert CaptionBand(0.7365, 0.8302).pixels(720, 1280) == (0, 942, 720, 122)
    x, y, w, h = CaptionBand(0.333, 0.5, 0.111, 0.9).pixels(1281, 721)
    assert x % 2 == y % 2 == w % 2 == h % 2 == 0
