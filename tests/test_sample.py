"""The sample-episode generator and the external-tool runner it is built on.

The episode is generated once per session (about 10-20 s) and checked the way the
pipeline will use it: probed with ffprobe, decoded with ffmpeg, measured with numpy.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import random
import re
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from localize.domain import Cue
from localize.errors import LocalizeError, ToolMissingError
from localize.sample import SCRIPT, SampleEpisode, pinyin_for_espeak
from localize.sample.build import (
    FRAME_MS,
    GAP_RANGE_MS,
    HEIGHT,
    LEAD_IN_MS,
    VOICES,
    _layout,
    _synthesise,
    wrap_caption,
)
from localize.tools import ToolFailedError, ToolTimeoutError, require_tool, run_tool

#: the sample series glossary: every name, form of address and term must be spoken
GLOSSARY_TERMS = (
    "林晚", "晚晚", "顾言深", "苏曼", "陈秘书", "顾老夫人",
    "顾总", "总裁", "林小姐", "奶奶",
    "顾氏集团", "契约", "合同", "VIP",
)  # fmt: skip
CAST = {
    "lin_wan": "林晚",
    "gu_yanshen": "顾言深",
    "su_man": "苏曼",
    "secretary_chen": "陈秘书",
    "madam_gu": "顾老夫人",
}
ASR_RATE = 16_000


@pytest.fixture(scope="session")
def truth(episode: SampleEpisode) -> dict[str, object]:
    data: dict[str, object] = json.loads(episode.ground_truth.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def lines(truth: dict[str, object]) -> list[dict[str, object]]:
    raw = truth["lines"]
    assert isinstance(raw, list)
    return raw


@pytest.fixture(scope="session")
def mix_16k(episode: SampleEpisode) -> npt.NDArray[np.float64]:
    """The episode's soundtrack as the recogniser will hear it: 16 kHz mono."""
    proc = run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(episode.video), "-vn", "-ac", "1",
         "-ar", str(ASR_RATE), "-f", "s16le", "pipe:1"],
        timeout=60,
        what="decoding the sample episode's audio",
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float64) / 32768.0


def _ms(value: object) -> int:
    assert isinstance(value, int)
    return value


def _rms(samples: npt.NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def _read_stem(path: Path) -> npt.NDArray[np.float64]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48_000, 2, 2)
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return data.reshape(-1, 2)[:, 0].astype(np.float64) / 32768.0


# --- the media ------------------------------------------------------------------------


def test_video_is_a_vertical_h264_episode_with_aac_audio(episode: SampleEpisode) -> None:
    proc = run_tool(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(episode.video)],
        timeout=30,
        what="probing the sample episode",
    )  # fmt: skip
    info = json.loads(proc.stdout)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1
    assert video[0]["codec_name"] == "h264"
    assert (video[0]["width"], video[0]["height"]) == (720, 1280)
    assert video[0]["pix_fmt"] == "yuv420p"
    assert video[0]["avg_frame_rate"] in ("25/1", "30/1")
    assert audio[0]["codec_name"] == "aac"
    assert audio[0]["sample_rate"] == "48000" and audio[0]["channels"] == 2
    duration = float(info["format"]["duration"])
    assert 60.0 <= duration <= 90.0
    assert abs(duration * 1000 - episode.duration_ms) < 100


def test_ground_truth_lines_are_ordered_and_inside_the_episode(
    episode: SampleEpisode, truth: dict[str, object], lines: list[dict[str, object]]
) -> None:
    assert truth["series"] == "总裁的契约新娘" and truth["episode"] == 1
    assert [line["index"] for line in lines] == list(range(1, len(SCRIPT.lines) + 1))
    assert [line["zh"] for line in lines] == [line.zh for line in SCRIPT.lines]
    assert [line["en"] for line in lines] == [line.en for line in SCRIPT.lines]
    assert _ms(lines[0]["start_ms"]) >= LEAD_IN_MS - FRAME_MS
    previous_end = 0
    for line in lines:
        start, end = _ms(line["start_ms"]), _ms(line["end_ms"])
        assert previous_end < start < end <= episode.duration_ms
        # the gap is natural (0.4-1.5 s, frame-aligned, longer before the slap)
        if previous_end:
            assert GAP_RANGE_MS[0] <= start - previous_end <= GAP_RANGE_MS[1] + FRAME_MS
        assert (line["caption_start_ms"], line["caption_end_ms"]) == (start, end)
        assert line["speaker"] in CAST and line["speaker_zh"] == CAST[str(line["speaker"])]
        previous_end = end
    assert episode.duration_ms == truth["duration_ms"]


