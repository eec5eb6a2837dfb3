"""Subtitle files from outside: legacy encodings, malformed files, and a fuzz pass."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localize.cli import main
from localize.errors import SubtitleFormatError
from localize.subtitles import decode_subtitle_bytes, parse_srt, parse_vtt, read_subtitles

SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\n总裁，合同签好了。\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\n林小姐\n"
)
TRADITIONAL_SRT = "1\n00:00:01,000 --> 00:00:02,500\n總裁，合約簽好了。\n"


@pytest.mark.parametrize(
    ("name", "text", "encoding", "bom"),
    [
        ("gb18030.srt", SRT, "gb18030", b""),
        ("big5.srt", TRADITIONAL_SRT, "big5", b""),
        ("utf16le.srt", SRT, "utf-16-le", b"\xff\xfe"),
        ("utf16be.srt", SRT, "utf-16-be", b"\xfe\xff"),
        ("utf8bom.srt", SRT, "utf-8", b"\xef\xbb\xbf"),
    ],
)
def test_legacy_encodings_read_fine(
    tmp_path: Path, name: str, text: str, encoding: str, bom: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(bom + text.encode(encoding))
    track = read_subtitles(path, "zh")
    assert track.cues[0].text == text.split("\n")[2]
    assert track.cues[0].start_ms == 1000 and track.cues[0].end_ms == 2500


def test_undecodable_bytes_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.srt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SubtitleFormatError) as info:
        read_subtitles(path)
    assert str(path) in str(info.value) and "cannot decode" in info.value.message
    assert info.value.hint


OK_SRT = "1\n00:00:01,000 --> 00:00:02,500\nok\n\n"
OK_VTT = "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n"
MALFORMED = [
    ("bad-time.srt", OK_SRT + "2\n00:00:0x,000 --> 00:00:04,000\nbad\n", 6, "bad timing line"),
    ("no-number.srt", OK_SRT + "stray text\n", 5, "expected a cue number"),
    ("reversed.srt", "1\n00:00:05,000 --> 00:00:02,500\nback\n", 2, "before it starts"),
    ("no-header.vtt", "00:01.000 --> 00:02.000\nhi\n", 1, "missing the 'WEBVTT' header"),
    ("bad-time.vtt", OK_VTT + "00:03.000 -> 00:04.000\nbad\n", 6, "expected a cue timing line"),
]


@pytest.mark.parametrize(("name", "content", "line", "words"), MALFORMED)
def test_malformed_files_give_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
    line: int,
    words: str,
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SubtitleFormatError) as info:
        read_subtitles(path)
    assert info.value.line == line and info.value.path == str(path)
    assert words in info.value.message and info.value.hint
    # the same through the CLI: exit 1, "file:line: message" and the hint, nothing written
    out = tmp_path / "out.en.srt"
    argv = ["translate", str(path), "--to", "en", "--out", str(out), "--mt-backend", "fake"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:{line}: ") and "\n  -> " in err
    assert "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- fuzzing
_FRAGMENTS = st.sampled_from(
    [
        "1", "2", "WEBVTT", "NOTE x", "STYLE", "REGION", "-->", " --> ", "\n", "\n\n",
        "00:00:01,000", "00:00:02.500", "99:59:59,999", "00:61:00,000", "1:02.003",
        "<i>", "</i>", "<v Bob>", "<ruby>字<rt>zi</rt></ruby>", "{\\an8}", "&amp;",
        "总裁", "\ufeff", "\r\n", "\r", " ", "\t", "align:start", "X-TIMESTAMP-MAP=",
    ]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join)
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(_TEXT)
def test_srt_reader_parses_or_raises_subtitle_format_error(text: str) -> None:
    try:
        parse_srt(text)
    except SubtitleFormatError as exc:
        assert exc.message and exc.hint


@_FUZZ
@given(_TEXT)
def test_vtt_reader_parses_or_raises_subtitle_format_error(text: str) -> None:
    try:
        parse_vtt("WEBVTT\n\n" + text)
        parse_vtt(text)
    except SubtitleFormatError as exc:
        assert exc.message and exc.hint


@_FUZZ
@given(st.binary(max_size=300))
def test_decoder_takes_any_bytes(data: bytes) -> None:
    try:
        text, _encoding = decode_subtitle_bytes(data, path="x.srt")
    except SubtitleFormatError:
        return
    for parse in (parse_srt, parse_vtt):
        with contextlib.suppress(SubtitleFormatError):
            parse(text)


#: markup openers that are never closed: each made the tag patterns re-scan the rest of
#: the cue from every opener (quadratic: a 60 kB cue of "<b " took 26 s)
UNCLOSED = ("<b ", "<", "{\\", "<v ", "<rt.", "<v.")


@pytest.mark.parametrize("ext", ["srt", "vtt"])
def test_unclosed_markup_is_read_in_linear_time(tmp_path: Path, ext: str) -> None:
    """Half a megabyte of unclosed markup in one cue (lines under the line limit) is read
    at once. A child process with a generous deadline: the old quadratic patterns need
    hours here, the linear ones well under a second."""
    import os
    import subprocess
    import sys

    head = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" if ext == "vtt" else SRT.split("总")[0]
    paths = []
    for number, unit in enumerate(UNCLOSED):
        line = unit * (9_000 // len(unit))
        paths.append(tmp_path / f"{number}.{ext}")
        paths[-1].write_text(head + "\n".join([line] * 60) + "\n", encoding="utf-8")
    script = (
        "import sys; from localize.subtitles import read_subtitles\n"
        "for p in sys.argv[1:]: assert len(read_subtitles(p).cues) == 1, p"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run(
        [sys.executable, "-c", script, *map(str, paths)], env=env, timeout=120, check=True
    )


def test_a_line_or_file_over_the_limit_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import localize.subtitles as subtitles

    path = tmp_path / "long.srt"
    path.write_text(SRT + "\n3\n00:00:05,000 --> 00:00:06,000\n" + "长" * 10_001 + "\n")
    with pytest.raises(SubtitleFormatError) as info:
        read_subtitles(path)
    assert info.value.line == 11
    assert "line 11 is 10,001 characters long; the limit is 10,000" in info.value.message
    monkeypatch.setattr(subtitles, "MAX_FILE_BYTES", 1000)
    with pytest.raises(SubtitleFormatError, match=r"bytes; the limit is 1,000 \(localize"):
        read_subtitles(path)
