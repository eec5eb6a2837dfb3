"""Small synthetic videos with burned-in captions, rendered at test time.

The videos are rendered with ffmpeg's ``subtitles`` filter (libass) and the WenQuanYi Zen
Hei font, over a moving gradient so the caption band is never a flat colour. Caption
times are multiples of 40 ms, so at 25 fps the true first frame of each caption and the
first frame after it are known exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from localize.ocr import (
    OcrResult,
)
from localize.tools import run_tool

FONT_DIR = Path("/usr/share/fonts/truetype/wqy")
FPS = 25
FRAME_MS = 1000 // FPS

#: the OCR tests need the font the sample and the synthetic videos are drawn with
needs_fonts = pytest.mark.skipif(
    not (FONT_DIR / "wqy-zenhei.ttc").is_file(), reason="needs fonts-wqy-zenhei"
)


@dataclass(frozen=True)
class Line:
    start_ms: int
    end_ms: int
    text: str
    #: vertical position of the caption's bottom edge as a fraction of the height
    y: float = 0.9


def _ass_time(ms: int) -> str:
    cs = ms // 10
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def make_video(
    path: Path,
    *,
    size: tuple[int, int],
    duration_ms: int,
    lines: Sequence[Line] = (),
    static: Sequence[tuple[str, int]] = (),
    font_size: int = 40,
) -> Path:
    """Render a test video: moving gradient, captions ``lines``, and static text
    ``static`` (text, ASS alignment 1-9) shown for the whole video, like a logo."""
    width, height = size
    events = [
        f"Dialogue: 1,{_ass_time(line.start_ms)},{_ass_time(line.end_ms)},Caption,,0,0,0,,"
        f"{{\\an2\\pos({width // 2},{round(line.y * height)})}}" + line.text.replace("\n", "\\N")
        for line in lines
    ]
    events += [
        f"Dialogue: 0,{_ass_time(0)},{_ass_time(duration_ms + 1000)},Logo,,0,0,0,,{{\\an{align}}}"
        f"{text}"
        for text, align in static
    ]
    ass = "\n".join(
        [
            "[Script Info]",
            "ScriptType: v4.00+",
            f"PlayResX: {width}",
            f"PlayResY: {height}",
            "WrapStyle: 2",
            "ScaledBorderAndShadow: yes",
            "",
            "[V4+ Styles]",
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
            "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
            "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
            f"Style: Caption,WenQuanYi Zen Hei,{font_size},&H00FFFFFF,&H00FFFFFF,&H00000000,"
            "&H80000000,-1,0,0,0,100,100,1,0,1,3,1,2,20,20,20,1",
            "Style: Logo,WenQuanYi Zen Hei,28,&H30FFFFFF,&H30FFFFFF,&H00000000,"
            "&H80000000,-1,0,0,0,100,100,2,0,1,2,0,7,30,30,30,1",
            "",
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
            *events,
        ]
    )
    (path.parent / "captions.ass").write_text(ass + "\n", encoding="utf-8")
    seconds = f"{duration_ms / 1000:.3f}"
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"gradients=s={width // 4}x{height // 4}:r={FPS}:d={seconds}:"
         "speed=0.02:c0=0x20304a:c1=0x6a4a3a:c2=0x2a5a4a:nb_colors=3",
         # gradients at a quarter size, scaled up: 3x faster to render, just as smooth
         "-vf", f"scale={width}:{height},format=yuv420p,"
         f"subtitles=captions.ass:fontsdir={FONT_DIR}",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-g", "50",
         "-t", seconds, path.name],
        timeout=120,
        cwd=path.parent,
        what="rendering a test video",
    )  # fmt: skip
    return path


def check_timing(result: OcrResult, lines: Sequence[Line], *, frames: int = 2) -> None:
    """Every line was read once, with its text, within ``frames`` frames at both ends."""
    got = [(c.start_ms, c.end_ms, c.text) for c in result.track.cues]
    assert len(got) == len(lines), got
    for line, (start, end, text) in zip(lines, got, strict=True):
        assert bare(text) == bare(line.text), (line, text)
        assert abs(start - line.start_ms) <= frames * FRAME_MS, (line, start)
        assert abs(end - line.end_ms) <= frames * FRAME_MS, (line, end)


def bare(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)
