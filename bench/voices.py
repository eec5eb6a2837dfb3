"""Benchmark of per-character dubbing: Kokoro speed, speaker attribution, the dub heard.

    python -m bench.voices [--json bench-voices.json] [--rank VOICE...]

A 2-episode series from the sample (seed 0 and 1: the same five espeak-ng voices, other
gaps, over music). Episode 1's speakers are confirmed (the ground truth, as a reviewer
would) and fill the series voice bank; episode 2 is attributed from its soundtrack
(clusters alone: purity; with the bank: accuracy), then dubbed into English with Kokoro
and the series cast (reference English text). Measured: Kokoro load time and synthesis
RTF, attribution time / real time, distinct voices and gender match, loudness, and the
share of English words whisper-tiny.en recovers from the mixed dub (the cast before and
after the clarity ranking in one run; also without the pinyin names, and per voice).
``--rank`` instead dubs the episode in each given voice alone and prints its recall (the
ranking the casting order uses). Prints a table and
writes JSON. Targets: attribution >= 0.9, RTF <= 0.5, attribution <= 0.1x real time,
>= 3 voices, recall >= 0.85, -16 LUFS +-1, <= -1 dBTP.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def _recall(reference: list[str], heard: list[str]) -> float:
    found = Counter(heard)
    return sum(min(n, found[w]) for w, n in Counter(reference).items()) / len(reference)


def _rtf_pair(texts: list[str], kokoro: Any, work: Path) -> tuple[float, float]:
    """Kokoro's and piper joe's synthesis RTF on the same lines, interleaved line by
    line so both see the same machine load (their ratio is what to compare)."""
    from localize.dub.synth import PiperSynthesizer

    piper = PiperSynthesizer()
    piper.synthesize("Hello.", "", work / "warm-piper.wav")
    spent = {"kokoro": [0.0, 0.0], "piper": [0.0, 0.0]}
    for i, text in enumerate(texts):
        for name, tts, voice in (("kokoro", kokoro, "af_heart"), ("piper", piper, "")):
            r = tts.synthesize(text, voice, work / f"rtf-{name}-{i}.wav")
            spent[name][0] += r.elapsed_s
            spent[name][1] += r.duration_ms / 1000
    return spent["kokoro"][0] / spent["kokoro"][1], spent["piper"][0] / spent["piper"][1]


#: the sample's Chinese names in pinyin: whisper-tiny.en spells them as English
#: ("Gu" -> "goo", "Lin" -> "Lynn"); recall without them is shown beside the target's
_NAMES = {"gu", "lin", "wan", "wanwan", "su", "man", "yanshen", "chen"}


def _heard_timed(wav: Path, asr: Any) -> list[tuple[float, str]]:
    """(time ms, word) of every word whisper-tiny.en hears in ``wav``: the one
    measurement every recall here uses (same model, options and normalisation)."""
    from localize.media import load_audio
    from localize.transcribe import TranscribeOptions

    options = TranscribeOptions(language="en", initial_prompt="", check_language=False)
    transcript = asr.transcribe(load_audio(wav), options)
    return [((w.start_ms + w.end_ms) / 2, word) for s in transcript.segments for w in s.words
            for word in _words(w.text)]  # fmt: skip


def _heard(wav: Path, asr: Any) -> list[str]:
    return [w for _, w in _heard_timed(wav, asr)]


def _recall_by_voice(
    track: Any, clips: Any, voice_of: list[str], heard: list[tuple[float, str]]
) -> dict[str, float]:
    """Recall per voice: each heard word goes to the line whose span (the cue's start to
    its clip's end, +-300 ms) holds it, else the nearest line."""
    spans = [(c.start_ms - 300, clip.end_ms + 300) for c, clip in zip(track.cues, clips,
                                                                     strict=True)]  # fmt: skip
    per_line: list[list[str]] = [[] for _ in spans]
    for ms, word in heard:
        i = min(range(len(spans)), key=lambda k: max(spans[k][0] - ms, ms - spans[k][1], 0))
        per_line[i].append(word)
    found: dict[str, list[int]] = {}
    for cue, words, voice in zip(track.cues, per_line, voice_of, strict=True):
        ref = _words(cue.text)
        got = Counter(words)
        hit = sum(min(n, got[w]) for w, n in Counter(ref).items())
        total = found.setdefault(voice, [0, 0])
        total[0] += hit
        total[1] += len(ref)
    return {v: round(h / n, 3) for v, (h, n) in sorted(found.items())}


def _measure_dub(track: Any, result: Any, voices: Any, asr: Any) -> dict[str, Any]:
    """Word recall of the mixed dub: all words (the target), without the names, per voice."""
    heard = _heard_timed(result.wav, asr)
    words = [w for _, w in heard]
    reference = [w for c in track.cues for w in _words(c.text)]
    plain = [w for w in reference if w not in _NAMES]
    voice_of = [voices.get(c.speaker, voices["*"]).voice for c in track.cues]
    return {
        "recall": round(_recall(reference, words), 3),
        "recall_without_names": round(_recall(plain, words), 3),
        "recall_by_voice": _recall_by_voice(track, result.clips, voice_of, heard),
    }


def rank_voices(work: Path, voices: list[str]) -> dict[str, float]:
    """Word recall of the episode-2 English dub spoken entirely by each voice, over the
    music bed (the casting order's clarity ranking comes from this)."""
    from localize.domain import Cue, CueTrack
    from localize.dub import VoiceRef, dub_track
    from localize.dub.synth import KokoroSynthesizer
    from localize.sample import build_sample_episode
    from localize.transcribe import FasterWhisperTranscriber

    episode = build_sample_episode(work / "ep1", seed=1)
    truth = json.loads(episode.ground_truth.read_text(encoding="utf-8"))["lines"]
    track = CueTrack("en", tuple(Cue(x["start_ms"], x["end_ms"], x["en"]) for x in truth))
    reference = [w for c in track.cues for w in _words(c.text)]
    tts, asr = KokoroSynthesizer(), FasterWhisperTranscriber("whisper-tiny.en")
    recalls: dict[str, float] = {}
    for voice in voices:
        result = dub_track(track, synthesizer=tts, voices={"*": VoiceRef(voice, "en")},
                           bed=episode.music, duration_ms=episode.duration_ms,
                           out_dir=work / f"rank-{voice}")  # fmt: skip
        recalls[voice] = round(_recall(reference, _heard(result.wav, asr)), 3)
        print(f"{voice:14} {recalls[voice]}", flush=True)
    return recalls


def run(work: Path) -> dict[str, Any]:
    from localize.domain import Cue, CueTrack
    from localize.dub import dub_track
    from localize.dub.cast import dub_lines, series_cast
    from localize.dub.synth import KokoroSynthesizer, kokoro_voice_info
    from localize.glossary import load_glossary
    from localize.media import load_audio
    from localize.sample import build_sample_episode
    from localize.speakers import DVectorEmbedder, attribute_track, learn_speakers
    from localize.transcribe import FasterWhisperTranscriber

    os.environ["LOCALIZE_DATA"] = str(work / "data")
    glossary = load_glossary(Path(__file__).resolve().parent.parent / "glossaries" /
                             "ceo-contract-bride.toml")  # fmt: skip
    series = glossary.series.id
    episodes = [build_sample_episode(work / f"ep{seed}", seed=seed) for seed in (0, 1)]
    truths = [json.loads(e.ground_truth.read_text(encoding="utf-8"))["lines"] for e in episodes]
    embedder = DVectorEmbedder()
    tts = KokoroSynthesizer()
    cast = series_cast(glossary, "en", tts)
    zh_of = {"lin_wan": "林晚", "gu_yanshen": "顾言深", "su_man": "苏曼",
             "secretary_chen": "陈秘书", "madam_gu": "顾老夫人"}  # fmt: skip
    first = CueTrack("en", tuple(Cue(x["start_ms"], x["end_ms"], x["en"], speaker=x["speaker"])
                                 for x in truths[0]))  # fmt: skip
    learn_speakers(first, episodes[0].video, series, embedder=embedder,
                   canonical=lambda s: zh_of.get(s))  # fmt: skip

    episode, truth = episodes[1], truths[1]
    track = CueTrack("en", tuple(Cue(x["start_ms"], x["end_ms"], x["en"]) for x in truth))
    audio = load_audio(episode.video)
    embedder.embed(audio[:16000])  # load the model outside the timing
    started = time.perf_counter()
    alone, _ = attribute_track(track, audio, "no-bank-" + series, embedder=embedder)
    attribution_s = time.perf_counter() - started
    named, anonymous = attribute_track(track, audio, series, embedder=embedder)
    wanted = [zh_of[x["speaker"]] for x in truth]
    accuracy = sum(c.speaker == w for c, w in zip(named.cues, wanted, strict=True)) / len(truth)
    groups: dict[str, Counter[str]] = {}
    for cue, w in zip(alone.cues, wanted, strict=True):
        groups.setdefault(str(cue.speaker), Counter())[w] += 1
    purity = sum(g.most_common(1)[0][1] for g in groups.values()) / len(truth)

    started = time.perf_counter()
    tts.synthesize("Hello.", "af_heart", work / "warm.wav")
    first_call_s = time.perf_counter() - started
    asr = FasterWhisperTranscriber("whisper-tiny.en")
    # before: the cast order of 2026-12-05 01:00 (its third woman af_nicole, a whisper)
    before_cast = series_cast(glossary, "en", tts, pins={"Madam Gu": "af_nicole"}, save=False)
    heard: dict[str, dict[str, Any]] = {}
    for name, chosen in (("before", before_cast), ("after", cast)):
        voice_map = chosen.voices(glossary, anonymous, tts)
        result = dub_track(
            named, synthesizer=tts, voices=voice_map, bed=episode.music,
            duration_ms=episode.duration_ms, out_dir=work / f"dub-{name}",
        )  # fmt: skip
        heard[name] = _measure_dub(named, result, voice_map, asr)
    lines = dub_lines(result.clips, named, cast)
    voices = {line.voice for line in lines}
    gender_ok = all(
        (info := kokoro_voice_info(m.voice)) is not None and info.gender == m.gender
        for m in cast.members
    )
    seconds = episode.duration_ms / 1000
    kokoro_rtf, piper_rtf = _rtf_pair([c.text for c in track.cues], tts, work)
    return {
        "kokoro_rtf_interleaved": round(kokoro_rtf, 3),
        "piper_rtf_interleaved": round(piper_rtf, 3),
        "kokoro_over_piper": round(kokoro_rtf / piper_rtf, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "episode_s": seconds,
        "kokoro_load_s": round(tts.load_s, 2),
        "kokoro_first_line_s": round(first_call_s, 2),
        "kokoro_rtf_in_dub": round(result.report.real_time_factor, 3),
        "attribution_s": round(attribution_s, 2),
        "attribution_x_realtime": round(attribution_s / seconds, 3),
        "cluster_purity": round(purity, 3),
        "attribution_accuracy_with_bank": round(accuracy, 3),
        "distinct_voices": len(voices),
        "gender_matched": gender_ok,
        "integrated_lufs": result.integrated_lufs,
        "true_peak_dbtp": result.true_peak_dbtp,
        "asr_word_recall": heard["after"]["recall"],
        "asr_word_recall_before": heard["before"]["recall"],
        "asr_recall_without_names": heard["after"]["recall_without_names"],
        "asr_recall_without_names_before": heard["before"]["recall_without_names"],
        "asr_recall_by_voice": heard["after"]["recall_by_voice"],
        "asr_recall_by_voice_before": heard["before"]["recall_by_voice"],
        "cast": {m.name: m.voice for m in cast.members},
        "flagged_lines": len(result.report.flagged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench-voices.json")
    parser.add_argument("--rank", nargs="+", metavar="VOICE",
                        help="only rank these Kokoro voices by word recall (one voice "
                             "speaks the whole episode over the bed)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-voices-") as tmp:
        row = rank_voices(Path(tmp), args.rank) if args.rank else run(Path(tmp))
    for key, value in row.items():
        print(f"{key:34} {value}")
    Path(args.json).write_text(json.dumps(row, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