def test_sample_episode_cues_match_the_ground_truth_and_the_srt(
    episode: SampleEpisode, lines: list[dict[str, object]]
) -> None:
    expected = [
        Cue(_ms(line["start_ms"]), _ms(line["end_ms"]), str(line["caption"]), str(line["speaker"]))
        for line in lines
    ]
    assert list(episode.lines) == expected
    assert [cue.text.replace("\n", "") for cue in episode.lines] == [line["zh"] for line in lines]
    assert [(cue.text, cue.source) for cue in episode.reference_en] == [
        (line.en, line.zh) for line in SCRIPT.lines
    ]

    srt = episode.captions_srt.read_text(encoding="utf-8")
    blocks = srt.strip().split("\n\n")
    assert len(blocks) == len(lines)
    for n, (block, cue) in enumerate(zip(blocks, episode.lines, strict=True), start=1):
        number, timing, *text = block.split("\n")
        assert int(number) == n
        units = (3_600_000, 60_000, 1000, 1)
        start, end = (
            sum(int(x) * f for x, f in zip(re.split("[:,]", t), units, strict=True))
            for t in timing.split(" --> ")
        )
        assert (start, end) == (cue.start_ms, cue.end_ms)
        assert "\n".join(text) == cue.text


def test_speech_is_where_the_ground_truth_says(
    mix_16k: npt.NDArray[np.float64], lines: list[dict[str, object]]
) -> None:
    per_ms = ASR_RATE // 1000
    spans = [(_ms(line["start_ms"]), _ms(line["end_ms"])) for line in lines]
    speech = [_rms(mix_16k[s * per_ms : e * per_ms]) for s, e in spans]
    # the middle 200 ms of the lead-in and of every gap: only the music bed plays there
    middles = [LEAD_IN_MS // 2] + [(a[1] + b[0]) // 2 for a, b in itertools.pairwise(spans)]
    quiet = [_rms(mix_16k[(m - 100) * per_ms : (m + 100) * per_ms]) for m in middles]
    assert min(quiet) > 0.0, "the music bed should be audible in the gaps"
    # the bed sits ~18 dB under the speech: every line at least 10 dB above every gap
    assert min(speech) > 10 ** (10 / 20) * max(quiet), (speech, quiet)


def test_speech_stem_truth_spans_are_accurate_to_20_ms(
    episode: SampleEpisode, lines: list[dict[str, object]]
) -> None:
    stem = _read_stem(episode.speech)
    per_ms = 48
    assert stem.size == episode.duration_ms * per_ms
    outside = np.ones(stem.size, dtype=bool)
    for line in lines:
        start, end = _ms(line["start_ms"]) * per_ms, _ms(line["end_ms"]) * per_ms
        outside[start - 20 * per_ms : end + 20 * per_ms] = False
        # the speech starts and ends right at the truth's edges
        assert np.abs(stem[start : start + 20 * per_ms]).max() > 0.003
        assert np.abs(stem[end - 20 * per_ms : end]).max() > 0.003
    assert np.abs(stem[outside]).max() < 0.002


def test_music_stem_is_a_quieter_bed_and_the_stems_sum_to_the_mix(
    episode: SampleEpisode, lines: list[dict[str, object]]
) -> None:
    speech, music = _read_stem(episode.speech), _read_stem(episode.music)
    assert speech.size == music.size
    spans = np.zeros(speech.size, dtype=bool)
    for line in lines:
        spans[_ms(line["start_ms"]) * 48 : _ms(line["end_ms"]) * 48] = True
    # away from the fades at both ends
    body = slice(3 * 48_000, speech.size - 4 * 48_000)
    ratio_db = 20 * np.log10(_rms(speech[spans]) / _rms(music[body]))
    assert 14.0 < ratio_db < 22.0
    # tonal, not noise: 1 % of the spectrum (the notes) holds most of the energy
    power = np.abs(np.fft.rfft(music[10 * 48_000 : 11 * 48_000])) ** 2
    assert np.sort(power)[-power.size // 100 :].sum() > 0.6 * power.sum()


def test_captions_are_burned_in_exactly_while_the_line_is_spoken(
    episode: SampleEpisode, lines: list[dict[str, object]]
) -> None:
    # brightest luma of the caption band (70-86 % of the height) in every frame
    top, bottom = int(HEIGHT * 0.70), int(HEIGHT * 0.86)
    proc = run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(episode.video), "-an",
         "-vf", f"crop=720:{bottom - top}:0:{top},signalstats,"
         "metadata=print:key=lavfi.signalstats.YMAX:file=-", "-f", "null", "-"],
        timeout=120,
        what="measuring the caption band",
    )  # fmt: skip
    ymax = [int(v) for v in re.findall(rb"YMAX=(\d+)", proc.stdout)]
    assert len(ymax) == episode.duration_ms // FRAME_MS
    spans = [(_ms(line["start_ms"]), _ms(line["end_ms"])) for line in lines]
    wrong = []
    for frame, value in enumerate(ymax):
        t = frame * FRAME_MS
        expected = any(start <= t < -(-end // 10) * 10 for start, end in spans)
        if (value > 200) != expected:  # white caption text vs the dark picture
            wrong.append((t, value, expected))
    assert not wrong


def test_frame_shows_the_caption(episode: SampleEpisode, tmp_path: Path) -> None:
    """Sanity check that the caption is drawn with a CJK font (not missing-glyph boxes)."""
    first = episode.lines[0]
    still = tmp_path / "frame.gray"
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{(first.start_ms + 500) / 1000}",
         "-i", str(episode.video), "-frames:v", "1", "-vf", "format=gray",
         "-f", "rawvideo", str(still)],
        timeout=30,
        what="extracting a frame",
    )  # fmt: skip
    frame = np.frombuffer(still.read_bytes(), dtype=np.uint8).reshape(HEIGHT, 720)
    band = frame[int(HEIGHT * 0.72) : int(HEIGHT * 0.84)]
    white_columns = np.flatnonzero((band > 200).any(axis=0))
    # two centred lines of ~9-10 glyphs each span a good part of the width
    assert white_columns.size > 150
    assert abs((white_columns.min() + white_columns.max()) / 2 - 360) < 40
    # tofu boxes are hollow rectangles: real glyphs have far more varied columns
    profile = (band > 200).sum(axis=0)[white_columns.min() : white_columns.max()]
    assert len(set(profile.tolist())) > 15


