"""Subtitle files in and out: SubRip (.srt) and WebVTT (.vtt) as :class:`CueTrack`.

Layered like pysubs2: :func:`read_subtitles` reads bytes, :func:`decode_subtitle_bytes`
turns them into text, and a format class parses the text; none of the parsers touch
files. Writing is the mirror image and always produces UTF-8 without BOM and ``\\n``
newlines, replacing the target atomically.

Cue text is plain text in this library: display lines joined with ``\\n``, each line
stripped, no empty lines (a file format cannot hold them: an empty line ends a cue).
Writing then reading therefore returns the same cues, times to the millisecond, as
long as the text is in that normal form. Formatting markup is dropped on read
(``<i>``, ``<b>``, ``<font>``, ``{\\an8}`` in SRT; every tag in WebVTT), except that
a WebVTT voice span ``<v Name>`` becomes :attr:`Cue.speaker`. SRT cannot store a
speaker, so it is lost when writing SRT.
"""

from __future__ import annotations

import codecs
import html
import io
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pysrt

from localize.domain import Cue, CueTrack
from localize.errors import SubtitleFormatError
from localize.fsutil import atomic_write_text

__all__ = [
    "FORMATS",
    "SrtFormat",
    "SubtitleFormat",
    "VttFormat",
    "decode_subtitle_bytes",
    "format_srt",
    "format_vtt",
    "parse_srt",
    "parse_vtt",
    "read_subtitles",
    "write_subtitles",
]

_NEWLINE = re.compile(r"\r\n|\r|\n")

# UTF-32 before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Big5's most frequent characters have lead bytes 0xA4-0xAF, which GBK assigns to
# kana, Greek, Cyrillic, bopomofo, box drawing and private use. Real Chinese text
# hardly uses those; Big5 bytes read as GB18030 are full of them.
_GBK_SYMBOL_ROWS = (
    (0x0370, 0x04FF),
    (0x2500, 0x257F),
    (0x3040, 0x312F),
    (0xE000, 0xF8FF),
)

_REENCODE_HINT = (
    "re-save the file as UTF-8, e.g. `iconv -f BIG5 -t UTF-8 in.srt > out.srt` "
    "(replace BIG5 with the file's real encoding), or pass encoding=... if you know it"
)


