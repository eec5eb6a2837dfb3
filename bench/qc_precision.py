"""QC flag precision benchmark: do the flags point at real problems, and how many cues get one?

For each episode (a folder with ``episode.mp4`` and ``ground_truth.json``, as written by
``localize sample``) it runs the subtitle half of the episode flow in the library: OCR
of the burned-in captions, speech recognition (real Whisper, or none, as when it failed or
was refused), fusion, translation, timing repairs (off, then on) and QC, then judges every
flag against the truth with :func:`localize.flag_precision.judge_report`.

Translation uses the *reference translator* by default: a line read right gets the
truth's translation, a misread line stays Chinese. QC's timing and layout flags are then
measured apart from machine-translation quality; ``--mt llm`` uses the real model (its
rewordings count as real problems for the content checks, see the judge's docstring).

Run from the repository root::

    .venv/bin/python -m bench.qc_precision                         # the sample episode
    .venv/bin/python -m bench.qc_precision --asr none              # speech refused
    .venv/bin/python -m bench.qc_precision EP_DIR EP_DIR ...       # a list of episodes

It prints one row per episode, repairs setting and language (cues, flagged cues and their
share, flags, real flags, precision, source-conflict flags, repairs), the Chinese CER of
the OCR-only and fused tracks, and whether the targets hold (at most 10% of cues flagged
on clean episodes, at least 90% of flags real, no source-conflict without speech). The
same figures go to JSON (default ``bench/results/qc_precision.json``) with every false
alarm, to read. OCR and speech results are cached under ``bench/results/qc-precision-work``.

``ground_truth.json`` needs ``lines``, each with ``caption`` (or ``zh``/``text``), the
caption's times ``caption_start_ms``/``caption_end_ms`` (or ``start_ms``/``end_ms``) and
the reference translations by language code (``en``); ``"clean": false`` at the top
marks an episode the 10% target does not apply to. ``--split-every N`` also judges each
episode with every N-th caption split into a 280 ms fragment and the rest (the OCR slip
of busy scenery), which is what the timing repairs are for.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.domain import CueTrack, Transcript
from localize.flag_precision import FlagJudgement, TruthLine, judge_report
from localize.metrics import character_error_rate
from localize.translate.base import TranslationContext

__all__ = ["ReferenceTranslator", "load_truth", "main", "run_episode"]

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_JSON = BENCH_DIR / "results" / "qc_precision.json"
WORK = BENCH_DIR / "results" / "qc-precision-work"
TARGET_FLAGGED_SHARE = 0.10
TARGET_PRECISION = 0.90


def load_truth(path: Path) -> tuple[list[TruthLine], bool]:
    """The true captions of an episode and whether it is a clean case."""
    data = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for line in data["lines"]:
        text = line.get("caption") or line.get("zh") or line.get("text") or ""
        start = line.get("caption_start_ms", line.get("start_ms"))
        end = line.get("caption_end_ms", line.get("end_ms"))
        extra = {k: v for k, v in line.items() if k in ("en", "es", "pt-BR", "id", "vi", "th")}
        lines.append(TruthLine(int(start), int(end), str(text), extra))
    return lines, bool(data.get("clean", True))


@dataclass
class ReferenceTranslator:
    """Translates a line read right (CER <= 0.1 against a true caption) to the truth's
    reference translation and leaves any other line in Chinese (a real problem)."""

    truth: Sequence[TruthLine]
    model_id: str = "reference"
    follows_instructions: bool = True

    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]:
        return [self._one(line, target) for line in lines]

    def _one(self, line: str, target: str) -> str:
        best = min(self.truth, key=lambda t: character_error_rate(t.zh, line), default=None)
        if best is None or character_error_rate(best.zh, line) > 0.1:
            return line
        return best.translations.get(target, line)


def _cached(name: str, key: str, make: Any) -> Any:
    path = WORK / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def _recognise(
    video: Path, asr: str, series: str
) -> tuple[Any, tuple[CueTrack, Transcript] | None]:
    from localize.glossary import load_glossary
    from localize.ocr import ocr_video
    from localize.pipeline import transcribe_to_cues
    from localize.series import resolve_glossary_path

    stamp = f"{video.resolve()}:{video.stat().st_size}:{video.stat().st_mtime_ns}"
    ocr = _cached("ocr", stamp, lambda: ocr_video(video))
    if asr == "none":
        return ocr, None
    glossary = load_glossary(resolve_glossary_path(series))
    speech = _cached(
        f"asr-{asr}", stamp, lambda: transcribe_to_cues(video, glossary=glossary, model=asr)
    )
    return ocr, speech


def split_captions(ocr: Any, every: int) -> Any:
    """``ocr`` with every ``every``-th caption read as two cues: a 280 ms fragment, then
    the rest 40 ms later, same text (what OCR did on busy scenery before it was fixed)."""
    from dataclasses import replace

    cues, events = [], []
    for n, (cue, event) in enumerate(zip(ocr.track.cues, ocr.events, strict=True), 1):
        if every and n % every == 0 and cue.duration_ms > 1500:
            cues += [
                replace(cue, end_ms=cue.start_ms + 280),
                replace(cue, start_ms=cue.start_ms + 320),
            ]
            events += [
                replace(event, end_ms=cue.start_ms + 280),
                replace(event, start_ms=cue.start_ms + 320),
            ]
        else:
            cues.append(cue)
            events.append(event)
    return replace(ocr, track=replace(ocr.track, cues=tuple(cues)), events=tuple(events))


def run_episode(
    folder: Path,
    *,
    asr: str = "whisper-base",
    mt: str = "reference",
    series: str,
    split_every: int = 0,
) -> dict[str, Any]:
    """Judge QC on one episode, with timing repairs off and on."""
    from localize.glossary import load_glossary
    from localize.pipeline import choose_source, repair_episode_timing
    from localize.qc import build_report
    from localize.series import resolve_glossary_path
    from localize.translate import create_translator
    from localize.translate.enforce import translate_cues

    truth, clean = load_truth(folder / "ground_truth.json")
    ocr, speech = _recognise(folder / "episode.mp4", asr, series)
    if split_every:
        ocr = split_captions(ocr, split_every)
    choice = choose_source("fused", asr=speech, ocr=ocr)
    glossary = load_glossary(resolve_glossary_path(series))
    translator = ReferenceTranslator(truth) if mt == "reference" else create_translator(mt)
    languages = sorted({lang for line in truth for lang in line.translations}) or ["en"]
    translated = {
        lang: translate_cues(choice.track, translator, target=lang, glossary=glossary)
        for lang in languages
    }
    reference = "".join(line.zh for line in truth)
    row: dict[str, Any] = {
        "episode": folder.name + (f"/split{split_every}" if split_every else ""),
        "clean": clean,
        "asr": asr,
        "mt": mt,
        "source": choice.origin,
        "cer_ocr": round(character_error_rate(reference, _text(ocr.track)), 4),
        "cer_fused": round(character_error_rate(reference, _text(choice.track)), 4),
        "runs": {},
    }
    for repairs in (False, True):
        timed = repair_episode_timing(
            choice.track,
            {lang: track for lang, (track, _) in translated.items()},
            {lang: outcomes for lang, (_, outcomes) in translated.items()},
            {choice.track.language: list(choice.flags)},
            media_duration_ms=ocr.duration_ms or None,
            enabled=repairs,
        )
        report = build_report(
            {choice.track.language: timed.source, **timed.targets},
            source=timed.source,
            glossary=glossary,
            media_duration_ms=ocr.duration_ms or None,
            outcomes=timed.outcomes,
            extra_flags=timed.flags,
            timing_repairs=timed.repairs,
        )
        judged = judge_report(report, truth)
        row["runs"]["on" if repairs else "off"] = _summary(judged, report, len(timed.repairs))
    return row


def _text(track: CueTrack) -> str:
    return "".join(c.text for c in track.cues)


def _summary(judged: FlagJudgement, report: Any, repairs: int) -> dict[str, Any]:
    return {
        "repairs": repairs,
        "precision": round(judged.precision, 4),
        "flagged_share": round(judged.flagged_share, 4),
        "source_conflicts": sum(f.code == "source-conflict" for f in report.flags),
        "languages": {
            j.language: {
                "cues": j.cues,
                "flagged_cues": j.flagged_cues,
                "flagged_share": round(j.flagged_share, 4),
                "flags": j.flags,
                "real_flags": j.real_flags,
                "precision": round(j.precision, 4),
                "by_code": j.by_code,
                "false_alarms": [list(f) for f in j.false_alarms],
            }
            for j in judged.languages
        },
    }


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    head = (
        f"{'episode':<14}{'asr':<14}{'repairs':<8}{'lang':<8}{'cues':>5}{'flagged':>8}"
        f"{'share':>7}{'flags':>6}{'real':>5}{'prec.':>7}{'conflicts':>10}{'fixes':>6}"
    )
    out = [head, "-" * len(head)]
    for row in rows:
        for setting, run in row["runs"].items():
            for lang, j in run["languages"].items():
                out.append(
                    f"{row['episode'][:13]:<14}{row['asr'][:13]:<14}{setting:<8}{lang:<8}"
                    f"{j['cues']:>5}{j['flagged_cues']:>8}{j['flagged_share']:>7.0%}"
                    f"{j['flags']:>6}{j['real_flags']:>5}{j['precision']:>7.0%}"
                    f"{run['source_conflicts'] if lang.startswith('zh') else '':>10}"
                    f"{run['repairs'] if lang.startswith('zh') else '':>6}"
                )
        out.append(f"  Chinese CER: OCR only {row['cer_ocr']:.4f}, fused {row['cer_fused']:.4f}")
    return "\n".join(out)


def targets(rows: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    """The issue's targets, with timing repairs on."""
    on = [(row, row["runs"]["on"]) for row in rows]
    return {
        "at most 10% of cues flagged (clean episodes, each language)": all(
            lang["flagged_share"] <= TARGET_FLAGGED_SHARE
            for row, run in on
            if row["clean"]
            for lang in run["languages"].values()
        ),
        "at least 90% of flags real": all(run["precision"] >= TARGET_PRECISION for _, run in on),
        "no source-conflict without speech": all(
            run["source_conflicts"] == 0 for row, run in on if row["asr"] == "none"
        ),
        "fused CER <= OCR-only CER": all(row["cer_fused"] <= row["cer_ocr"] for row, _ in on),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("episodes", nargs="*", type=Path, help="episode folders (default: sample)")
    parser.add_argument("--asr", default="whisper-base", help="speech model, or 'none'")
    parser.add_argument("--mt", default="reference", help="'reference' or a backend (llm)")
    parser.add_argument("--series", default="ceo-contract-bride")
    parser.add_argument(
        "--split-every",
        type=int,
        default=0,
        help="also judge each episode with every N-th caption split in two (OCR slips)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    folders = list(args.episodes)
    if not folders:
        from localize.sample import build_sample_episode

        sample = WORK / "sample"
        if not (sample / "ground_truth.json").is_file():
            build_sample_episode(sample)
        folders = [sample]
    splits = [0, args.split_every] if args.split_every else [0]
    rows = [
        run_episode(f, asr=args.asr, mt=args.mt, series=args.series, split_every=n)
        for f in folders
        for n in splits
    ]
    print(_table(rows))
    met = targets(rows)
    for name, ok in met.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"episodes": rows, "targets": met}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