# --- determinism ----------------------------------------------------------------------


def test_layout_is_deterministic_per_seed() -> None:
    lengths = [44_100 + 2205 * i for i in range(len(SCRIPT.lines))]
    first = _layout(SCRIPT, lengths, random.Random(0))
    assert first == _layout(SCRIPT, lengths, random.Random(0))
    assert first != _layout(SCRIPT, lengths, random.Random(1))
    assert first[0].start_ms == LEAD_IN_MS
    assert all(p.start_ms % FRAME_MS == 0 for p in first)
    slapped = [p for p in first if p.effect]
    assert [p.effect[0] for p in slapped if p.effect] == ["slap"]


def test_synthesis_is_deterministic(tmp_path: Path) -> None:
    line = SCRIPT.lines[3]
    voice = VOICES[line.speaker]
    a = _synthesise(line.zh, voice, tmp_path, "a")
    b = _synthesise(line.zh, voice, tmp_path, "b")
    assert np.array_equal(a, b)
    assert 1.0 < a.size / 22_050 < 4.0


# --- the script -----------------------------------------------------------------------


def test_script_uses_every_glossary_name_address_and_term() -> None:
    text = "".join(line.zh for line in SCRIPT.lines)
    missing = [term for term in GLOSSARY_TERMS if term not in text]
    assert not missing


