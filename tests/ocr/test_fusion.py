"""localize.ocr.fusion: captions and speech recognition fused into one Chinese track."""

from __future__ import annotations

import pytest

from localize.domain import Cue, CueTrack, Segment, Transcript
from localize.metrics import character_error_rate
from localize.ocr import (
    OcrError,
    OcrResult,
    fuse,
)
from localize.sample import SampleEpisode
from tests.ocr.helpers import needs_fonts

pytestmark = needs_fonts


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
