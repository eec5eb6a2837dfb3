"""Local MT speed and quality, three request paths compared in one run.

    python -m bench.mt_speed [--limit N] [--paths lines,numbered,naive] [--sets episode]
                             [--json out.json]

Each path runs in its own process (so its peak memory is its own), loads the packaged
LLM once (load time excluded), then translates bench's Tatoeba set (no glossary) and
the sample episode's 18 script lines (with the sample series glossary):

- ``numbered``: the earlier default (``LLMOptions.numbered()``): 8 numbered lines per
  request under a system prompt holding the whole glossary and synopsis, through
  ``translate_cues`` (memory off, glossary retries, leftover-Chinese repair);
- ``lines``: today's default (``LLMOptions()``): one line per request with only its own
  glossary entries, no previous lines, 12 requests per ``generate_batch``, through
  the same ``translate_cues``;
- ``naive``: the fastest naive baseline on the same model: one line per request, a
  one-sentence system prompt, 12 requests per ``generate_batch``, no enforcement at all.

Printed: lines/s, BLEU (sacrebleu, as ``bench.mt_quality``), glossary adherence (required
renderings kept / required), lines with Chinese left, peak RSS while translating (loading the
model peaks higher, the same for every path: `load_peak_rss_mb` in the JSON); JSON has
every output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.mt_quality import load_pairs, score
from bench.procmon import own_peak_mb
from bench.run import machine

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_JSON = BENCH_DIR / "results" / "mt_speed.json"
GLOSSARY = BENCH_DIR.parent / "glossaries" / "ceo-contract-bride.toml"
PATHS = ("numbered", "naive", "lines")
NAIVE_SYSTEM = "Translate the Chinese subtitle into English. Reply with the translation only."


SETS = ("tatoeba", "episode")


def _sets(
    limit: int | None, names: Sequence[str] = SETS
) -> dict[str, tuple[list[str], list[str], bool]]:
    """name -> (Chinese lines, English references, with the glossary), for ``names``."""
    from localize.sample.script import SCRIPT

    pairs = load_pairs(limit=limit)
    script = SCRIPT.lines[:limit] if limit else SCRIPT.lines
    every = {
        "tatoeba": ([p.zh for p in pairs], [p.en for p in pairs], False),
        "episode": ([s.zh for s in script], [s.en for s in script], True),
    }
    return {name: every[name] for name in names}


def _naive(translator: Any, lines: Sequence[str]) -> list[str]:
    """One line per request, 12 per call, a minimal prompt, nothing checked."""
    from localize.translate.chat import _clean_single, balanced_split

    out: list[str] = []
    for group in balanced_split(list(lines), 12):
        out += translator._generate(NAIVE_SYSTEM, group, [76] * len(group))
    return [_clean_single(reply) for reply in out]


def _enforced(translator: Any, lines: Sequence[str], glossary: Any) -> list[str]:
    from localize.domain import Cue, CueTrack
    from localize.translate.enforce import translate_cues

    track = CueTrack(
        "zh-Hans", tuple(Cue(i * 3000, i * 3000 + 2500, t) for i, t in enumerate(lines))
    )
    _, outcomes = translate_cues(track, translator, target="en", glossary=glossary)
    return [o.translation for o in outcomes]


def _adherence(glossary: Any, sources: Sequence[str], outputs: Sequence[str]) -> tuple[int, int]:
    """(required renderings kept, required renderings) over the lines."""
    kept = required = 0
    for src, out in zip(sources, outputs, strict=True):
        need = glossary.required_renderings(src, "en")
        broken = len(glossary.check_adherence(src, out, "en"))
        required += len(need)
        kept += max(0, len(need) - broken)
    return kept, required


def _reset_peak() -> None:
    """Start VmHWM again from the current resident size (Linux clear_refs 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def worker(path: str, limit: int | None, sets: Sequence[str] = SETS) -> dict[str, Any]:
    """Run one path over both sets in this process; one JSON-able dict."""
    from localize.glossary import load_glossary
    from localize.translate.enforce import leftover_source_script
    from localize.translate.llm import LLMOptions, LLMTranslator

    glossary = load_glossary(GLOSSARY)
    options = LLMOptions.numbered() if path == "numbered" else LLMOptions()
    t0 = time.perf_counter()
    translator = LLMTranslator(options=options)
    result: dict[str, Any] = {"path": path, "load_s": round(time.perf_counter() - t0, 2)}
    result["load_peak_rss_mb"] = own_peak_mb()  # loading peaks above translating
    _reset_peak()
    for name, (sources, references, with_glossary) in _sets(limit, sets).items():
        t0, cpu0 = time.perf_counter(), time.process_time()
        if path == "naive":
            outputs = _naive(translator, sources)
        else:
            outputs = _enforced(translator, sources, glossary if with_glossary else None)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        kept, required = _adherence(glossary, sources, outputs) if with_glossary else (0, 0)
        result[name] = {
            "lines": len(sources),
            "seconds": round(seconds, 2),
            "lines_per_s": round(len(sources) / seconds, 3),
            # CPU time of this process: less sensitive than wall time to other jobs
            # sharing the cores (it still counts threads waiting for a core to sync)
            "cpu_s_per_line": round(cpu / len(sources), 3),
            "bleu": round(score(outputs, references).bleu, 2),
            "glossary_kept": kept,
            "glossary_required": required,
            "han_lines": sum(leftover_source_script(o, "en") for o in outputs),
            "outputs": outputs,
        }
    result["peak_rss_mb"] = own_peak_mb()  # while translating (after the reset)
    return result


def run_path(path: str, limit: int | None, sets: Sequence[str] = SETS) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.mt_speed", "--worker", path, "--sets", ",".join(sets)]
    if limit:
        cmd += ["--limit", str(limit)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"path {path} failed:\n{proc.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def format_table(results: Sequence[dict[str, Any]]) -> str:
    base = next((r for r in results if r["path"] == "numbered"), None)
    head = (
        "path", "set", "lines/s", "x numbered", "CPU s/line", "BLEU", "glossary", "Han lines",
        "peak RSS MB",
    )  # fmt: skip
    rows = [head]
    for r in results:
        for name in (n for n in SETS if n in r):
            m = r[name]
            ratio = m["lines_per_s"] / base[name]["lines_per_s"] if base else float("nan")
            glossary = (
                f"{m['glossary_kept']}/{m['glossary_required']}" if m["glossary_required"] else "-"
            )
            rows.append(
                (
                    r["path"],
                    name,
                    f"{m['lines_per_s']:.2f}",
                    f"{ratio:.2f}",
                    f"{m['cpu_s_per_line']:.2f}" if "cpu_s_per_line" in m else "-",
                    f"{m['bleu']:.1f}",
                    glossary,
                    str(m["han_lines"]),
                    f"{r['peak_rss_mb']:.0f}",
                )
            )
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mt_speed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--limit", type=int, default=None, help="first N lines of each set")
    parser.add_argument(
        "--paths", default="numbered,naive,lines", help="comma-separated, run in this order"
    )
    parser.add_argument(
        "--sets", default=",".join(SETS), help="comma-separated: tatoeba, episode (default both)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sets = [name for name in args.sets.split(",") if name]
    unknown = sorted(set(sets) - set(SETS))
    if unknown:
        parser.error(f"unknown set(s) {unknown}: choose from {', '.join(SETS)}")
    if args.worker:
        print(json.dumps(worker(args.worker, args.limit, sets), ensure_ascii=False))
        return 0
    results = [run_path(p, args.limit, sets) for p in args.paths.split(",")]
    print(format_table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "results": results}
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
