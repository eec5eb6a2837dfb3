"""The whole dub on the sample episode with the real voice, checked by speech recognition."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.dub import PiperSynthesizer, assign_voices, dub_track, measure_loudness
from localize.glossary import load_glossary
from localize.sample import SampleEpisode
from tests.dub.test_mix import check_placement


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def word_recall(reference: list[str], hypothesis: list[str]) -> float:
    """Share of reference words (with multiplicity) that the hypothesis contains."""
    found = Counter(hypothesis)
    return sum(min(n, found[w]) for w, n in Counter(reference).items()) / len(reference)


@pytest.mark.slow
def test_dub_the_sample_episode_and_recognise_it(
    episode: SampleEpisode, glossary_path: Path, tmp_path: Path
) -> None:
    pytest.importorskip("piper", reason="piper-tts is not installed (pip install piper-tts)")
    from localize.media import load_audio
    from localize.transcribe import FasterWhisperTranscriber, TranscribeOptions

    truth = json.loads(episode.ground_truth.read_text(encoding="utf-8"))
    cues = tuple(
        Cue(line["start_ms"], line["end_ms"], line["en"], speaker=line["speaker"])
        for line in truth["lines"]
    )
    track = CueTrack("en", cues)
    tts = PiperSynthesizer()
    voices = assign_voices(load_glossary(glossary_path), "en", synthesizer=tts)

    started = time.perf_counter()
    result = dub_track(
        track,
        synthesizer=tts,
        voices=voices,
        bed=episode.music,
        original_audio=None,
        duration_ms=episode.duration_ms,
        out_dir=tmp_path,
    )
    dub_s = time.perf_counter() - started

    integrated, peak = measure_loudness(result.m4a)
    assert abs(result.integrated_lufs - -16.0) <= 1.0 and result.true_peak_dbtp <= -1.0
    assert abs(integrated - -16.0) <= 1.0 and peak <= -1.0
    assert len(result.clips) == len(cues)
    errors = check_placement(result.dub_stem, result.clips, cues)
    assert len(result.report.flagged) <= 2  # the reference English mostly fits

    transcriber = FasterWhisperTranscriber("whisper-tiny.en")
    transcript = transcriber.transcribe(
        load_audio(result.wav),
        TranscribeOptions(language="en", initial_prompt="", check_language=False),
    )
    reference = [w for cue in cues for w in words(cue.text)]
    heard = [w for segment in transcript.segments for w in words(segment.text)]
    recall = word_recall(reference, heard)

    report = result.report
    print(
        f"\ndub of a {episode.duration_ms / 1000:.1f} s episode in {dub_s:.1f} s "
        f"(synthesis {report.synthesis_s:.1f} s for {report.speech_s:.1f} s of speech, "
        f"RTF {report.real_time_factor:.3f}); {report.summary()}\n"
        f"master {result.integrated_lufs} LUFS / {result.true_peak_dbtp} dBTP "
        f"({result.normalization}); m4a {integrated} LUFS / {peak} dBTP\n"
        f"onset error ms: max {max(map(abs, errors))}, mean {sum(errors) / len(errors):.1f}\n"
        f"ASR word recall {recall:.3f} ({len(reference)} reference words)"
    )
    assert recall >= 0.7
