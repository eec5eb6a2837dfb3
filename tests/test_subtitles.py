"""Subtitle I/O: SRT via pysrt, WebVTT, encodings, errors with line numbers, atomic writes."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localize.domain import Cue, CueTrack
from localize.errors import SubtitleFormatError
from localize.subtitles import (
    decode_subtitle_bytes,
    format_srt,
    format_vtt,
    parse_srt,
    parse_vtt,
    read_subtitles,
    write_subtitles,
)

HOUR = 3_600_000

# Cue texts a user would actually see: one per interesting case.
TEXTS = [
    pytest.param("你好，世界！", id="full-width punctuation"),
    pytest.param("你怎么来了？\n我不是说过了吗……", id="two lines"),
    pytest.param("我用iPhone拍的“照片”", id="mixed chinese english"),
    pytest.param("哈哈😂👍 OK!", id="emoji"),
    pytest.param("「真的吗」——《霸道总裁》", id="cjk brackets and dashes"),
    pytest.param("a < b && c > d", id="angle brackets and ampersands"),
    pytest.param("第一行\n第二行\n第三行", id="three lines"),
    pytest.param("", id="empty text"),
]


# --------------------------------------------------------------------- SRT
def test_parse_srt_reads_numbers_times_text_and_strips_markup() -> None:
    text = dedent(
        """\
        1
        00:00:01,000 --> 00:00:02,500
        <i>你好，</i>世界！

        2
        00:59:59,999 --> 01:00:01,001 X1:10 X2:20 Y1:10 Y2:20
        {\\an8}第一行
        <font color="#ffff00">second line</font>
        """
    )
    assert parse_srt(text) == [
        Cue(1000, 2500, "你好，世界！"),
        Cue(HOUR - 1, HOUR + 1001, "第一行\nsecond line"),
    ]


def test_format_srt_writes_numbered_blocks() -> None:
    cues = [Cue(0, 1500, "你好\nhello", speaker="王总"), Cue(HOUR, HOUR + 62_003, "再见！")]
    assert format_srt(cues) == dedent(
        """\
        1
        00:00:00,000 --> 00:00:01,500
        你好
        hello

        2
        01:00:00,000 --> 01:01:02,003
        再见！

        """
    )


@pytest.mark.parametrize("text", TEXTS)
def test_srt_round_trip_keeps_text_and_times(text: str) -> None:
    cues = [Cue(HOUR - 500, HOUR + 250, text), Cue(HOUR + 300, HOUR + 300, "x")]
    assert parse_srt(format_srt(cues)) == cues


@pytest.mark.parametrize("text", ["", "\n\n", "  \r\n"])
def test_empty_srt_is_an_empty_list(text: str) -> None:
    assert parse_srt(text) == []


def test_srt_with_crlf_newlines_and_no_trailing_blank_line() -> None:
    text = (
        "1\r\n00:00:01,000 --> 00:00:02,000\r\n一\r\n二\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000\r\n三"
    )
    assert parse_srt(text) == [Cue(1000, 2000, "一\n二"), Cue(3000, 4000, "三")]


def test_srt_text_resembling_markup_is_kept() -> None:
    cue = Cue(0, 1000, "<3 you, {not a tag}")
    assert parse_srt(format_srt([cue])) == [cue]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("1\n00:00:01 --> 00:00:02\nhi\n", 2, "bad timing line", id="no milliseconds"),
        pytest.param(
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:61:00,000 --> 00:62:00,000\nx\n",
            6,
            "bad timing line",
            id="minutes over 59",
        ),
        pytest.param(
            "1\n00:00:01,000 -> 00:00:02,000\nhi\n", 1, "expected a cue number", id="short arrow"
        ),
        pytest.param(
            "1\n00:00:05,000 --> 00:00:04,000\nbackwards\n", 2, "before it starts", id="end<start"
        ),
        pytest.param(
            "1\n00:00:01,000 --> 00:00:02,000\nfirst\n\nstray paragraph\n",
            5,
            "found 'stray",
            id="blank line inside text",
        ),
        pytest.param("garbage\n00:00:01,000 --> 00:00:02,000\nx\n", 1, "cue number", id="bad id"),
        pytest.param(
            "1\n00:00:aa,000 --> 00:00:02,000\nx\n", 2, "bad timing line", id="letters in time"
        ),
        pytest.param(
            "1\n00:00:01,000 --> 00:00:02,000 --> 00:00:03,000\nx\n", 2, "pysrt", id="two arrows"
        ),
    ],
)
def test_malformed_srt_reports_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(SubtitleFormatError) as info:
        parse_srt(text)
    assert info.value.line == line
    assert fragment in info.value.message
    assert info.value.hint


# --------------------------------------------------------------------- WebVTT
def test_parse_vtt_skips_headers_notes_styles_regions_and_settings() -> None:
    text = dedent(
        """\
        WEBVTT - 第一集
        X-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000

        NOTE 这是注释
        --> still a note

        STYLE
        ::cue { color: yellow }

        REGION
        id:bottom width:40%

        intro-1
        00:01.000 --> 00:02.500 align:start position:10%
        <v.loud 王总>你给我<b>站住</b>！
        <i>&lt;tag&gt; &amp; more</i>

        00:59:59.000 --> 01:00:00.500
        <c.yellow>黄字</c> <00:59:59.500>karaoke
        <ruby>漢<rt>かん</rt></ruby>字
        """
    )
    assert parse_vtt(text) == [
        Cue(1000, 2500, "你给我站住！\n<tag> & more", speaker="王总"),
        Cue(HOUR - 1000, HOUR + 500, "黄字 karaoke\n漢字"),
    ]


def test_format_vtt_escapes_and_writes_voice_spans() -> None:
    cues = [Cue(1000, 2500, "A<B & C>\n第二行", speaker="Dr. <Who>"), Cue(HOUR, HOUR + 1, "")]
    assert format_vtt(cues) == dedent(
        """\
        WEBVTT

        00:00:01.000 --> 00:00:02.500
        <v Dr. &lt;Who&gt;>A&lt;B &amp; C&gt;
        第二行

        01:00:00.000 --> 01:00:00.001
        """
    )


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("speaker", [None, "林小姐"])
def test_vtt_round_trip_keeps_text_times_and_speaker(text: str, speaker: str | None) -> None:
    cues = [Cue(HOUR - 500, HOUR + 250, text, speaker=speaker), Cue(HOUR + 300, HOUR + 300, "x")]
    assert parse_vtt(format_vtt(cues)) == cues


def test_vtt_with_only_a_header_is_empty() -> None:
    assert parse_vtt("WEBVTT\n") == []
    assert format_vtt([]) == "WEBVTT\n"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("", 1, "WEBVTT", id="empty file"),
        pytest.param("1\n00:00:01,000 --> 00:00:02,000\nx\n", 1, "WEBVTT", id="srt content"),
        pytest.param("WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n", 1, "WEBVTT", id="bad header"),
        pytest.param("WEBVTT\n00:01.000 --> 00:02.000\nx\n", 2, "header block", id="no blank"),
        pytest.param("WEBVTT\n\n00:01.000 --> 00:02\nx\n", 3, "bad timing", id="truncated"),
        pytest.param(
            "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:05.000 --> 00:04.000\nx\n",
            6,
            "before it starts",
            id="end<start",
        ),
        pytest.param("WEBVTT\n\nid\nnot a timing line\n", 3, "timing line", id="garbage"),
    ],
)
def test_malformed_vtt_reports_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(SubtitleFormatError) as info:
        parse_vtt(text)
    assert info.value.line == line
    assert fragment in info.value.message
    assert info.value.hint


# --------------------------------------------------------------------- round trips
_LINE_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn"),
)
# pieces that trip up subtitle writers: markup, entities, arrows, wide characters
_TRICKY = [
    "&",
    "amp;",
    "lt;",
    "&nbsp;",
    "<",
    ">",
    "-->",
    "<i>",
    "NOTE",
    "你好",
    "，",
    "😀",
    " ",
    "1",
]
_LINE = (
    st.text(_LINE_CHARS, min_size=1, max_size=12)
    | st.lists(st.sampled_from(_TRICKY), min_size=1, max_size=6).map("".join)
).filter(lambda s: bool(s) and s == s.strip())
_TIMES = st.tuples(st.integers(0, 100 * HOUR), st.integers(0, 10 * HOUR))
_SRT_MARKUP = re.compile(r"</?(?:i|b|u|s|font)(?:\s[^>]*)?>|\{\\", re.IGNORECASE)


@st.composite
def _cues(draw: st.DrawFn, *, speakers: bool) -> list[Cue]:
    out = []
    for start, length in draw(st.lists(_TIMES, max_size=5)):
        text = "\n".join(draw(st.lists(_LINE, max_size=3)))
        speaker = None
        if speakers:
            speaker = draw(st.none() | _LINE.map(lambda s: " ".join(s.split())).filter(bool))
        out.append(Cue(start, start + length, text, speaker=speaker))
    return out


@settings(max_examples=150, deadline=None)
@given(_cues(speakers=False).filter(lambda cs: not any(_SRT_MARKUP.search(c.text) for c in cs)))
def test_srt_round_trip_property(cues: list[Cue]) -> None:
    assert parse_srt(format_srt(cues)) == cues


@settings(max_examples=150, deadline=None)
@given(_cues(speakers=True))
def test_vtt_round_trip_property(cues: list[Cue]) -> None:
    assert parse_vtt(format_vtt(cues)) == cues


# --------------------------------------------------------------------- encodings
SAMPLE = "1\n00:00:01,000 --> 00:00:02,000\n霸道总裁爱上我，“真的吗？”\n"
TRADITIONAL = "1\n00:00:01,000 --> 00:00:02,000\n霸道總裁愛上我，這個電影真好看！還有嗎？\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(SAMPLE.encode("utf-8"), "utf-8", id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"), "utf-8", id="utf-8 BOM"),
        pytest.param(SAMPLE.encode("utf-16"), "utf-16-le", id="utf-16 LE BOM"),
        pytest.param(b"\xfe\xff" + SAMPLE.encode("utf-16-be"), "utf-16-be", id="utf-16 BE BOM"),
        pytest.param(SAMPLE.encode("gb18030"), "gb18030", id="gb18030"),
        pytest.param(SAMPLE.encode("gbk"), "gb18030", id="gbk"),
        pytest.param(SAMPLE.replace("“", "").replace("”", "").encode("gb2312"), "gb18030"),
    ],
)
def test_decode_detects_encoding(data: bytes, encoding: str) -> None:
    text, found = decode_subtitle_bytes(data)
    assert found == encoding
    assert text.replace("“", "").replace("”", "") == SAMPLE.replace("“", "").replace("”", "")


def test_gb18030_only_characters_decode() -> None:
    text = "𠀀𪚥 four-byte GB18030 characters 😀"
    assert decode_subtitle_bytes(text.encode("gb18030")) == (text, "gb18030")


def test_big5_traditional_chinese_is_not_read_as_gbk_mojibake() -> None:
    assert decode_subtitle_bytes(TRADITIONAL.encode("big5")) == (TRADITIONAL, "cp950")


def test_gbk_text_with_a_greek_letter_stays_gbk() -> None:
    text = "简体中文字幕，说话。这个电影真好看！还有吗？α粒子"
    assert decode_subtitle_bytes(text.encode("gbk")) == (text, "gb18030")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"1\n\x80\xff\xfe garbage \xff", id="binary"),
        pytest.param(SAMPLE.encode("utf-16-le"), id="utf-16 without BOM"),
        pytest.param(b"\xef\xbb\xbf\xff\xfe", id="utf-8 BOM then invalid bytes"),
    ],
)
def test_undecodable_file_says_how_to_convert(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.srt"
    path.write_bytes(data)
    with pytest.raises(SubtitleFormatError) as info:
        read_subtitles(path)
    assert info.value.path == str(path)
    assert "iconv" in info.value.hint and "UTF-8" in info.value.hint
    assert str(path) in str(info.value)


# --------------------------------------------------------------------- files
def test_read_subtitles_decodes_and_sets_language(tmp_path: Path) -> None:
    path = tmp_path / "ep01.SRT"
    path.write_bytes(b"\xff\xfe" + SAMPLE.replace("\n", "\r\n").encode("utf-16-le"))
    track = read_subtitles(path, language="zh-Hans")
    assert track == CueTrack("zh-Hans", (Cue(1000, 2000, "霸道总裁爱上我，“真的吗？”"),))
    assert read_subtitles(path).language == "und"


def test_read_subtitles_with_explicit_encoding_and_format(tmp_path: Path) -> None:
    path = tmp_path / "ep01.txt"
    path.write_bytes(("WEBVTT\n\n00:01.000 --> 00:02.000\n說話\n").encode("big5"))
    track = read_subtitles(path, encoding="big5", format_name="vtt")
    assert track.cues == (Cue(1000, 2000, "說話"),)


def test_read_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 1\nx\n")
    with pytest.raises(SubtitleFormatError) as info:
        read_subtitles(path)
    assert (info.value.path, info.value.line) == (str(path), 6)
    assert str(info.value).startswith(f"{path}:6: bad timing line")
    # errors cross process boundaries in Prefect
    clone = pickle.loads(pickle.dumps(info.value))
    assert (clone.path, clone.line, clone.hint) == (str(path), 6, info.value.hint)


@pytest.mark.parametrize("name", ["ep01.ass", "ep01"])
def test_unknown_format_lists_supported_ones(tmp_path: Path, name: str) -> None:
    with pytest.raises(SubtitleFormatError) as info:
        read_subtitles(tmp_path / name)
    assert ".srt" in info.value.hint and ".vtt" in info.value.hint


def test_missing_file_is_a_subtitle_error(tmp_path: Path) -> None:
    with pytest.raises(SubtitleFormatError, match="cannot read"):
        read_subtitles(tmp_path / "nope.srt")


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_write_then_read_round_trips_a_track(tmp_path: Path, suffix: str) -> None:
    cues = (Cue(0, 900, "你好，世界！\nHello 😀"), Cue(HOUR, HOUR + 2000, "第二句"))
    path = tmp_path / f"out{suffix}"
    write_subtitles(CueTrack("zh-Hans", cues), path)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in data
    assert read_subtitles(path, "zh-Hans") == CueTrack("zh-Hans", cues)


def test_write_srt_bytes_are_utf8_exactly(tmp_path: Path) -> None:
    path = tmp_path / "out.srt"
    write_subtitles(CueTrack("zh", (Cue(1, 2, "好"),)), path)
    assert path.read_bytes() == "1\n00:00:00,001 --> 00:00:00,002\n好\n\n".encode()


def test_write_replaces_an_existing_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.vtt"
    path.write_text("old")
    path.chmod(0o640)
    write_subtitles(CueTrack("en", (Cue(0, 1, "new"),)), path)
    assert path.read_text().endswith("new\n")
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.vtt"]


def test_failed_write_leaves_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.srt"
    path.write_text("old")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SubtitleFormatError, match="No space left"):
        write_subtitles(CueTrack("en", (Cue(0, 1, "new"),)), path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.srt"]


def test_invalid_cue_is_rejected_before_touching_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out.srt"
    path.write_text("old")
    with pytest.raises(SubtitleFormatError) as info:
        write_subtitles(CueTrack("en", (Cue(0, 1, "ok"), Cue(5, 4, "backwards"))), path)
    assert "cue 2" in info.value.message
    assert path.read_text() == "old"


def test_write_into_missing_directory_explains(tmp_path: Path) -> None:
    with pytest.raises(SubtitleFormatError) as info:
        write_subtitles(CueTrack("en"), tmp_path / "no" / "such.srt")
    assert "directory" in info.value.hint