def decode_subtitle_bytes(data: bytes, *, path: str = "") -> tuple[str, str]:
    """Decode a subtitle file's bytes; return ``(text, encoding)``.

    A byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE). Without one, the
    first of UTF-8, GB18030 (covers GBK and GB2312) and Big5 (cp950) that decodes
    strictly and yields no NUL characters wins, in that fixed order, so the same bytes
    always give the same text. One exception: nearly all Big5 bytes are also valid
    GB18030, so when the GB18030 reading is at least 5% kana/Greek/Cyrillic/box
    drawing/private-use characters (the signature of Big5 read as GBK) and the Big5
    reading is not, Big5 wins. The BOM is not part of the returned text.

    Raises:
        SubtitleFormatError: no encoding decodes the bytes cleanly.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise SubtitleFormatError(
                    f"the file starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding} (byte {exc.start + len(bom)})",
                    _REENCODE_HINT,
                    path,
                ) from exc
    # UTF-8 first: it almost never decodes bytes that are not UTF-8. GB18030 covers
    # GBK and GB2312. Big5 (as cp950, its Windows flavour) comes last.
    text = _strict_decode(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    gb = _strict_decode(data, "gb18030")
    big5 = _strict_decode(data, "cp950")
    if gb is not None and not (
        big5 is not None and _symbol_share(gb) >= 0.05 > _symbol_share(big5)
    ):
        return gb, "gb18030"
    if big5 is not None:
        return big5, "cp950"
    raise SubtitleFormatError(
        "cannot decode the file as UTF-8, UTF-16 (with BOM), GB18030/GBK or Big5",
        _REENCODE_HINT,
        path,
    )


def _strict_decode(data: bytes, encoding: str) -> str | None:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    # NULs mean UTF-16/32 without a BOM or a binary file, never subtitle text
    return None if "\x00" in text else text


def _symbol_share(text: str) -> float:
    wide = [ord(c) for c in text if ord(c) > 0x7F]
    odd = sum(any(lo <= cp <= hi for lo, hi in _GBK_SYMBOL_ROWS) for cp in wide)
    return odd / len(wide) if wide else 0.0


# ------------------------------------------------------------------------ formats
class SubtitleFormat:
    """A subtitle format: text in, cues out, and back. Never touches files.

    To add a format, subclass this, implement :meth:`parse` and :meth:`format`, and
    add the class to :data:`FORMATS` under each file extension it owns.
    """

    #: short name used in messages, e.g. "SRT"
    name: ClassVar[str] = ""

    @classmethod
    def parse(cls, text: str) -> list[Cue]:
        """Parse decoded file text into cues; raise SubtitleFormatError with a line."""
        raise NotImplementedError

    @classmethod
    def format(cls, cues: Sequence[Cue]) -> str:
        """Serialise cues to file text (``\\n`` newlines, trailing newline)."""
        raise NotImplementedError


class SrtFormat(SubtitleFormat):
    """SubRip, parsed and written by pysrt; validated strictly here.

    pysrt reads a broken timestamp as 0 without complaint, so every timing line is
    checked against :data:`_SRT_TIMING` first and reported with its line number.
    """

    name = "SRT"

    @classmethod
    def parse(cls, text: str) -> list[Cue]:
        cues = []
        for first_line, block in _blocks(_split_lines(text)):
            timing = _timing_index(block)
            if timing is None:
                raise SubtitleFormatError(
                    f"expected a cue number and a timing line, found {block[0].strip()!r}",
                    "each SRT cue is a number line, a line like "
                    "'00:00:01,000 --> 00:00:02,500', its text, then an empty line; "
                    "fix or delete this text (an empty line inside a cue's text splits it)",
                    line=first_line,
                )
            if timing == 1 and not block[0].strip().isdigit():
                raise SubtitleFormatError(
                    f"expected a cue number, found {block[0].strip()!r}",
                    "the line before an SRT timing line must be the cue number (1, 2, ...)",
                    line=first_line,
                )
            timing_line = first_line + timing
            if not _SRT_TIMING.match(block[timing]):
                raise SubtitleFormatError(
                    f"bad timing line {block[timing].strip()!r}",
                    "SRT times look like '00:01:02,345 --> 00:01:04,000' "
                    "(hours:minutes:seconds,milliseconds); fix this line",
                    line=timing_line,
                )
            try:
                # pysrt needs a text line, even an empty one, after the timing line
                item = pysrt.SubRipItem.from_lines([*block, ""] if len(block) < 2 else block)
            except pysrt.Error as exc:
                raise SubtitleFormatError(
                    f"pysrt cannot parse this cue: {block[timing].strip()!r}",
                    "make the line hold exactly one 'start --> end' pair",
                    line=timing_line,
                ) from exc
            start, end = int(item.start.ordinal), int(item.end.ordinal)
            _check_order(start, end, timing_line)
            cues.append(Cue(start, end, _plain_text(_SRT_TAG.sub("", item.text))))
        return cues

    @classmethod
    def format(cls, cues: Sequence[Cue]) -> str:
        items = []
        for number, cue in enumerate(cues, 1):
            _check_writable(cue, number)
            items.append(
                pysrt.SubRipItem(
                    index=number,
                    start=pysrt.SubRipTime.from_ordinal(cue.start_ms),
                    end=pysrt.SubRipTime.from_ordinal(cue.end_ms),
                    text=_plain_text(cue.text),
                )
            )
        out = io.StringIO()
        pysrt.SubRipFile(items, eol="\n").write_into(out, eol="\n")
        return out.getvalue()


class VttFormat(SubtitleFormat):
    """WebVTT (W3C), written here: pysrt does not understand its blocks.

    Read: the ``WEBVTT`` header is required; header lines such as
    ``X-TIMESTAMP-MAP=...`` (HLS) are ignored, as are NOTE, STYLE and REGION blocks,
    cue identifiers and cue settings. Hours in timestamps are optional. Tags are
    stripped, ruby annotations (``<rt>``) dropped, character references unescaped.
    Write: no identifiers or settings; ``&``, ``<`` and ``>`` escaped.
    """

    name = "WebVTT"

    @classmethod
    def parse(cls, text: str) -> list[Cue]:
        lines = _split_lines(text)
        if not _VTT_HEADER.match(lines[0]):
            raise SubtitleFormatError(
                f"missing the 'WEBVTT' header, found {lines[0].strip()[:40]!r}",
                "a WebVTT file must start with a line 'WEBVTT'; add it, or rename the "
                "file to .srt if it is SubRip",
                line=1,
            )
        body = 1
        while body < len(lines) and lines[body].strip():
            if "-->" in lines[body]:
                raise SubtitleFormatError(
                    "a cue timing line is inside the WEBVTT header block",
                    "add an empty line between the header and the first cue",
                    line=body + 1,
                )
            body += 1
        cues = []
        for first_line, block in _blocks(lines[body:], first_number=body + 1):
            if _VTT_SKIPPED_BLOCK.match(block[0]):
                continue
            timing = _timing_index(block)
            if timing is None:
                raise SubtitleFormatError(
                    f"expected a cue timing line, found {block[0].strip()!r}",
                    "each WebVTT cue is an optional identifier line, a line like "
                    "'00:00:01.000 --> 00:00:02.500', its text, then an empty line; "
                    "fix or delete this text (an empty line inside a cue's text splits it)",
                    line=first_line,
                )
            timing_line = first_line + timing
            match = _VTT_TIMING.match(block[timing])
            if not match:
                raise SubtitleFormatError(
                    f"bad timing line {block[timing].strip()!r}",
                    "WebVTT times look like '00:01:02.345 --> 00:01:04.000' "
                    "([hours:]minutes:seconds.milliseconds); fix this line",
                    line=timing_line,
                )
            start, end = _vtt_ms(match.group(1, 2, 3, 4)), _vtt_ms(match.group(5, 6, 7, 8))
            _check_order(start, end, timing_line)
            text, speaker = _vtt_payload("\n".join(block[timing + 1 :]))
            cues.append(Cue(start, end, text, speaker=speaker))
        return cues

    @classmethod
    def format(cls, cues: Sequence[Cue]) -> str:
        parts = ["WEBVTT", ""]
        for number, cue in enumerate(cues, 1):
            _check_writable(cue, number)
            parts.append(f"{_vtt_timestamp(cue.start_ms)} --> {_vtt_timestamp(cue.end_ms)}")
            payload = _vtt_escape(_plain_text(cue.text))
            speaker = " ".join((cue.speaker or "").split())
            if speaker:
                payload = f"<v {_vtt_escape(speaker)}>{payload}"
            if payload:
                parts.append(payload)
            parts.append("")
        return "\n".join(parts)


#: file extension (lower case, with dot) -> format
FORMATS: dict[str, type[SubtitleFormat]] = {".srt": SrtFormat, ".vtt": VttFormat}


def parse_srt(text: str) -> list[Cue]:
    """Parse SubRip text. An empty text gives no cues.

    Raises:
        SubtitleFormatError: a block without a valid timing line, a malformed
            timestamp, or a cue ending before it starts; ``line`` is 1-based.
    """
    return SrtFormat.parse(text)


def format_srt(cues: Sequence[Cue]) -> str:
    """Serialise cues as SubRip text, numbered from 1 (speakers are not stored)."""
    return SrtFormat.format(cues)


def parse_vtt(text: str) -> list[Cue]:
    """Parse WebVTT text; ``<v Speaker>`` voice spans become :attr:`Cue.speaker`.

    Raises:
        SubtitleFormatError: missing ``WEBVTT`` header, a cue without a valid timing
            line, or a cue ending before it starts; ``line`` is 1-based.
    """
    return VttFormat.parse(text)


def format_vtt(cues: Sequence[Cue]) -> str:
    """Serialise cues as WebVTT text with a bare ``WEBVTT`` header."""
    return VttFormat.format(cues)


# ------------------------------------------------------------------------ files
def read_subtitles(
    path: str | os.PathLike[str],
    language: str = "und",
    *,
    encoding: str | None = None,
    format_name: str | None = None,
) -> CueTrack:
    """Read an .srt or .vtt file into a :class:`CueTrack` of ``language``.

    Args:
        path: the file; its extension picks the format unless ``format_name`` is given.
        language: BCP 47 tag stored on the track ("und" when unknown).
        encoding: skip detection and decode with this codec (BOMs are still removed).
        format_name: "srt" or "vtt", for files with another extension.

    Raises:
        SubtitleFormatError: unknown format, unreadable file, undecodable bytes or
            malformed content (with the file and 1-based line).
    """
    file = Path(path)
    fmt = _format_for(file, format_name)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SubtitleFormatError(
                f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} "
                "(localize.subtitles.MAX_FILE_BYTES)",
                "a subtitle file of an episode is well under 1 MB; check that this is "
                "the right file",
                str(file),
            )
        data = file.read_bytes()
    except OSError as exc:
        raise SubtitleFormatError(
            f"cannot read the subtitle file: {exc.strerror or exc}",
            "check that the path exists and is a readable file",
            str(file),
        ) from exc
    if encoding is None:
        text, _ = decode_subtitle_bytes(data, path=str(file))
    else:
        text = _decode_with(data, encoding, str(file))
    try:
        cues = fmt.parse(text)
    except SubtitleFormatError as exc:
        raise SubtitleFormatError(exc.message, exc.hint, str(file), exc.line) from exc
    return CueTrack(language=language, cues=tuple(cues))


def write_subtitles(
    track: CueTrack, path: str | os.PathLike[str], *, format_name: str | None = None
) -> None:
    """Write ``track`` as UTF-8 (no BOM, ``\\n`` newlines), format chosen by extension.

    The file is written to a temporary file in the same directory and moved into
    place with :func:`os.replace`, so readers never see half a file, and a crash
    leaves the old file intact.

    Raises:
        SubtitleFormatError: unknown format, a cue with negative or reversed times,
            or the directory is missing or not writable.
    """
    file = Path(path)
    fmt = _format_for(file, format_name)
    try:
        text = fmt.format(track.cues)
    except SubtitleFormatError as exc:
        raise SubtitleFormatError(exc.message, exc.hint, str(file), exc.line) from exc
    try:
        atomic_write_text(file, text)
    except OSError as exc:
        raise SubtitleFormatError(
            f"cannot write the subtitle file: {exc.strerror or exc}",
            "check that the directory exists and that you may write to it",
            str(file),
        ) from exc


def _format_for(file: Path, format_name: str | None) -> type[SubtitleFormat]:
    key = f".{format_name.lower().lstrip('.')}" if format_name else file.suffix.lower()
    try:
        return FORMATS[key]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise SubtitleFormatError(
            f"unsupported subtitle format {key or '(no extension)'!r}",
            f"use a file ending in one of {known}, or pass format_name='srt' or 'vtt'",
            str(file),
        ) from None


def _decode_with(data: bytes, encoding: str, path: str) -> str:
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise SubtitleFormatError(
            f"unknown text encoding {encoding!r}",
            "pass a Python codec name such as 'utf-8', 'gb18030' or 'big5'",
            path,
        ) from exc
    except UnicodeDecodeError as exc:
        raise SubtitleFormatError(
            f"the file is not valid {encoding} (byte {exc.start})",
            "leave encoding unset to detect it, or " + _REENCODE_HINT,
            path,
        ) from exc
    return text.removeprefix("\ufeff")


# ------------------------------------------------------------------------ helpers
_SRT_TIMING = re.compile(
    r"^\s*\d+:[0-5]\d:[0-5]\d[,.]\d{3}\s*-->\s*\d+:[0-5]\d:[0-5]\d[,.]\d{3}(?:\s.*)?$"
)
# Markup SRT players understand; anything else in angle brackets is kept as text.
# No pattern may scan past a "<" or "{" it cannot close: "[^>]*" re-scanned the rest
# of the line from every "<", quadratic (a 60 kB cue of "<b " took 26 s).
_SRT_TAG = re.compile(r"</?(?:i|b|u|s|font)(?:\s[^<>]*)?>|\{\\[^{}]*\}", re.IGNORECASE)

_VTT_HEADER = re.compile(r"^\ufeff?WEBVTT(?:[ \t].*)?$")
_VTT_SKIPPED_BLOCK = re.compile(r"^(?:NOTE|STYLE|REGION)(?:[ \t].*)?$")
_VTT_TIME = r"(?:(\d+):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_VTT_TIMING = re.compile(rf"^\s*{_VTT_TIME}\s*-->\s*{_VTT_TIME}(?:\s.*)?$")
_VTT_VOICE = re.compile(r"<v(?:\.[^\s<>]*)?(?:[ \t]+([^<>]*))?>")
_VTT_RUBY_TEXT = re.compile(r"<rt(?:\.[^<>]*)?>.*?(?:</rt>|(?=</ruby>)|$)", re.DOTALL)
_VTT_TAG = re.compile(r"<[^<>]*>")
#: longer lines are refused (a cue line is under 100 characters; this leaves room for
#: long NOTE or header lines)
MAX_LINE_CHARS = 10_000
#: larger files are refused before they are read (a 3-hour episode's SRT is ~300 kB)
MAX_FILE_BYTES = 20_000_000


def _split_lines(text: str) -> list[str]:
    lines = _NEWLINE.split(text.removeprefix("\ufeff"))
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_CHARS:
            raise SubtitleFormatError(
                f"line {number} is {len(line):,} characters long; the limit is "
                f"{MAX_LINE_CHARS:,} (localize.subtitles.MAX_LINE_CHARS)",
                "this is not subtitle text (a binary file, or a file whose line breaks "
                "were lost); check the file",
                line=number,
            )
    return lines


def _blocks(lines: Sequence[str], first_number: int = 1) -> Iterator[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the 1-based number of its first line."""
    block: list[str] = []
    start = first_number
    for number, line in enumerate(lines, first_number):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _timing_index(block: Sequence[str]) -> int | None:
    """Where the timing line is: first, or second after a cue number / identifier."""
    if "-->" in block[0]:
        return 0
    if len(block) > 1 and "-->" in block[1]:
        return 1
    return None


