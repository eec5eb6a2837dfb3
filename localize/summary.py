"""The summary the CLI prints when a job ends: what was produced, where, and what needs
attention. Built from the published files (``manifest.json``, ``qc.json``), so it says
exactly what a reader of the output folder will find.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.fsutil import read_json
from localize.progress import format_duration

#: flagged lines listed per language; the rest are counted (every one is in report.html)
MAX_LINES = 6
_WIDTH = 100


@dataclass(frozen=True)
class FlaggedLine:
    """One cue that needs attention: 1-based index, start time, its flag codes (errors
    first) and the first message."""

    language: str
    index: int
    start_ms: int
    codes: tuple[str, ...]
    errors: int
    message: str


def flagged_lines(qc: Mapping[str, Any]) -> dict[str, list[FlaggedLine]]:
    """Flagged cues per language from a ``qc.json`` document, in cue order."""
    out: dict[str, list[FlaggedLine]] = {}
    for lang in qc.get("languages", []):
        cues = lang.get("cues", [])
        by_index: dict[int, list[Mapping[str, Any]]] = {}
        for flag in lang.get("flags", []):
            by_index.setdefault(int(flag["index"]), []).append(flag)
        lines = []
        for index, flags in sorted(by_index.items()):
            flags = sorted(flags, key=lambda f: f["severity"] != "error")
            start = cues[index - 1]["start_ms"] if 0 < index <= len(cues) else 0
            lines.append(
                FlaggedLine(
                    lang["language"],
                    index,
                    int(start),
                    tuple(dict.fromkeys(str(f["code"]) for f in flags)),
                    sum(f["severity"] == "error" for f in flags),
                    str(flags[0]["message"]).replace("\n", " "),
                )
            )
        if lines:
            out[lang["language"]] = lines
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _video_role(path: str, language: object) -> str:
    """What a published video is, from the names package/picture give them."""
    if path.endswith(".clean.mp4"):
        return "picture without the burned-in Chinese captions"
    if path.endswith(".burned.mp4"):
        return f"{language} subtitles burned into the picture"
    return "original picture; every audio and subtitle track"


def _files_by_kind(manifest: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    kinds: dict[str, list[Mapping[str, Any]]] = {}
    for f in manifest.get("files", []):
        kinds.setdefault(str(f.get("kind", "")), []).append(f)
    return kinds


def episode_summary(out_dir: Path | str, *, seconds: float | None = None) -> str:
    """What an episode run published in ``out_dir`` and which lines need attention."""
    out = Path(out_dir)
    manifest = read_json(out / "manifest.json")
    qc = read_json(out / "qc.json")
    where = out.absolute()  # the stable path (a symlink to the current version)
    name = f"{manifest.get('series', '?')}/{manifest.get('episode', out.name)}"
    took = f" in {format_duration(seconds)}" if seconds is not None else ""
    lines = [f"Published {name}{took} to {where}"]
    if not manifest:
        return f"{lines[0]}\n  (no manifest.json there: nothing was published)"

    kinds = _files_by_kind(manifest)
    subtitles = [f["path"] for f in kinds.get("subtitles", [])]
    rows: list[tuple[str, str]] = []
    if subtitles:
        langs = list(dict.fromkeys(str(f.get("language")) for f in kinds["subtitles"]))
        rows.append(("subtitles", f"{', '.join(subtitles)}  ({', '.join(langs)})"))
    for f in kinds.get("video", []):
        rows.append(("video", f"{f['path']}  ({_video_role(str(f['path']), f.get('language'))})"))
    if kinds.get("hls"):
        master = next((f["path"] for f in kinds["hls"] if f["path"].endswith("master.m3u8")), "")
        rows.append(("streaming", f"{master}  (HLS, {len(kinds['hls'])} files)"))
    loudness = {d.get("language"): d.get("integrated_lufs") for d in manifest.get("dubs", [])}
    for f in kinds.get("audio", []):
        lufs = loudness.get(f.get("language"))
        extra = f"  ({lufs:.1f} LUFS)" if isinstance(lufs, int | float) else ""
        rows.append(("dub", f"{f['path']}{extra}"))
    checks = [f["path"] for f in kinds.get("qc-report", [])] + ["manifest.json"]
    rows.append(("checks", f"{', '.join(checks)}  ({len(manifest.get('files', []))} files)"))
    report = out / "report.html"
    if report.is_file():
        rows.append(("report", str(report.absolute())))
    lines += [f"  {label:<10} {value}" for label, value in rows]

    lines.append("")
    if qc:
        verdict = "passes" if qc.get("ok") else "has errors"
        lines.append(
            f"QC {verdict}: {qc.get('error_count', 0)} errors, {qc.get('warning_count', 0)} "
            f"warnings over {qc.get('cue_count', 0)} cues."
        )
        flagged = flagged_lines(qc)
        cue_counts = {lang["language"]: lang.get("cue_count", 0) for lang in qc["languages"]}
        if flagged:
            lines.append("Needs attention (flagged lines):")
        for lang, items in flagged.items():
            errors = sum(1 for item in items if item.errors)
            lines.append(
                f"  {lang}: {len(items)} of {cue_counts.get(lang, '?')} lines flagged "
                f"({errors} with errors)"
            )
            for item in items[:MAX_LINES]:
                head = f"    #{item.index:<3} {format_duration(item.start_ms / 1000):>5}  "
                head += ", ".join(item.codes) + ": "
                lines.append(head + _clip(item.message, max(20, _WIDTH - len(head))))
            if len(items) > MAX_LINES:
                lines.append(f"    ... and {len(items) - MAX_LINES} more")
        if not flagged:
            lines.append("Nothing flagged.")
    review = manifest.get("review")
    if isinstance(review, Mapping):
        lines.append(
            f"Review: {review.get('decision')} by {review.get('reviewer')} "
            f"({review.get('rounds')} round(s), {review.get('edits')} edit(s))."
        )
    else:
        lines.append("Review: none (published without a review pause).")
    if report.is_file():
        lines.append(f"Every flag with what to do: {report.absolute()}")
    return "\n".join(lines)


def catalog_summary(
    out_root: Path | str,
    *,
    processed: Iterable[str],
    skipped: Iterable[str],
    failed: Mapping[str, str],
    rejected: Mapping[str, str],
    seconds: float | None = None,
    held: Mapping[str, str] | None = None,
) -> str:
    """What a catalog run did: each localized episode with its flagged lines per language
    and its report, each failure with its reason, what was refused and skipped."""
    root = Path(out_root)
    processed, skipped = list(processed), list(skipped)
    took = f" in {format_duration(seconds)}" if seconds is not None else ""
    held = held or {}
    lines = [
        f"Catalog run{took}: {len(processed)} localized, "
        + (f"{len(held)} held, " if held else "")
        + f"{len(skipped)} already up to date, {len(failed)} failed, {len(rejected)} refused. "
        f"Outputs in {root}"
    ]
    for key in processed:
        out = root / key
        qc = read_json(out / "qc.json")
        flagged = flagged_lines(qc)
        counts = ", ".join(f"{lang} {len(items)}" for lang, items in flagged.items())
        attention = f"flagged lines: {counts}" if counts else "nothing flagged"
        lines.append(f"  done    {key}: {attention}; report {out / 'report.html'}")
    for key, why in held.items():
        lines.append(f"  held    {key}: {why}")
    for key, why in failed.items():
        lines.append(f"  FAILED  {key}: {why}")
    for path, why in rejected.items():
        lines.append(f"  refused {path}: {why}")
    if failed:
        lines.append("Failed episodes are retried by the next run; fix the cause first.")
    if held:
        lines.append(
            "Held episodes (QC errors, no review) are not published: read their report, then "
            "re-run with review on or --on-qc-errors publish, or fix the cause."
        )
    return "\n".join(lines)


def model_summary(name: str, folder: Path, *, how: str) -> str:
    """``whisper-base: fetched, sha256 verified; 3 files (145 MB) in PATH``."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    size = sum(p.stat().st_size for p in files)
    return f"{name}: {how}; {len(files)} files ({size / 1e6:,.0f} MB) in {folder}"
