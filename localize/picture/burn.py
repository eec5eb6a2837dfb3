"""Burned-in renditions: one language's subtitles drawn into the picture with libass.

The subtitles are written as ASS with pysubs2 and burned by ffmpeg's ``ass`` filter,
usually over the clean master (:mod:`localize.picture.clean`). Before anything is
rendered:

- cues starting after the video ends are an error (:class:`SubtitleTimingError`);
- every character of every cue is checked against the font's character map
  (``fc-query``): libass would otherwise fall back to another font or draw boxes, so
  a missing glyph is an error naming the cue and the character;
- each cue is wrapped by the language's :class:`~localize.segment.StyleProfile` (two
  lines at most) and shrunk, if its widest line is wider than the safe area, until it
  fits (measured with the font's own advances).

The text sits where the Chinese captions were (the band's bottom), kept inside the
9:16 safe area: above the bottom 15 % and left of the right-hand action column
(the platforms' buttons and captions live there).

Outline or box: unless the style pins it (``box=1`` / ``box=0``), the picture behind
where the text goes is measured first (:mod:`localize.picture.backdrop`); when any
cue sits over busy scenery (lit windows, bokeh, moving shapes) the whole rendition
gets a dark box behind the text, else the thin outline.
"""

from __future__ import annotations

import functools
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from localize.domain import Cue, CueTrack
from localize.ocr.band import CaptionBand
from localize.picture.backdrop import Backdrop, measure_backdrop
from localize.picture.defaults import DEFAULT_CRF, DEFAULT_PRESET
from localize.picture.errors import MissingGlyphError, PictureError, SubtitleTimingError
from localize.picture.frames import (
    Geometry,
    geometry,
    run_ffmpeg_to,
    x264_args,
)
from localize.segment import load_style_profile, wrap_text
from localize.tools import require_tool


@dataclass(frozen=True)
class SafeArea:
    """Where text may go, as fractions of the picture: clear of the platforms' UI
    (bottom bar with the title and description, right-hand like/comment/share column)."""

    left: float = 0.05
    top: float = 0.10
    right: float = 0.86
    bottom: float = 0.85

    def contains(self, box: tuple[float, float, float, float], slack: float = 0.01) -> bool:
        """True if ``box`` (left, top, right, bottom fractions) lies inside, +- ``slack``
        (OCR boxes are a few pixels larger than the ink)."""
        left, top, right, bottom = box
        return (
            left >= self.left - slack
            and top >= self.top - slack
            and right <= self.right + slack
            and bottom <= self.bottom + slack
        )


SAFE_AREA = SafeArea()

#: the first installed family that covers the script is the default, per language
DEFAULT_FONTS: dict[str, tuple[str, ...]] = {
    "ja": ("Noto Sans CJK JP", "WenQuanYi Zen Hei"),
    "ko": ("Noto Sans CJK KR", "WenQuanYi Zen Hei"),
    "zh": ("Noto Sans CJK SC", "WenQuanYi Zen Hei"),
    "th": ("Noto Sans Thai", "Noto Sans Thai Looped"),
    "*": ("DejaVu Sans", "Noto Sans", "Liberation Sans"),
}


@dataclass(frozen=True)
class BurnStyle:
    """How burned subtitles look.

    ``font`` is a family name ("" = the language's default); ``size`` the font size
    as a share of the frame height; ``colour``/``outline_colour`` RRGGBB; ``outline``
    the outline width as a share of the frame height; ``box`` a box of
    ``outline_colour`` behind the text instead of an outline (None = automatic: a box
    when the picture behind the text is busy); ``bottom`` where the text's last line
    ends, as a share of the height (None = where the Chinese captions were).
    """

    font: str = ""
    size: float = 0.03
    colour: str = "FFFFFF"
    outline_colour: str = "000000"
    outline: float = 0.0025
    box: bool | None = None
    bottom: float | None = None

    @classmethod
    def parse(cls, text: str) -> BurnStyle:
        """``"font=DejaVu Sans,size=0.04,colour=FFFF00,box=1,bottom=0.8"`` (any subset;
        ``box=auto`` is the default)."""
        values: dict[str, object] = {}
        kinds = {"size": float, "outline": float, "bottom": float, "box": _box}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = part.partition("=")
            key = key.strip().replace("color", "colour")
            if key not in cls.__dataclass_fields__ or not value:
                raise PictureError(
                    f"cannot read the style {part!r}",
                    "write KEY=VALUE pairs separated by commas; keys: "
                    + ", ".join(cls.__dataclass_fields__),
                )
            values[key] = kinds.get(key, str)(value.strip())  # type: ignore[operator]
        return replace(cls(), **values)  # type: ignore[arg-type]


