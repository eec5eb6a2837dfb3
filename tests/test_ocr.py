"""OCR of burned-in captions: the sample episode, small synthetic videos, fusion with ASR.

The synthetic videos are rendered at test time with ffmpeg's ``subtitles`` filter
(libass) and the WenQuanYi Zen Hei font, over a moving gradient so the caption band
is never a flat colour. Caption times are multiples of 40 ms, so at 25 fps the true
first frame of each caption and the first frame after it are known exactly.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack, Segment, Transcript
from localize.errors import MediaError
from localize.metrics import boundary_errors, character_error_rate
from localize.ocr import (
    CaptionBand,
    OcrError,
    OcrResult,
    RapidOcrReader,
    benchmark,
    fuse,
    ocr_video,
)
from localize.sample import SampleEpisode
from localize.tools import run_tool

FONT_DIR = Path("/usr/share/fonts/truetype/wqy")
FPS = 25
FRAME_MS = 1000 // FPS

pytestmark = pytest.mark.skipif(
    not (FONT_DIR / "wqy-zenhei.ttc").is_file(), reason="needs fonts-wqy-zenhei"
)


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    """One set of OCR models for the whole module (loading costs ~1 s)."""
    return RapidOcrReader()


# --------------------------------------------------------------- synthetic videos
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
        assert _bare(text) == _bare(line.text), (line, text)
        assert abs(start - line.start_ms) <= frames * FRAME_MS, (line, start)
        assert abs(end - line.end_ms) <= frames * FRAME_MS, (line, end)


def _bare(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


# ----------------------------------------------------------------- sample episode
@pytest.fixture(scope="module")
def sample_ocr(episode: SampleEpisode, reader: RapidOcrReader) -> OcrResult:
    return ocr_video(episode.video, reader=reader)


def test_sample_episode_text_and_timing(episode: SampleEpisode, sample_ocr: OcrResult) -> None:
    truth = json.loads(episode.ground_truth.read_text(encoding="utf-8"))
    lines = truth["lines"]
    # the band was found automatically, inside the ground truth's caption band, and
    # excludes the series title and the name cards at the top of the frame
    low, high = truth["video"]["caption_band"]
    assert sample_ocr.band_source == "detected"
    assert sample_ocr.band is not None
    assert low - 0.03 <= sample_ocr.band.top and sample_ocr.band.bottom <= high + 0.03
    assert sample_ocr.track.language == "zh-Hans"

    reference = "".join(line["zh"] for line in lines)
    hypothesis = "".join(cue.text for cue in sample_ocr.track.cues)
    assert character_error_rate(reference, hypothesis) < 0.02
    assert [c.text for c in sample_ocr.track.cues] == [line["caption"] for line in lines]

    spans = [(line["start_ms"], line["end_ms"]) for line in lines]
    errors = boundary_errors(spans, [(c.start_ms, c.end_ms) for c in sample_ocr.track.cues])
    assert len(sample_ocr.track) == len(lines)
    for line, error in zip(lines, errors, strict=True):
        assert error is not None, line
        assert abs(error[0]) <= 2 * FRAME_MS and abs(error[1]) <= 2 * FRAME_MS, (line, error)
    assert all(c > 0.9 for c in sample_ocr.confidences)
    assert not sample_ocr.no_captions


def test_sample_episode_ocr_is_cheap(sample_ocr: OcrResult) -> None:
    # OCR runs once per caption change, not per frame
    assert sample_ocr.stats.frames > 1900
    assert sample_ocr.stats.ocr_calls <= 3 * len(sample_ocr.track)


def test_clean_video_hint(sample_ocr: OcrResult, tmp_path: Path) -> None:
    hint = json.loads(sample_ocr.write_clean_video_hint(tmp_path / "hint.json").read_text())
    assert sample_ocr.band is not None
    assert hint["band"] == sample_ocr.band.as_dict()
    assert len(hint["events"]) == len(sample_ocr.track)
    first = hint["events"][0]
    assert first["start_frame"] * FRAME_MS == first["start_ms"]


# --------------------------------------------------------------- fusion with ASR
def test_fusion_improves_on_asr_alone(episode: SampleEpisode, sample_ocr: OcrResult) -> None:
    truth = episode.lines
    # ASR as it really fails on this drama: homophones and dropped characters...
    mistakes = {"顾": "故", "契约": "气约", "晚": "完", "总裁": "总才", "秘书": "密书"}
    asr_segments = []
    for cue in truth:
        text = cue.text.replace("\n", "")
        for right, wrong in mistakes.items():
            text = text.replace(right, wrong)
        # ...and speech timing that runs a little past the caption
        asr_segments.append(Segment(cue.start_ms + 60, cue.end_ms + 200, text, avg_logprob=-0.3))
    # a line spoken off-screen in a caption gap, which no caption shows
    gap_start = truth[2].end_ms + 100
    asr_segments.insert(3, Segment(gap_start, gap_start + 350, "嗯。", avg_logprob=-0.2))
    # and a low-confidence mumble in another gap, which must not become a cue
    mumble = truth[5].end_ms + 200
    asr_segments.insert(7, Segment(mumble, mumble + 300, "啊啊", avg_logprob=-2.5))
    asr = Transcript("zh", episode.duration_ms, tuple(asr_segments))

    reference = "".join(cue.text for cue in truth) + "嗯"
    fused = fuse(sample_ocr.track, asr, mode="fused")
    asr_only = fuse(sample_ocr.track, asr, mode="asr")
    cer_fused = character_error_rate(reference, "".join(c.text for c in fused.track.cues))
    cer_asr = character_error_rate(reference, "".join(c.text for c in asr_only.track.cues))
    assert cer_asr > 0.05
    assert cer_fused < cer_asr
    assert cer_fused < 0.02

    # the off-screen line fills the gap and is flagged; the mumble is flagged, not used
    texts = [c.text for c in fused.track.cues]
    assert "嗯。" in texts and "啊啊" not in texts
    reasons = {c.asr_text: c.reason for c in fused.conflicts}
    assert reasons["嗯。"] == "asr_only"
    assert reasons["啊啊"] == "asr_only_low_confidence"
    flagged = next(c for c in fused.conflicts if c.asr_text == "嗯。")
    assert flagged.index is not None and fused.track.cues[flagged.index].text == "嗯。"
    # captions keep their own times: no timing conflicts for 60/200 ms offsets
    assert not [c for c in fused.conflicts if c.reason == "timing"]
    starts = [c.start_ms for c in fused.track.cues]
    assert starts == sorted(starts)
    for a, b in zip(fused.track.cues, fused.track.cues[1:], strict=False):
        assert a.end_ms <= b.start_ms


def test_fusion_flags_timing_and_text_disagreements() -> None:
    ocr = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "你好，世界。"),
            Cue(4000, 6000, "我们走吧。"),
            Cue(7000, 8000, "店铺招牌"),
        ),
    )
    asr = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "你好世界"),  # agrees
            Cue(4000, 7400, "我们走吧"),  # ends 1.4 s after the caption
            Cue(9000, 9500, "快跑"),  # in a gap, and the caption before has no speech
        ),
    )
    result = fuse(ocr, asr)
    reasons = sorted((c.reason, c.ocr_text) for c in result.conflicts)
    assert ("timing", "我们走吧。") in reasons
    assert ("no_speech", "店铺招牌") in reasons
    assert ("asr_only", "") in reasons
    timing = next(c for c in result.conflicts if c.reason == "timing")
    assert (timing.index, timing.ocr_index, timing.asr_index) == (1, 1, 1)
    extra = next(c for c in result.conflicts if c.reason == "asr_only")
    assert (extra.index, extra.ocr_index, extra.asr_index) == (3, None, 2)
    assert len(result.track) == 4
    assert fuse(ocr, asr, mode="ocr").track.cues == ocr.cues
    with pytest.raises(OcrError):
        fuse(ocr, asr, mode="both")  # type: ignore[arg-type]


def test_fusion_with_empty_inputs() -> None:
    empty = CueTrack("zh-Hans")
    asr = CueTrack("zh-Hans", (Cue(0, 1000, "你好"),))
    assert fuse(empty, asr).track.cues == asr.cues
    only_ocr = fuse(asr, empty)
    assert only_ocr.track.cues == asr.cues and not only_ocr.conflicts


# ------------------------------------------------------------- synthetic videos
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


def test_video_without_captions_is_flagged(tmp_path: Path, reader: RapidOcrReader) -> None:
    video = make_video(
        tmp_path / "clean.mp4",
        size=(720, 1280),
        duration_ms=5000,
        static=[("总裁的契约新娘", 7), ("独家播出", 3)],
    )
    result = ocr_video(video, reader=reader)
    assert result.no_captions
    assert len(result.track) == 0 and result.band is None
    assert result.warnings and "no burned-in captions" in result.warnings[0]


def test_captions_that_move_are_all_read(tmp_path: Path, reader: RapidOcrReader) -> None:
    lines = [
        Line(400, 1600, "第一句在下面", y=0.85),
        Line(2000, 3200, "第二句也在下面", y=0.85),
        Line(3600, 4800, "第三句还在下面", y=0.85),
        Line(5200, 6400, "第四句挪到中间", y=0.62),
        Line(6800, 8000, "第五句也在中间", y=0.62),
        Line(8400, 9600, "第六句还在中间", y=0.62),
    ]
    video = make_video(tmp_path / "moving.mp4", size=(720, 1280), duration_ms=10_000, lines=lines)
    result = ocr_video(video, reader=reader)
    assert result.band is not None
    assert result.band.top < 0.6 and result.band.bottom > 0.85
    assert any("positions" in w for w in result.warnings)
    check_timing(result, lines)


def test_gaps_between_lines_and_two_line_captions(tmp_path: Path, reader: RapidOcrReader) -> None:
    lines = [
        Line(800, 2000, "第一句话"),
        Line(2040, 3000, "只隔了一帧的第二句"),  # one blank frame before it
        Line(3000, 4200, "紧接着的第三句"),  # no blank at all
        Line(5600, 7000, "两行字幕的第一行\n这是第二行"),  # after 1.4 s with no caption
    ]
    video = make_video(tmp_path / "gaps.mp4", size=(720, 1280), duration_ms=8000, lines=lines)
    # a band given by the user is used as it is
    band = CaptionBand(0.78, 0.93)
    result = ocr_video(video, band=band, reader=reader)
    assert result.band == band and result.band_source == "given"
    check_timing(result, lines, frames=1)
    assert result.track.cues[3].text.count("\n") == 1


def test_audio_only_file_gives_empty_result(tmp_path: Path) -> None:
    audio = tmp_path / "speech.wav"
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", str(audio)],
        timeout=60,
        what="making a test tone",
    )
    result = ocr_video(audio)
    assert result.no_captions and not result.track.cues
    assert "no video stream" in result.warnings[0]


def test_unreadable_file_raises_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(MediaError):
        ocr_video(bad)


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
