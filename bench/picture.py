"""Benchmark of export-ready pictures: clean masters and burned-in renditions.

    python -m bench.picture [--sample DIR] [--json bench-picture.json] [--quick]

On the 81-s 720x1280 sample episode (built unless ``--sample`` points at one): the
OCR scan that finds the captions, a clean master per method (wall time, real-time
factor, residual Chinese read back by OCR, worst-frame PSNR outside the band), x264
presets/CRF/threads on the clean master, and one burned English rendition (time,
read-back CER). On generated scenes whose background is known (still, slow pan):
the PSNR of the cleaned band against the truth per method. The default rows let the
probe encode choose the CRF (the ``crf`` column says which) and the burn its style
(outline or box, ``style``). Prints tables and writes
JSON. Budgets: inpaint <= 1.0x real time, blur/box <= 0.3x, each language <= 0.4x.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

BUDGET = {"inpaint": 1.0, "blur": 0.3, "box": 0.3, "burn": 0.4}


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (ffmpeg): a measure that
    does not depend on how busy the machine is, unlike wall time."""
    import resource

    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _sample(path: str | None, work: Path) -> Path:
    if path:
        return Path(path)
    from localize.sample import build_sample_episode

    return build_sample_episode(work / "sample").directory


def _clean_rows(
    video: Path, spans: Any, work: Path, reader: Any, quick: bool
) -> list[dict[str, Any]]:
    from localize.picture.check import check_clean
    from localize.picture.clean import clean_video
    from localize.picture.defaults import DEFAULT_CRF, DEFAULT_PRESET
    from localize.picture.frames import geometry

    # CRF None: chosen per video by the probe encode (localize.picture.crf)
    runs: list[tuple[str, str, int | None, int]] = [
        (m, DEFAULT_PRESET, None, 0) for m in ("inpaint", "blur", "box")
    ]
    if not quick:
        runs += [("box", p, DEFAULT_CRF, 0) for p in ("superfast", "faster", "medium")]
        runs += [("box", DEFAULT_PRESET, c, 0) for c in (12, 16, 18, 23)]
        runs += [("box", DEFAULT_PRESET, DEFAULT_CRF, 1)]
    duration = None
    rows = []
    for method, preset, crf, threads in runs:
        out = work / f"clean.{method}.{preset}.{crf}.{threads}.mp4"
        c0 = cpu_s()
        report = clean_video(
            video, out, method=method, spans=spans, preset=preset, crf=crf, threads=threads
        )
        cpu = cpu_s() - c0
        duration = duration or geometry(video).duration_ms / 1000
        check = check_clean(str(video), str(out), spans, reader=reader)
        rows.append(
            {
                "what": f"clean {method}",
                "preset": preset,
                "crf": report.crf if crf is None else crf,
                "threads": threads or "auto",
                "wall_s": round(report.seconds, 1),
                "rtf": round(report.seconds / duration, 3),
                "cpu_s": round(cpu, 1),
                "rtf_2_cores": round(cpu / 2 / duration, 3),
                "budget": BUDGET[method],
                "residual": round(check.residual, 4),
                "min_psnr_db": round(check.min_psnr_db, 1),
                "mb": round(out.stat().st_size / 1e6, 2),
            }
        )
        print(_row(rows[-1]), flush=True)
    return rows


def _burn_row(clean: Path, sample: Path, spans: Any, work: Path, reader: Any) -> dict[str, Any]:
    from localize.domain import Cue, CueTrack
    from localize.picture.burn import burn_subtitles
    from localize.picture.check import check_burned
    from localize.picture.frames import geometry

    lines = json.loads((sample / "ground_truth.json").read_text(encoding="utf-8"))["lines"]
    track = CueTrack("en", tuple(Cue(x["start_ms"], x["end_ms"], x["en"]) for x in lines))
    out = work / "burn.en.mp4"
    t0, c0 = time.perf_counter(), cpu_s()
    report = burn_subtitles(clean, track, out, band=spans.band)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    duration = geometry(clean).duration_ms / 1000
    check = check_burned(str(out), report, reader=reader)
    row = {
        "what": "burn en",
        "wall_s": round(seconds, 1),
        "rtf": round(seconds / duration, 3),
        "cpu_s": round(cpu, 1),
        "rtf_2_cores": round(cpu / 2 / duration, 3),
        "budget": BUDGET["burn"],
        "style": report.style_note,
        "mean_cer": round(check.mean_cer, 4),
        "cues_ok": f"{sum(c.cer <= 0.05 and c.inside_safe_area for c in check.cues)}/"
        f"{len(check.cues)}",
        # first and last frame within 1 frame of the cue times (None: not measured)
        "timed_ok": f"{sum(c.offsets.ok and c.offsets.start is not None for c in check.cues)}/"
        f"{len(check.cues)}",
        "mb": round(out.stat().st_size / 1e6, 2),
    }
    print(_row(row), flush=True)
    return row


def _scene_rows(work: Path) -> list[dict[str, Any]]:
    from localize.picture.check import band_psnr
    from localize.picture.clean import clean_video
    from tests.picture.scenes import make_scene

    rows = []
    for pan in (False, True):
        scene = make_scene(work / "scenes", pan=pan)
        row: dict[str, Any] = {
            "scene": "slow pan" if pan else "still",
            "captioned_db": round(
                band_psnr(str(scene.background), str(scene.captioned), scene.spans), 1
            ),
        }
        for method in ("inpaint", "blur", "box"):
            out = work / f"scene.{method}.mp4"
            clean_video(scene.captioned, out, method=method, spans=scene.spans)
            row[f"{method}_db"] = round(band_psnr(str(scene.background), str(out), scene.spans), 1)
        rows.append(row)
        print(_row(row), flush=True)
    return rows


def _row(row: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v}" for k, v in row.items())


def _table(rows: list[dict[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", help="folder of an existing sample episode")
    parser.add_argument("--json", default="bench-picture.json", help="where to write JSON")
    parser.add_argument("--quick", action="store_true", help="only the default settings")
    args = parser.parse_args(argv)
    from localize.ocr.engine import RapidOcrReader
    from localize.picture.clean import find_caption_spans

    reader = RapidOcrReader()
    with tempfile.TemporaryDirectory(prefix="bench-picture-") as tmp:
        work = Path(tmp)
        sample = _sample(args.sample, work)
        t0 = time.perf_counter()
        spans = find_caption_spans(sample / "episode.mp4")
        ocr_s = round(time.perf_counter() - t0, 1)
        print(f"OCR scan: {ocr_s} s, {len(spans.spans)} caption events, band {spans.band}")
        clean = _clean_rows(sample / "episode.mp4", spans, work, reader, args.quick)
        inpainted = next(work.glob("clean.inpaint.*.mp4"))
        burn = _burn_row(inpainted, sample, spans, work, reader)
        scenes = _scene_rows(work)
    print("\n" + _table(clean) + "\n\n" + _table([burn]) + "\n\n" + _table(scenes))
    result = {"ocr_s": ocr_s, "clean": clean, "burn": [burn], "scenes": scenes}
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
