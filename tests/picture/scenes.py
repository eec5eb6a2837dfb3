"""Small test videos whose caption-free background is known.

The background is rendered first (a still textured scene, or a slow pan across a
larger one) and encoded losslessly; then Chinese captions are burned into it with
ffmpeg's ``subtitles`` filter and the WenQuanYi Zen Hei font, also losslessly, with a
tone as audio. Both files are kept, so a cleaned band can be compared with the truth.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from localize.ocr.band import CaptionBand
from localize.picture.clean import CaptionSpans

WIDTH, HEIGHT, FPS = 360, 640, 25
FONT_DIR = "/usr/share/fonts/truetype/wqy"
#: (start_s, end_s, text): clean frames before, between and after
CAPTIONS = ((0.6, 1.8, "我们的合同今天开始"), (2.3, 3.5, "你不要后悔"))
#: back to back from the first frame to the last: no caption-free frame at all
CONTINUOUS = (
    (0.0, 1.4, "我们的合同今天开始"),
    (1.4, 2.8, "你不要后悔"),
    (2.8, 4.2, "我会一直等你"),
)
SECONDS = 4.2
BAND = CaptionBand(0.76, 0.86)


@dataclass(frozen=True)
class Scene:
    background: Path
    captioned: Path
    spans: CaptionSpans


def _texture(width: int, height: int, seed: int) -> npt.NDArray[np.uint8]:
    """A scene with detail at every scale: gradients, soft blobs, stripes and grain."""
    import cv2

    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    image = np.zeros((height, width, 3), np.float32)
    image[..., 0] = 60 + 80 * y + 30 * np.sin(9 * x)
    image[..., 1] = 50 + 60 * x + 25 * np.cos(7 * y + 3 * x)
    image[..., 2] = 90 + 50 * np.sin(5 * x + 4 * y)
    for _ in range(40):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(6, 30)
        colour = rng.uniform(20, 120, size=3).astype(np.float32)
        cv2.circle(image, (int(cx), int(cy)), int(r), colour.tolist(), -1, cv2.LINE_AA)
    stripes = 12 * np.sin(x * width / 3.0 + y * height / 7.0)
    image += stripes[..., None]
    image = cv2.GaussianBlur(image, (0, 0), 1.2)
    image += rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _ass(path: Path, captions: tuple[tuple[float, float, str], ...]) -> None:
    def t(s: float) -> str:
        cs = round(s * 100)
        return f"0:{cs // 6000:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"

    margin = round(HEIGHT * (1 - 0.845))
    lines = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {WIDTH}",
        f"PlayResY: {HEIGHT}",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        "Style: Caption,WenQuanYi Zen Hei,24,&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        f"-1,0,0,0,100,100,1,0,1,2,1,2,20,20,{margin},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    lines += [f"Dialogue: 0,{t(a)},{t(b)},Caption,,0,0,0,,{text}" for a, b, text in captions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_scene(
    folder: Path, *, pan: bool = False, seed: int = 3, continuous: bool = False
) -> Scene:
    """Render the background (still or panning 1 px/frame), then burn the captions
    (``continuous``: back to back, so no frame is free of captions)."""
    captions = CONTINUOUS if continuous else CAPTIONS
    folder.mkdir(parents=True, exist_ok=True)
    frames = round(SECONDS * FPS)
    scene = _texture(WIDTH + (frames if pan else 0), HEIGHT, seed)
    background = folder / ("pan.background.mp4" if pan else "still.background.mp4")
    lossless = ["-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    encoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
         "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "pipe:0", *lossless, str(background)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert encoder.stdin is not None
    for n in range(frames):
        offset = n if pan else 0
        encoder.stdin.write(np.ascontiguousarray(scene[:, offset : offset + WIDTH]).tobytes())
    encoder.stdin.close()
    assert encoder.wait() == 0
    ass = folder / "captions.ass"
    _ass(ass, captions)
    captioned = folder / (
        ("pan" if pan else "still") + ("-continuous" if continuous else "") + ".mp4"
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(background),
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
         "-vf", f"subtitles={ass.name}:fontsdir={FONT_DIR}", *lossless,
         "-c:a", "aac", "-shortest", str(captioned)],
        check=True, cwd=folder,
    )  # fmt: skip
    spans = tuple((round(a * FPS), round(b * FPS)) for a, b, _ in captions)
    return Scene(background, captioned, CaptionSpans(BAND, spans, tuple(c[2] for c in captions)))


def hard_background(folder: Path, scenery: str, start: float, seconds: float) -> Path:
    """``seconds`` of a hard sample scenery's caption-free picture (720x1280) from
    ``start`` s of the sample episode, encoded like an episode (x264 CRF 23): what a
    clean master of that scenery shows where the subtitles are burned."""
    from localize.sample.build import FPS, HEIGHT
    from localize.sample.build import WIDTH as SAMPLE_WIDTH
    from localize.sample.scenery import background

    folder.mkdir(parents=True, exist_ok=True)
    bg = background(scenery, folder, (SAMPLE_WIDTH, HEIGHT), FPS, 0)
    out = folder / f"{scenery}.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *bg.inputs, "-filter_complex", bg.graph,
         "-map", "[bg]", "-ss", str(start), "-t", str(seconds), "-c:v", "libx264",
         "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(out)],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return out
