"""Benchmark the pipeline stage by stage on the sample episode; print a table, write JSON.

    .venv/bin/python -m bench.run [--stages asr,translate] [--out bench/results/stages.json]

Each stage runs in its own process: wall time, CPU time and peak memory (max RSS) are
that stage's alone. Models must be prepared (scripts/setup.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.stages import STAGES


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_stage_measured(stage: str, work: Path) -> dict[str, Any]:
    """Like run_stage, with the child's own CPU time and peak RSS from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.stages", stage, "--work", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    # CPU time from wait4 (the stage and its children); peak memory from the stage
    # itself (VmHWM), since ru_maxrss survives exec and would show the parent's
    result.update(wall_s=round(wall, 2), cpu_s=round(usage.ru_utime + usage.ru_stime, 2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages")
    parser.add_argument("--work", default="bench/results/work")
    parser.add_argument("--out", default="bench/results/stages.json")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "sample" / "episode.mp4").is_file():
        from localize.sample import build_sample_episode

        build_sample_episode(work / "sample")
    results: dict[str, Any] = {}
    for stage in args.stages.split(","):
        print(f"running {stage}...", file=sys.stderr, flush=True)
        results[stage] = run_stage_measured(stage, work)
    report = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M:%S"), "stages": results}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\n{'stage':10} {'wall s':>7} {'cpu s':>7} {'peak MB':>8}  details")
    for stage, r in results.items():
        details = ", ".join(
            f"{k}={v}" for k, v in r.items() if k not in {"wall_s", "cpu_s", "peak_rss_mb"}
        )
        print(f"{stage:10} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} {r['peak_rss_mb']:8}  {details}")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
