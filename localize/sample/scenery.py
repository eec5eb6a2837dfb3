"""Hard sample scenery: the sample scene's captions over moving, busy or flickering pictures.

Real micro-dramas rarely keep a still picture behind their captions: the camera pans,
people walk behind the caption, light flickers. ``localize sample --scenery NAME``
renders the sample scene over one of:

- ``still``: the still backdrops of the default sample (unchanged);
- ``pan``: a slow pan (24 px/s) over a detailed night-city picture full of lit
  windows, i.e. small light rectangles on dark, the texture OCR likes to misread;
- ``busy``: the same city panned faster, a person-sized figure crossing the caption
  band every few seconds and bright lights drifting through it;
- ``flicker``: the still backdrops with brightness swings and flashes.

The non-still sceneries also use the caption styles of the genre, one per line in
turn: white with a black outline, yellow, white on a semi-opaque box, and white with
one emphasised word in another colour (captions longer than 14 characters take two
lines); and they show what is *not* dialogue: a title card for the first seconds and
a corner watermark for the whole episode. The ground truth lists every caption with
its style, first and last frame and (approximate) box, and the non-dialogue text.

Everything is drawn by numpy (PPM/PNG images) and ffmpeg filters (crop, overlay, eq,
libass), so the same seed gives the same video.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from localize.errors import MediaError

SceneryName = Literal["still", "pan", "busy", "flicker"]
SCENERIES: tuple[SceneryName, ...] = ("still", "pan", "busy", "flicker")

#: caption styles of the genre, used in turn by the non-still sceneries
CAPTION_STYLES = ("outline", "yellow", "box", "emphasis")
#: ASS colours are &HAABBGGRR
_YELLOW = "&H0000F0FF"
_EMPHASIS = "&H0040B0FF"  # orange, as the genre marks a name or a key word
_BOX = "&H60101010"  # a dark box, 38 % see-through

TITLE_CARD = "总裁的契约新娘"
TITLE_CARD_MS = 2600
WATERMARK = "星河短剧"

Rgb = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class CaptionLook:
    """How one caption is drawn: its style name and the ASS text with override tags."""

    style: str
    ass_text: str


def caption_look(index: int, text: str, scenery: str) -> CaptionLook:
    """The style of caption ``index`` (1-based) and its ASS text (``text`` may hold "\\n")."""
    style = "outline" if scenery == "still" else CAPTION_STYLES[(index - 1) % len(CAPTION_STYLES)]
    ass = text.replace("\n", "\\N")
    if style == "yellow":
        ass = f"{{\\c{_YELLOW[:2]}{_YELLOW[4:]}&}}" + ass
    elif style == "emphasis":
        ass = _emphasise(text)
    return CaptionLook(style, ass)


def _emphasise(text: str) -> str:
    """Colour two hanzi in the middle of the first line (a name or key word in the genre)."""
    first, _, rest = text.partition("\n")
    hanzi = [i for i, c in enumerate(first) if "\u4e00" <= c <= "\u9fff"]
    pairs = [i for i in hanzi if i + 1 in hanzi]
    if not pairs:
        return text.replace("\n", "\\N")
    at = pairs[len(pairs) // 2]
    colour = f"{{\\c{_EMPHASIS[:2]}{_EMPHASIS[4:]}&}}"
    marked = f"{first[:at]}{colour}{first[at : at + 2]}{{\\c&HFFFFFF&}}{first[at + 2 :]}"
    return marked + (f"\\N{rest}" if rest else "")


def ass_styles(font: str, size: int, margin_v: int) -> list[str]:
    """The extra ASS styles of the hard sceneries (box captions, title card, watermark)."""
    black = "&H00000000"

    def style(name: str, fsize: int, colour: str, outline_colour: str, **kw: int) -> str:
        return (
            f"Style: {name},{font},{fsize},{colour},{colour},{outline_colour},&H80000000,-1,0,0,0,"
            f"100,100,{kw.get('spacing', 1)},0,{kw.get('border', 1)},{kw.get('outline', 3)},"
            f"{kw.get('shadow', 1)},{kw['align']},30,30,{kw.get('mv', 0)},1"
        )

    return [
        style("CaptionBox", size, "&H00FFFFFF", _BOX, align=2, mv=margin_v, border=3, outline=8,
              shadow=0),
        style("TitleCard", 72, "&H0078D6FF", black, align=5, outline=4, spacing=6),
        style("Watermark", 24, "&H70FFFFFF", "&H70000000", align=3, mv=96, outline=1, shadow=0),
    ]  # fmt: skip


def ass_events(duration_ms: int, ass_time: Callable[..., str]) -> list[str]:
    """Title card (first seconds, mid-picture) and corner watermark (whole episode)."""
    end = ass_time(duration_ms, round_up=True)
    return [
        f"Dialogue: 0,{ass_time(0)},{ass_time(TITLE_CARD_MS)},TitleCard,,0,0,0,,"
        f"{{\\pos(360,560)}}{TITLE_CARD}",
        f"Dialogue: 0,{ass_time(0)},{end},Watermark,,0,0,0,,{WATERMARK}",
    ]


# --- pictures -------------------------------------------------------------------------


def city_panorama(width: int, height: int, seed: int) -> Rgb:
    """A detailed night city: towers of lit windows, street lights and haze (RGB)."""
    rng = np.random.default_rng(seed)
    y = np.arange(height, dtype=np.float32)[:, None, None] / height
    sky = np.array([18, 22, 48], np.float32) * (1 - y) + np.array([70, 48, 60], np.float32) * y
    image = np.repeat(sky, width, axis=1).astype(np.float32)
    x = 0
    while x < width:
        w = int(rng.integers(90, 260))
        top = int(rng.uniform(0.08, 0.5) * height)
        shade = rng.uniform(10, 40)
        image[top:, x : x + w] = [shade, shade * 1.05, shade * 1.2]
        cell_w, cell_h = int(rng.integers(12, 22)), int(rng.integers(18, 30))
        for wy in range(top + 12, height - 20, cell_h):
            for wx in range(x + 8, min(x + w - 10, width - 10), cell_w):
                if rng.random() < 0.55:
                    light = rng.uniform(120, 255)
                    tint = rng.choice([[1.0, 0.9, 0.6], [0.8, 0.9, 1.0], [1.0, 1.0, 1.0]])
                    image[wy : wy + cell_h - 7, wx : wx + cell_w - 6] = light * np.asarray(tint)
        x += w + int(rng.integers(0, 30))
    for _ in range(60):  # street lights and bokeh
        cx, cy, r = rng.uniform(0, width), rng.uniform(0.55, 1.0) * height, rng.uniform(6, 30)
        rows = slice(max(0, int(cy - r)), min(height, int(cy + r) + 1))
        cols = slice(max(0, int(cx - r)), min(width, int(cx + r) + 1))
        yy, xx = np.ogrid[rows, cols]
        disc = np.clip(1.0 - np.hypot(xx - cx, yy - cy) / r, 0, 1)[..., None] ** 0.5
        image[rows, cols] += disc * np.array([255, 200, 120], np.float32) * 0.8
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def person_sprite(width: int = 260, height: int = 900) -> npt.NDArray[np.uint8]:
    """A person-sized figure (BGRA): light face, dark coat with a white shirt front."""
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    cx = width / 2
    head = np.hypot((x - cx) / 55, (y - 90) / 75) <= 1
    body = (y >= 170) & (np.abs(x - cx) <= 60 + 70 * np.clip((y - 170) / 120, 0, 1))
    shirt = body & (y < 520) & (np.abs(x - cx) <= 26 - (y - 170) / 20)
    out = np.zeros((height, width, 4), np.uint8)
    out[body] = (40, 34, 30, 255)  # BGR: dark coat
    out[shirt] = (235, 235, 240, 255)
    out[head] = (150, 180, 225, 255)
    return out


def lights_sprite(width: int = 420, height: int = 160) -> npt.NDArray[np.uint8]:
    """Bright drifting lights (BGRA): car headlights or a shop sign passing by."""
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    alpha = np.zeros((height, width), np.float32)
    for cx, cy, r in ((60, 80, 50), (200, 60, 36), (330, 100, 44)):
        alpha = np.maximum(alpha, np.clip(1.4 - np.hypot(x - cx, y - cy) / r, 0, 1))
    out = np.zeros((height, width, 4), np.uint8)
    out[..., :3] = (200, 235, 255)
    out[..., 3] = np.round(255 * alpha).astype(np.uint8)
    return out


def write_png(path: Path, image: npt.NDArray[np.uint8]) -> None:
    import cv2

    if not cv2.imwrite(str(path), image):
        raise MediaError(
            f"cannot write the sample picture {path.name}",
            "check that the output folder is writable and the disk is not full",
            path=str(path),
        )


def write_ppm(path: Path, image: Rgb) -> None:
    h, w = image.shape[:2]
    path.write_bytes(f"P6\n{w} {h}\n255\n".encode("ascii") + image.tobytes())


#: brightness swings and flashes (ffmpeg ``eq`` expressions of the time t)
_FLICKER = "0.12*sin(2*PI*t*0.7)+if(lt(mod(t,2.3),0.12),0.35,0)-if(between(mod(t,5.1),3,3.4),0.3,0)"


@dataclass(frozen=True)
class Background:
    """ffmpeg inputs and the filter graph head that produce the moving picture ``[bg]``."""

    inputs: tuple[str, ...]
    graph: str


def background(scenery: str, work: Path, size: tuple[int, int], fps: int, seed: int) -> Background:
    """Write the images ``scenery`` needs into ``work`` and return how ffmpeg animates them.

    ``still`` and ``flicker`` use the shots' ffconcat list (``shots.ffconcat``) the
    caller writes; ``pan`` and ``busy`` ignore it.
    """
    width, height = size
    if scenery in ("still", "flicker"):
        head = "[0:v]format=yuv420p,fps=" + str(fps)
        if scenery == "flicker":
            head += f",eq=eval=frame:brightness='{_FLICKER}'"
        return Background(("-f", "concat", "-safe", "0", "-i", "shots.ffconcat"), head + "[bg]")
    write_ppm(work / "city.ppm", city_panorama(3 * width, height, seed))
    loop = ("-loop", "1", "-framerate", str(fps))
    span = 2 * width  # how far the camera can travel
    if scenery == "pan":
        crop = f"crop={width}:{height}:x='abs(mod(t*24,{2 * span})-{span})':y=0"
        return Background((*loop, "-i", "city.ppm"), f"[0:v]{crop},format=yuv420p[bg]")
    write_png(work / "person.png", person_sprite())
    write_png(work / "lights.png", lights_sprite())
    crop = f"crop={width}:{height}:x='abs(mod(t*70,{2 * span})-{span})':y=0"
    graph = ";".join(
        [
            f"[0:v]{crop},format=yuv420p[city]",
            # the figure crosses the band every 4.5 s, the lights every 3.1 s the other way
            f"[city][1:v]overlay=x='mod(t*260,{width}+w+200)-w':y={int(0.42 * height)}[walk]",
            f"[walk][2:v]overlay=x='W-mod(t*330,W+w+100)':y={int(0.76 * height)}:"
            "format=auto,format=yuv420p[bg]",
        ]
    )
    return Background((*loop, "-i", "city.ppm", *loop, "-i", "person.png", *loop,
                       "-i", "lights.png"), graph)  # fmt: skip


def caption_box(
    text: str, *, font_size: int, bottom: float, size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Approximate box ``(left, top, right, bottom)`` of a centred caption, as fractions."""
    width, height = size
    lines = text.split("\n")
    w = max(len(line) for line in lines) * (font_size + 1)
    h = len(lines) * font_size * 1.15
    return (
        round(0.5 - w / 2 / width, 4),
        round(bottom - h / height, 4),
        round(0.5 + w / 2 / width, 4),
        round(bottom, 4),
    )