def test_script_cast_and_lines_follow_the_brief() -> None:
    assert {person.id: person.name_zh for person in SCRIPT.cast} == CAST
    assert SCRIPT.series_zh == "总裁的契约新娘" and SCRIPT.episode == 1
    assert 14 <= len(SCRIPT.lines) <= 18
    for line in SCRIPT.lines:
        assert line.speaker in CAST
        assert 6 <= len(line.zh) <= 22, line.zh
        assert line.zh[-1] in "。？！", line.zh
        assert not re.search(r"[,.?!;:]", line.zh), "Chinese lines use full-width punctuation"
        assert line.en and line.en.isascii()
    assert any(line.effect_before == "slap" for line in SCRIPT.lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("顾总，VIP！", "gu4 zong3, wei1 ai4 pi4!"),
        ("你……你刚才说什么？", "ni3, ni3 gang1 cai2 shuo1 shen2 me5?"),
        ("一年为期。", "yi4 nian2 wei2 qi1."),
        ("一个人", "yi2 ge4 ren2"),
        ("第一天", "di4 yi1 tian1"),
        ("你在哪儿？", "ni3 zai4 na3 er5?"),
        ("3号", "san1 hao4"),
        ("“好”！？", "hao3!"),
        ("", ""),
    ],
)
def test_pinyin_for_espeak(text: str, expected: str) -> None:
    assert pinyin_for_espeak(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("苏曼，我们早就结束了。", "苏曼，我们早就结束了。"),
        ("林晚，这是契约。签了它，你就是顾太太。", "林晚，这是契约。\n签了它，你就是顾太太。"),
        ("顾总，林小姐已经在VIP会客室等您了。", "顾总，林小姐已经在\nVIP会客室等您了。"),
        ("一二三四五六七八九十一二三四五六", "一二三四五六七八\n九十一二三四五六"),
    ],
)
def test_wrap_caption(text: str, expected: str) -> None:
    assert wrap_caption(text) == expected


# --- the tool runner ------------------------------------------------------------------


def test_missing_program_names_the_debian_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError) as caught:
        require_tool("ffprobe")
    assert "ffprobe" in caught.value.message
    assert "apt-get install ffmpeg" in caught.value.hint
    with pytest.raises(ToolMissingError, match="apt-get install espeak-ng"):
        run_tool(["espeak-ng", "--version"], timeout=5, what="checking espeak")


def test_unknown_missing_program_still_gets_an_install_hint() -> None:
    with pytest.raises(ToolMissingError) as caught:
        run_tool(["no-such-program-localize"], timeout=5, what="testing")
    assert "no-such-program-localize" in str(caught.value)
    assert "apt-get install" in caught.value.hint


def test_require_tool_returns_the_path() -> None:
    assert Path(require_tool("ffmpeg")).name == "ffmpeg"


def test_failure_carries_the_stderr_tail(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.mp4"
    with pytest.raises(ToolFailedError) as caught:
        run_tool(["ffmpeg", "-v", "error", "-i", str(missing)], timeout=30, what="probing it")
    error = caught.value
    assert isinstance(error, LocalizeError)
    assert error.tool == "ffmpeg" and error.returncode not in (0, None)
    assert "No such file or directory" in error.stderr
    assert error.message.startswith("probing it: ffmpeg failed")
    assert "No such file or directory" in error.message.splitlines()[-1]
    clone = pickle.loads(pickle.dumps(error))
    assert (type(clone), clone.message, clone.returncode) == (
        ToolFailedError,
        error.message,
        error.returncode,
    )


def test_timeout_kills_the_program_and_says_so() -> None:
    began = time.monotonic()
    with pytest.raises(ToolTimeoutError) as caught:
        # exec keeps the shell's pid, which is printed first so we can check it is gone
        run_tool(["sh", "-c", "echo $$; exec sleep 30"], timeout=0.5, what="waiting")
    assert time.monotonic() - began < 10
    error = caught.value
    assert isinstance(error, ToolFailedError) and error.returncode is None
    assert "did not finish within 0.5 s" in error.message and "killed" in error.message
    cause = error.__cause__
    assert isinstance(cause, subprocess.TimeoutExpired)
    pid = int((cause.stdout or b"").split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert isinstance(pickle.loads(pickle.dumps(error)), ToolTimeoutError)


def test_stdin_is_fed_and_output_returned() -> None:
    proc = run_tool(["cat"], timeout=5, what="echoing", stdin="晚晚".encode())
    assert proc.stdout.decode() == "晚晚"