def _box(value: str) -> bool | None:
    return None if value.lower() == "auto" else value.lower() in ("1", "yes", "true", "on")


@dataclass(frozen=True)
class Font:
    family: str
    file: Path
    index: int


@dataclass(frozen=True)
class BurnReport:
    """What :func:`burn_subtitles` wrote: the font, the size in pixels, where the text
    block's bottom is (pixels), the wrapped cues as drawn, cues shrunk to fit, the
    style drawn, and the picture the subtitles were burned into (``source``: the
    read-back compares against it to see on which frames the text is drawn)."""

    out: Path
    language: str
    font: Font
    size_px: int
    bottom_px: int
    width: int
    height: int
    cues: tuple[Cue, ...]
    shrunk: tuple[int, ...] = ()
    safe_area: SafeArea = SAFE_AREA
    boxed: bool = False
    backdrop: Backdrop | None = None
    style: BurnStyle = BurnStyle()
    source: Path | None = None

    @property
    def style_note(self) -> str:
        """Which style was drawn and why: "box (auto: 2 of 18 cues over busy scenery: 4, 7)"."""
        look = "box" if self.boxed else "outline"
        if self.backdrop is None:
            return f"{look} (set by the style)"
        busy = self.backdrop.busy
        if not busy:
            return f"{look} (auto: calm picture behind every cue)"
        listed = ", ".join(map(str, busy[:8])) + (", ..." if len(busy) > 8 else "")
        return f"{look} (auto: {len(busy)} of {len(self.cues)} cues over busy scenery: {listed})"