def not_dialogue(duration_ms: int, frame_ms: int, scenery: str) -> list[dict[str, object]]:
    """Ground truth of the text that must never become a caption."""
    if scenery == "still":
        return []
    last = -(-duration_ms // frame_ms) - 1
    return [
        {"kind": "title_card", "text": TITLE_CARD, "first_frame": 0,
         "last_frame": -(-TITLE_CARD_MS // frame_ms) - 1, "box": [0.2, 0.41, 0.8, 0.47]},
        {"kind": "watermark", "text": WATERMARK, "first_frame": 0, "last_frame": last,
         "box": [0.8, 0.905, 0.96, 0.925]},
    ]  # fmt: skip


def frames_of(start_ms: int, end_ms: int, frame_ms: int) -> tuple[int, int]:
    """First and last frame libass draws an event on (it shows on frames start <= t < end,
    with the times as written in the ASS file: centiseconds, the end rounded up)."""
    start_cs, end_cs = start_ms // 10, -(-end_ms // 10)
    return -(-start_cs * 10 // frame_ms), -(-end_cs * 10 // frame_ms) - 1


def caption_truth(
    placed: Sequence[tuple[int, str, int, int]],
    *,
    scenery: str,
    frame_ms: int,
    font_size: int,
    bottom: float,
    size: tuple[int, int],
) -> list[dict[str, object]]:
    """Per caption: index, text, style, first/last frame, box (``placed``: index, caption
    text with "\\n", start and end ms)."""
    out: list[dict[str, object]] = []
    for index, text, start, end in placed:
        first, last = frames_of(start, end, frame_ms)
        out.append(
            {
                "index": index,
                "text": text,
                "style": caption_look(index, text, scenery).style,
                "first_frame": first,
                "last_frame": last,
                "box": list(caption_box(text, font_size=font_size, bottom=bottom, size=size)),
            }
        )
    return out


def score_captions(
    truth: dict[str, Any], cues: Sequence[tuple[int, int, str]], fps: float
) -> dict[str, Any]:
    """Compare OCR cues ``(start_ms, end_ms, text)`` with a sample's ground truth.

    Returns the number of captions and cues, ``cer`` (all caption text), ``starts_2f``
    and ``ends_2f`` (share of captions whose first/last cue starts/ends within 2
    frames), ``phantom`` (cues overlapping no caption: never on screen), ``split``
    (extra cues for a caption already read) and ``leaks`` (cues holding the title
    card or the watermark).
    """
    from localize.metrics import character_error_rate, normalise_for_cer

    frame_ms = 1000 / fps
    captions = truth["captions"]
    spans = [(c["first_frame"] * frame_ms, (c["last_frame"] + 1) * frame_ms) for c in captions]
    owner: list[int | None] = []
    for start, end, _ in cues:
        overlaps = [min(end, e) - max(start, s) for s, e in spans]
        best = max(range(len(spans)), key=overlaps.__getitem__)
        owner.append(best if overlaps[best] > 0 else None)
    tolerance = 2 * frame_ms + 1
    starts = ends = 0
    for i, (s, e) in enumerate(spans):
        mine = [cue for cue, o in zip(cues, owner, strict=True) if o == i]
        starts += bool(mine) and abs(mine[0][0] - s) <= tolerance
        ends += bool(mine) and abs(mine[-1][1] - e) <= tolerance
    assigned = [o for o in owner if o is not None]
    others = [normalise_for_cer(str(t["text"])) for t in truth.get("not_dialogue", [])]
    leaks = sum(1 for _, _, text in cues if any(o in normalise_for_cer(text) for o in others))
    reference = "".join(c["text"] for c in captions)
    return {
        "captions": len(captions),
        "cues": len(cues),
        "cer": round(character_error_rate(reference, "".join(t for _, _, t in cues)), 4),
        "starts_2f": round(starts / max(1, len(spans)), 3),
        "ends_2f": round(ends / max(1, len(spans)), 3),
        "phantom": sum(1 for o in owner if o is None),
        "split": len(assigned) - len(set(assigned)),
        "leaks": leaks,
    }
