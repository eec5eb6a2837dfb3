"""One benchmark stage per process (so peak memory is the stage's own).

Run by ``bench.run``; each stage reads what earlier stages left in the work folder,
writes its own output there, and prints one JSON line of measurements.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from localize.domain import Cue, CueTrack


def _load(work: Path, name: str) -> Any:
    with open(work / f"{name}.pkl", "rb") as fh:
        return pickle.load(fh)


def _save(work: Path, name: str, value: Any) -> None:
    with open(work / f"{name}.pkl", "wb") as fh:
        pickle.dump(value, fh)


def _truth(work: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((work / "sample" / "ground_truth.json").read_text())
    return data


def stage_decode(work: Path) -> dict[str, Any]:
    from localize.media import load_audio

    audio = load_audio(work / "sample" / "episode.mp4")
    return {"audio_s": round(len(audio) / 16000, 2)}


def stage_asr(work: Path) -> dict[str, Any]:
    from localize.glossary import load_glossary
    from localize.metrics import boundary_errors, character_error_rate
    from localize.pipeline import asr_options
    from localize.transcribe import FasterWhisperTranscriber, transcribe_file

    glossary = load_glossary(Path("glossaries/ceo-contract-bride.toml"))
    t0 = time.perf_counter()
    transcriber = FasterWhisperTranscriber("whisper-base")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    transcript = transcribe_file(
        work / "sample" / "episode.mp4", transcriber, asr_options(glossary)
    )
    asr_s = time.perf_counter() - t0
    _save(work, "transcript", transcript)
    truth = _truth(work)
    reference = "".join(line["zh"] for line in truth["lines"])
    spans = [(line["start_ms"], line["end_ms"]) for line in truth["lines"]]
    errors = boundary_errors(spans, [(s.start_ms, s.end_ms) for s in transcript.segments])
    within = sum(1 for e in errors if e and abs(e[0]) <= 300 and abs(e[1]) <= 300)
    audio_s = transcript.duration_ms / 1000
    return {
        "model": transcriber.model_id,
        "model_load_s": round(load_s, 2),
        "asr_s": round(asr_s, 2),
        "rtf": round(asr_s / audio_s, 3),
        "x_real_time": round(audio_s / asr_s, 1),
        "cer": round(character_error_rate(reference, transcript.text), 3),
        "segments": len(transcript.segments),
        "lines_within_300ms": f"{within}/{len(spans)}",
    }


def stage_ocr(work: Path) -> dict[str, Any]:
    from localize.ocr import benchmark

    return benchmark(work / "sample" / "episode.mp4")


def stage_segment(work: Path) -> dict[str, Any]:
    from localize.metrics import boundary_errors
    from localize.segment import load_style_profile, segment_transcript

    transcript = _load(work, "transcript")
    t0 = time.perf_counter()
    track = segment_transcript(transcript, load_style_profile("zh-Hans"))
    seconds = time.perf_counter() - t0
    _save(work, "zh", track)
    truth = _truth(work)
    spans = [(line["start_ms"], line["end_ms"]) for line in truth["lines"]]
    errors = boundary_errors(spans, [(c.start_ms, c.end_ms) for c in track.cues])
    within = sum(1 for e in errors if e and abs(e[0]) <= 300 and abs(e[1]) <= 300)
    return {
        "cues": len(track.cues),
        "segment_s": round(seconds, 4),
        "cue_lines_within_300ms": f"{within}/{len(spans)}",
    }


def stage_translate(work: Path) -> dict[str, Any]:
    from localize.glossary import load_glossary
    from localize.qc import glossary_adherence
    from localize.translate.enforce import translate_cues
    from localize.translate.llm import LLMTranslator

    glossary = load_glossary(Path("glossaries/ceo-contract-bride.toml"))
    truth = _truth(work)
    # the true Chinese lines: MT throughput and glossary adherence without ASR noise
    source = CueTrack(
        "zh-Hans",
        tuple(Cue(line["start_ms"], line["end_ms"], line["zh"]) for line in truth["lines"]),
    )
    t0 = time.perf_counter()
    translator = LLMTranslator()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    track, outcomes = translate_cues(source, translator, target="en", glossary=glossary)
    seconds = time.perf_counter() - t0
    _save(work, "en", track)
    return {
        "model": translator.model_id,
        "model_load_s": round(load_s, 2),
        "lines": len(outcomes),
        "translate_s": round(seconds, 1),
        "lines_per_s": round(len(outcomes) / seconds, 2),
        "retried_lines": sum(o.attempts > 1 for o in outcomes),
        "flagged_lines": sum(bool(o.problems) for o in outcomes),
        "glossary_adherence": round(glossary_adherence(track, glossary, "en"), 3),
    }


def stage_qc(work: Path) -> dict[str, Any]:
    from localize.glossary import load_glossary
    from localize.qc import build_report

    glossary = load_glossary(Path("glossaries/ceo-contract-bride.toml"))
    zh, en = _load(work, "zh"), _load(work, "en")
    t0 = time.perf_counter()
    report = build_report({"zh-Hans": zh, "en": en}, glossary=glossary)
    seconds = time.perf_counter() - t0
    _save(work, "qc", report)
    return {
        "qc_s": round(seconds, 4),
        "errors": report.error_count,
        "warnings": report.warning_count,
    }


def stage_package(work: Path) -> dict[str, Any]:
    from localize.package import publish_episode

    zh, en, report = _load(work, "zh"), _load(work, "en"), _load(work, "qc")
    t0 = time.perf_counter()
    manifest = publish_episode(
        work / "out" / "episode",
        series="ceo-contract-bride",
        episode="episode",
        source=zh,
        targets={"en": en},
        qc_json=report.to_json(),
    )
    return {"package_s": round(time.perf_counter() - t0, 3), "files": len(manifest.files)}


def peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM), or its children's if larger (ffmpeg)."""
    import resource

    own = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) // 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return max(own, children)


def stage_dub(work: Path) -> dict[str, Any]:
    from localize.dub import assign_voices, create_synthesizer, dub_track
    from localize.glossary import load_glossary

    glossary = load_glossary(Path("glossaries/ceo-contract-bride.toml"))
    truth = _truth(work)
    # the reference English at the true speech spans: dub timing without MT noise
    track = CueTrack(
        "en",
        tuple(
            Cue(line["start_ms"], line["end_ms"], line["en"], speaker=line["speaker"])
            for line in truth["lines"]
        ),
    )
    t0 = time.perf_counter()
    tts = create_synthesizer("piper")
    voices = assign_voices(glossary, "en", synthesizer=tts)
    result = dub_track(
        track,
        synthesizer=tts,
        voices=voices,
        bed=work / "sample" / "music.wav",
        original_audio=None,
        duration_ms=truth["duration_ms"],
        out_dir=work / "dub-en",
    )
    elapsed = time.perf_counter() - t0
    report = result.report
    return {
        "dub_s": round(elapsed, 1),
        "synthesis_rtf": round(report.real_time_factor, 3),
        "lines": len(result.clips),
        "stretched": len(report.stretched),
        "flagged": len(report.flagged),
        "lufs": round(result.integrated_lufs, 1),
        "true_peak_dbtp": round(result.true_peak_dbtp, 1),
    }


STAGES = {
    "decode": stage_decode,
    "asr": stage_asr,
    "ocr": stage_ocr,
    "segment": stage_segment,
    "translate": stage_translate,
    "qc": stage_qc,
    "dub": stage_dub,
    "package": stage_package,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--work", required=True)
    args = parser.parse_args(argv)
    result = STAGES[args.stage](Path(args.work))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