# ------------------------------------------------------------------------ fonts
def _fc(args: list[str]) -> str:
    proc = subprocess.run(
        [require_tool(args[0]), *args[1:]], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip()


def find_font(family: str) -> Font | None:
    """The installed font file of ``family`` (fontconfig), or None if not installed."""
    found = _fc(["fc-match", "--format=%{family}\t%{file}\t%{index}", family])
    names, _, rest = found.partition("\t")
    file, _, index = rest.partition("\t")
    if not file or family.lower() not in [n.strip().lower() for n in names.split(",")]:
        return None
    return Font(family, Path(file), int(index or 0))


def default_font(language: str, family: str = "") -> Font:
    """``family`` if given, else the language's first installed default font."""
    base = language.split("-")[0].lower()
    candidates = (family,) if family else DEFAULT_FONTS.get(base, DEFAULT_FONTS["*"])
    for name in candidates:
        font = find_font(name)
        if font is not None:
            return font
    raise MissingGlyphError(
        f"no font for {language} subtitles is installed (looked for: {', '.join(candidates)})",
        "install one, e.g. sudo apt-get install fonts-noto-core fonts-noto-cjk, or pass "
        "--style font=FAMILY with an installed family (fc-list : family)",
        font=", ".join(candidates),
    )


@functools.lru_cache(maxsize=16)
def charset(font: Font) -> frozenset[int]:
    """Code points ``font`` has glyphs for (fontconfig's character map)."""
    ranges = _fc(["fc-query", "-i", str(font.index), "--format=%{charset}", str(font.file)])
    points: set[int] = set()
    for item in ranges.split():
        low, _, high = item.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(points)


def check_glyphs(cues: Sequence[Cue], font: Font) -> None:
    """Raise MissingGlyphError for the first character of any cue ``font`` cannot draw."""
    have = charset(font)
    for number, cue in enumerate(cues, start=1):
        for char in cue.text:
            if not char.isspace() and ord(char) not in have:
                raise MissingGlyphError(
                    f"cue {number} ({cue.text!r}) has {char!r} (U+{ord(char):04X}), which "
                    f"the font {font.family} ({font.file.name}) cannot draw",
                    "choose a font that covers the script with --style font=FAMILY "
                    "(fc-list ':charset="
                    f"{ord(char):x}' family), or install one, e.g. fonts-noto-core",
                    cue=number,
                    char=char,
                    font=font.family,
                )


def check_times(cues: Sequence[Cue], duration_ms: int) -> None:
    """Raise SubtitleTimingError if a cue starts after the video ends."""
    for number, cue in enumerate(cues, start=1):
        if cue.start_ms >= duration_ms:
            raise SubtitleTimingError(
                f"cue {number} starts at {cue.start_ms / 1000:.3f} s but the video is only "
                f"{duration_ms / 1000:.3f} s long",
                "these subtitles belong to another (longer) cut of the episode; check the "
                "file, or retime it to this video",
                cue=number,
            )


# ----------------------------------------------------------------------- layout
def _line_width(font: Font, size_px: int) -> functools.partial[float]:
    from PIL import ImageFont

    face = ImageFont.truetype(str(font.file), size_px, index=font.index)
    return functools.partial(face.getlength)


def layout(
    track: CueTrack,
    language: str,
    width: int,
    height: int,
    font: Font,
    style: BurnStyle,
    safe: SafeArea = SAFE_AREA,
) -> tuple[list[Cue], list[int | None], int]:
    """Cues wrapped per the style profile, each cue's font size if shrunk (else None),
    and the base size in pixels. Ends are clipped to nothing: see :func:`check_times`."""
    profile = load_style_profile(language)
    base = max(8, round(style.size * height))
    measure = _line_width(font, base)
    room = (safe.right - safe.left) * width
    cues: list[Cue] = []
    sizes: list[int | None] = []
    for cue in track.cues:
        text = wrap_text(cue.text, profile)
        widest = max((measure(line) for line in text.split("\n")), default=0.0)
        sizes.append(int(base * room / widest) if widest > room else None)
        cues.append(replace(cue, text=text))
    return cues, sizes, base


def _ass_colour(rrggbb: str, alpha: int = 0) -> str:
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", rrggbb):
        raise PictureError(f"invalid colour {rrggbb!r}", "write colours as RRGGBB, e.g. FFFF00")
    return f"&H{alpha:02X}{rrggbb[4:6]}{rrggbb[2:4]}{rrggbb[0:2]}".upper()


def bottom_px(
    height: int, size_px: int, style: BurnStyle, band: CaptionBand | None, safe: SafeArea
) -> int:
    """Where the text block's baseline area ends: the style's, else the captions' band
    bottom, else the safe area's bottom; descenders and outline (~0.3 of the font
    size) stay above the safe area's bottom."""
    wanted = style.bottom if style.bottom is not None else band.bottom if band else safe.bottom
    return round(min(wanted * height, safe.bottom * height - 0.3 * size_px))


def write_ass(
    cues: Sequence[Cue],
    sizes: Sequence[int | None],
    path: Path,
    *,
    width: int,
    height: int,
    font: Font,
    base_px: int,
    bottom: int,
    style: BurnStyle,
    safe: SafeArea = SAFE_AREA,
) -> None:
    """The cues as an ASS file libass draws exactly as laid out (no automatic wrapping)."""
    import pysubs2

    doc = pysubs2.SSAFile()
    doc.info.update(
        {"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2",
         "ScaledBorderAndShadow": "yes"}
    )  # fmt: skip
    # a box: libass pads each line by the "outline" width, in the outline colour
    outline = max(1.0, BOX_PAD * base_px if style.box else style.outline * height)
    doc.styles["Default"] = pysubs2.SSAStyle(
        fontname=font.family,
        fontsize=base_px,
        primarycolor=pysubs2.Color(*_rgb(style.colour)),
        outlinecolor=pysubs2.Color(*_rgb(style.outline_colour), BOX_ALPHA if style.box else 0),
        backcolor=pysubs2.Color(0, 0, 0, 64),
        bold=False,
        borderstyle=3 if style.box else 1,
        outline=outline,
        shadow=0 if style.box else outline / 2,
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=round(safe.left * width),
        marginr=round((1 - safe.right) * width),
        marginv=height - bottom,
    )
    for cue, size in zip(cues, sizes, strict=True):
        text = cue.text.replace("{", "(").replace("}", ")").replace("\n", r"\N")
        prefix = f"{{\\fs{size}}}" if size else ""
        doc.events.append(
            pysubs2.SSAEvent(
                start=_ceil_cs(cue.start_ms), end=_ceil_cs(cue.end_ms), text=prefix + text
            )
        )
    doc.save(str(path), format_="ass")


def _ceil_cs(ms: int) -> int:
    """``ms`` rounded up to the centisecond ASS keeps. libass draws a cue on the frames
    whose time t has start <= t < end; rounding both times up keeps exactly the frames
    the cue's own times imply whenever frame times are whole centiseconds (25, 50 fps),
    where rounding to the nearest (pysubs2) could add or drop a frame at either end."""
    return -(-ms // 10) * 10


#: the box: padding around each line (share of the font size) and transparency (0
#: opaque - 255 clear). Measured on the night pan's hardest cue: padding 0.2 with a
#: quarter of the picture showing through read back CER 0.52, 0.35 and an eighth 0.04,
#: 0.35 opaque 0.0
BOX_PAD, BOX_ALPHA = 0.35, 0


def text_region(
    width: int, height: int, size_px: int, bottom: int, lines: int, safe: SafeArea = SAFE_AREA
) -> tuple[int, int, int, int]:
    """The rectangle (x, y, w, h) where ``lines`` lines of text ending at ``bottom`` sit."""
    top = max(0, round(bottom - (lines * 1.4 + 0.3) * size_px))
    low = min(height, round(bottom + 0.3 * size_px))
    left, right = round(safe.left * width), round(safe.right * width)
    return left, top, right - left, max(2, low - top)


def _rgb(rrggbb: str) -> tuple[int, int, int]:
    _ass_colour(rrggbb)
    return int(rrggbb[0:2], 16), int(rrggbb[2:4], 16), int(rrggbb[4:6], 16)


def burn_subtitles(
    video: Path | str,
    subtitles: CueTrack | Path | str,
    out: Path | str,
    *,
    language: str = "",
    style: BurnStyle | None = None,
    band: CaptionBand | None = None,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    threads: int = 0,
) -> BurnReport:
    """Write ``out``: ``video`` with ``subtitles`` burned in (H.264, audio copied).

    ``language`` defaults to the track's. ``band`` (the Chinese captions' place) sets
    the default position. Raises SubtitleTimingError, MissingGlyphError, EncodeError /
    DiskFullError (nothing is left at ``out`` then).
    """
    from localize.subtitles import read_subtitles

    style = style or BurnStyle()
    if isinstance(subtitles, CueTrack):
        track = subtitles
    else:
        track = read_subtitles(Path(subtitles), language=language or _file_language(subtitles))
    language = language or track.language
    if language == "und":
        raise PictureError(
            f"the language of {subtitles} is unknown",
            "pass --language (e.g. --language en) or name the file EPISODE.LANG.srt",
        )
    geo = geometry(video)
    out = Path(out)
    check_times(track.cues, geo.duration_ms)
    font = default_font(language, style.font)
    check_glyphs(track.cues, font)
    cues, sizes, base = layout(track, language, geo.width, geo.height, font, style)
    bottom = bottom_px(geo.height, base, style, band, SAFE_AREA)
    backdrop = None if style.box is not None else _backdrop(geo, cues, base, bottom)
    if backdrop is not None:
        style = replace(style, box=bool(backdrop.busy))
    with tempfile.TemporaryDirectory(prefix="burn-") as tmp:
        ass = Path(tmp) / "subs.ass"
        write_ass(
            cues, sizes, ass, width=geo.width, height=geo.height, font=font, base_px=base,
            bottom=bottom, style=style,
        )  # fmt: skip
        chain = f"ass={_filter_path(ass)}:fontsdir={_filter_path(font.file.parent)}"
        args = [
            "-nostdin", "-v", "error", "-y", "-i", str(geo.path),
            "-map", "0:v:0", "-map", "0:a?", "-vf", chain, *x264_args(preset, crf, threads),
            "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4",
        ]  # fmt: skip
        run_ffmpeg_to(out, args, what=f"burning {language} subtitles into {geo.path.name}")
    shrunk = tuple(i for i, s in enumerate(sizes, start=1) if s)
    return BurnReport(
        out, language, font, base, bottom, geo.width, geo.height, tuple(cues), shrunk,
        boxed=bool(style.box), backdrop=backdrop, style=style, source=geo.path,
    )  # fmt: skip


def _backdrop(geo: Geometry, cues: Sequence[Cue], size_px: int, bottom: int) -> Backdrop:
    """How busy the picture is behind each cue, where its text will be drawn."""
    lines = max((c.text.count("\n") + 1 for c in cues), default=1)
    region = text_region(geo.width, geo.height, size_px, bottom, lines)
    spans = [(round(c.start_ms * geo.fps / 1000), round(c.end_ms * geo.fps / 1000)) for c in cues]
    return measure_backdrop(geo, spans, region)


def _file_language(path: Path | str) -> str:
    """ "en" from "ep01.en.srt", "pt-BR" from "ep01.pt-BR.vtt"; "und" if none."""
    parts = Path(path).name.split(".")
    return (
        parts[-2]
        if len(parts) >= 3 and re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", parts[-2])
        else "und"
    )


def _filter_path(path: Path) -> str:
    """``path`` escaped for an ffmpeg filter argument (quotes, colons, backslashes)."""
    text = str(path.resolve())
    for char in ("\\", "'", ":", ",", "[", "]", ";"):
        text = text.replace(char, "\\" + char)
    return text