def _check_order(start: int, end: int, line: int) -> None:
    if end < start:
        raise SubtitleFormatError(
            f"the cue ends ({_vtt_timestamp(end)}) before it starts ({_vtt_timestamp(start)})",
            "fix the times on this line (are start and end swapped?)",
            line=line,
        )


def _check_writable(cue: Cue, number: int) -> None:
    if cue.start_ms < 0 or cue.end_ms < cue.start_ms:
        raise SubtitleFormatError(
            f"cue {number} has impossible times {cue.start_ms}..{cue.end_ms} ms",
            "times must be >= 0 with end >= start; fix the cue before writing",
        )


def _plain_text(text: str) -> str:
    """The normal form of cue text: stripped lines, no empty ones."""
    return "\n".join(line for line in (raw.strip() for raw in _NEWLINE.split(text)) if line)


def _vtt_ms(parts: tuple[str | None, ...]) -> int:
    hours, minutes, seconds, millis = (int(p) if p else 0 for p in parts)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def _vtt_timestamp(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt_payload(payload: str) -> tuple[str, str | None]:
    voice = _VTT_VOICE.search(payload)
    speaker = html.unescape(voice.group(1) or "").strip() if voice else ""
    text = _VTT_TAG.sub("", _VTT_RUBY_TEXT.sub("", payload))
    return _plain_text(html.unescape(text)), speaker or None


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
