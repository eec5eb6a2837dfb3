"""Transcription: recogniser-independent guarantees, and the real faster-whisper backend."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from localize.domain import Segment, Transcript, Word
from localize.errors import MediaError, ModelError
from localize.media import load_audio, probe
from localize.metrics import character_error_rate
from localize.transcribe import (
    FasterWhisperTranscriber,
    ScriptedTranscriber,
    TranscribeOptions,
    create_transcriber,
    postprocess,
    transcribe_file,
)


def _words(text: str, start: int = 0, step: int = 200, gaps: dict[int, int] | None = None):  # type: ignore[no-untyped-def]
    """One Word per character, ``step`` ms each; ``gaps`` adds a pause before index i."""
    words, t = [], start
    for i, ch in enumerate(text):
        t += (gaps or {}).get(i, 0)
        words.append(Word(t, t + step, ch))
        t += step
    return tuple(words)


def _seg(text: str, start: int = 0, **kw) -> Segment:  # type: ignore[no-untyped-def]
    words = kw.pop("words", None) or _words(text, start)
    return Segment(start, words[-1].end_ms, text, words, **kw)


def _run(*segments: Segment, **options) -> Transcript:  # type: ignore[no-untyped-def]
    raw = Transcript("zh-Hans", 60_000, tuple(segments))
    return postprocess(raw, TranscribeOptions(**options))


def test_traditional_characters_become_simplified() -> None:
    out = _run(_seg("顧總，這份合約你簽了嗎？"))
    assert out.segments[0].text == "顾总，这份合约你签了吗？"
    assert "".join(w.text for w in out.segments[0].words) == out.segments[0].text


def test_ascii_punctuation_and_spaces_are_normalised() -> None:
    seg = Segment(
        0,
        1000,
        "",
        (
            Word(0, 200, "普通"),
            Word(200, 300, ","),
            Word(300, 500, " 林"),
            Word(500, 900, "小姐?"),
            Word(900, 1000, " VIP"),
        ),
    )
    out = _run(seg)
    assert [s.text for s in out.segments] == ["普通，林小姐？", "VIP。"]


def test_missing_punctuation_is_restored_at_pauses() -> None:
    seg = _seg("你真的要嫁给他吗", words=_words("你真的要嫁给他吗", gaps={3: 400}))
    out = _run(seg)
    assert out.segments[0].text == "你真的，要嫁给他吗？"
    plain = _run(_seg("我已经签了", words=_words("我已经签了", gaps={2: 100})))
    assert plain.segments[0].text == "我已经签了。"


@pytest.mark.parametrize(
    "text",
    ["请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "字幕由Amara.org社区提供", "谢谢观看！"],
)
def test_credit_hallucinations_are_dropped_and_reported(text: str) -> None:
    out = _run(_seg("我爱你。"), _seg(text, start=5000))
    assert [s.text for s in out.segments] == ["我爱你。"]
    assert out.dropped[0].reason == "known hallucinated phrase"


def test_a_long_batched_segment_loses_only_the_invented_sentence() -> None:
    text = "我不会离开你。你相信我吗？谢谢观看。"
    out = _run(_seg(text))
    assert [s.text for s in out.segments] == ["我不会离开你。", "你相信我吗？"]
    assert out.dropped[0].segment.text == "谢谢观看。"
    assert out.segments[1].start_ms == 7 * 200  # timings follow the words


def test_no_speech_low_confidence_segments_are_dropped() -> None:
    out = _run(
        _seg("嗯嗯。", no_speech_prob=0.9, avg_logprob=-1.5),
        _seg("真的吗？", start=3000, no_speech_prob=0.9, avg_logprob=-0.3),  # confident: kept
    )
    assert [s.text for s in out.segments] == ["真的吗？"]
    assert out.dropped[0].reason.startswith("no speech")


def test_repetition_loops_collapse_but_emphasis_stays() -> None:
    loop = "我不会放过你" + "对不起" * 6 + "。"
    out = _run(_seg(loop), _seg("不要不要！", start=9000))
    assert out.segments[0].text == "我不会放过你对不起。"
    assert "".join(w.text for w in out.segments[0].words) == out.segments[0].text
    assert out.segments[1].text == "不要不要！"
    assert any("repetition loop" in d.reason for d in out.dropped)


def test_the_same_line_repeated_across_segments_is_dropped() -> None:
    segs = [_seg("你走吧。", start=i * 2000) for i in range(5)]
    out = _run(*segs)
    assert len(out.segments) == 3
    assert sum("repeated across segments" in d.reason for d in out.dropped) == 2


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="choose one of: faster-whisper, scripted"):
        create_transcriber("whisperx")


# ------------------------------------------------------------------ media inputs
def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def test_bad_inputs_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        probe(tmp_path / "missing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        probe(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(MediaError) as err:
        probe(junk)
    assert "corrupt" in err.value.hint
    silent_video = tmp_path / "novideo.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=c=black:s=72x128:d=1", "-c:v", "libx264", str(silent_video))
    with pytest.raises(MediaError, match="no audio stream"):
        transcribe_file(silent_video, ScriptedTranscriber())


def test_truncated_file_is_reported_not_crashed(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=3",
        "-f",
        "lavfi",
        "-i",
        "color=c=blue:s=72x128:d=3",
        "-shortest",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        str(good),
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with pytest.raises(MediaError) as err:
        load_audio(cut)
    assert err.value.path == str(cut)


# ------------------------------------------------------------------ real model
def _speak(text: str, out: Path) -> Path:
    from pypinyin import Style, lazy_pinyin

    pinyin = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "150", "-w", str(out), pinyin], check=True
    )
    return out


@pytest.fixture(scope="module")
def whisper() -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber("whisper-base")


@pytest.mark.slow
def test_real_whisper_transcribes_mandarin(
    tmp_path: Path, whisper: FasterWhisperTranscriber
) -> None:
    truth = "我不会离开你的。你相信我吗？"
    wav = _speak(truth, tmp_path / "line.wav")
    out = transcribe_file(wav, whisper)
    text = out.text
    assert out.segments, "speech was not recognised at all"
    assert character_error_rate(truth, text) < 0.5, text
    # simplified output with full-width punctuation, words consistent with text
    assert all(ord(c) < 0x3400 or "\u3400" <= c <= "\u9fff" or c in "，。？！" for c in text)
    for seg in out.segments:
        assert "".join(w.text for w in seg.words) == seg.text
        assert 0 <= seg.start_ms < seg.end_ms <= out.duration_ms + 500


@pytest.mark.slow
def test_real_whisper_on_silence_returns_nothing(
    tmp_path: Path, whisper: FasterWhisperTranscriber
) -> None:
    silence = np.zeros(16_000 * 5, dtype=np.float32)
    out = postprocess(whisper.transcribe(silence, TranscribeOptions()))
    assert out.segments == ()


def test_boundary_errors_follow_split_and_missing_lines() -> None:
    from localize.metrics import boundary_errors

    reference = [(1000, 3000), (4000, 6000), (8000, 9000), (10000, 11000)]
    # split line; a cue spilling over; a missed line; a cue straddling two lines
    cues = [(1100, 2000), (2100, 2900), (3900, 6300), (8500, 10200)]
    assert boundary_errors(reference, cues) == [(100, -100), (-100, 300), (500, 1200), None]


def test_character_error_rate_ignores_punctuation_and_width() -> None:
    assert character_error_rate("你好，世界！", "你好世界") == 0.0
    assert character_error_rate("ＶＩＰ会客室", "vip会客室") == 0.0
    assert character_error_rate("顾总", "顾") == 0.5
    assert character_error_rate("", "") == 0.0


def test_clearly_foreign_speech_is_refused_with_a_way_out(tmp_path: Path) -> None:
    from localize.errors import TranscriptionError

    wav = tmp_path / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=f=300:d=2", str(wav))
    english = ScriptedTranscriber(languages={"en": 0.97, "zh": 0.01})
    with pytest.raises(TranscriptionError) as err:
        transcribe_file(wav, english)
    assert "'en' (97%)" in str(err.value) and "--no-language-check" in err.value.hint
    # uncertain detection (synthetic Mandarin is often scored as Thai) is not refused
    unsure = ScriptedTranscriber(languages={"th": 0.56, "zh": 0.15})
    assert transcribe_file(wav, unsure).segments == ()
    assert transcribe_file(wav, english, TranscribeOptions(check_language=False)).segments == ()


@pytest.mark.slow
def test_real_whisper_refuses_english_speech(
    tmp_path: Path, whisper: FasterWhisperTranscriber
) -> None:
    from localize.errors import TranscriptionError

    wav = tmp_path / "en.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav),
                    "Hello, this is the English dub. I will never leave you, do you believe me?"],
                   check=True)  # fmt: skip
    with pytest.raises(TranscriptionError, match="sounds like 'en'"):
        transcribe_file(wav, whisper)


_NAMES_PROMPT = "以下是普通话的句子。人物：顾言深、顾总、苏曼、陈秘书、林晚。"


@pytest.mark.parametrize(
    "echo", ["苏曼、陈秘书、顾总。", "苏曼，顾总", "林晚、顾言深、苏曼、陈秘书。"]
)
def test_the_prompt_names_echoed_in_any_order_are_dropped(echo: str) -> None:
    """Whisper repeats the names of its prompt over music (the sample at 0:40)."""
    out = _run(_seg("我签了。"), _seg(echo, start=5000), initial_prompt=_NAMES_PROMPT)
    assert [s.text for s in out.segments] == ["我签了。"]
    assert out.dropped[0].reason == "an echo of the names in the initial prompt"


def test_names_echoed_after_a_spoken_line_are_trimmed_but_real_lines_stay() -> None:
    out = _run(
        _seg("是，总裁苏曼、陈秘书。"),
        _seg("苏曼！", start=5000),  # one name called out is dialogue
        _seg("顾总，合同签了。", start=8000),
        initial_prompt=_NAMES_PROMPT,
    )
    assert [s.text for s in out.segments] == ["是，总裁。", "苏曼！", "顾总，合同签了。"]
    first = out.segments[0]
    assert "".join(w.text for w in first.words) == first.text
    assert "prompt names echoed" in out.dropped[0].reason
