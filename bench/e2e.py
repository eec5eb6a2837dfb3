"""End-to-end benchmark: the real flows on generated episodes, against a peer-style baseline.

    .venv/bin/python -m bench.e2e                      # everything (about an hour on 2 cores)
    .venv/bin/python -m bench.e2e --quick              # a smoke run (a few minutes)
    .venv/bin/python -m bench.e2e --quick --mt-backend fake   # the fastest (what the test runs)

Steps, each in a fresh process (so model loading counts, and peak memory is the step's):

- ``single-asr``: one episode through ``localize_episode`` (review off), subtitle path with
  speech recognition only (ASR, translation to English, QC, packaging); ``single-fused``:
  the default source (burned-in captions read by OCR, fused with ASR).
- ``catalog``/``catalog-dub``: ``localize_catalog`` over N episodes (seeds 0..N-1 of the
  sample: same script, different timings), without and with an English dub. Every
  episode is its own series (glossary copy with its own id), so no episode reuses another's
  translations from the series translation memory, and each step has a fresh
  LOCALIZE_HOME and Prefect result storage, so no task result is reused either.
- ``baseline``: :mod:`bench.baseline` (fresh models per episode, beam 5 unbatched ASR,
  one line per request through transformers) on the first M of the same episodes.
- ``scaling-<L>min``: one long episode (samples concatenated with ffmpeg) through the
  episode flow, default fused source. MT uses the fake translator unless
  ``--scaling-mt llm``: MT time is linear in lines (lines/s comes from the single run).

All steps talk to one local Prefect server (SQLite, 127.0.0.1, started and stopped here).
Peak memory is sampled over each step's process tree (its ffmpeg/piper children too) and,
separately, over the server. Prints markdown tables; writes ``bench/results/e2e.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import inputs
from bench.procmon import TreeSampler, descendants, loadavg_1min, parents
from bench.run import machine

REPO = Path(__file__).resolve().parent.parent
GLOSSARY = REPO / "glossaries" / "ceo-contract-bride.toml"
#: stage names as the episode flow's tasks are named
STAGE_ORDER = ("probe", "transcribe", "ocr", "translate", "qc", "dub", "package")
#: the issue's targets on this machine
TARGET_SUBTITLE_S = 40.0
TARGET_RATIO = 3.0
TARGET_PEAK_MB = 4096.0


@dataclass
class Step:
    name: str
    title: str
    kind: str  # episode | catalog | baseline
    cfg: dict[str, Any]
    units: int  # episodes (for the progress bar)
    estimate_s: float  # rough duration, for the overall time remaining
    audio_s: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- progress
class Display:
    """A progress bar per step and one overall, on stderr (rich on a terminal; plain lines
    with elapsed time and time remaining otherwise, e.g. under nohup)."""

    def __init__(self, total_estimate_s: float, started: float | None = None) -> None:
        self.total = max(total_estimate_s, 1.0)
        self.started = time.monotonic() if started is None else started
        self.done_estimate = 0.0
        self.position = 0.0  # estimated seconds of work done, the current step's share too
        self.steps_started = time.monotonic()
        self.step_started = self.started
        self.what = ""
        self.step: Step | None = None
        self.last_line = 0.0
        self.tty = sys.stderr.isatty()
        self._progress: Any = None
        self._overall: Any = None
        self._task: Any = None
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._overall = self._progress.add_task("all steps", total=self.total, count="")

    def begin(self, step: Step) -> None:
        if self.step is None:
            self.steps_started = time.monotonic()
        self.step, self.step_started = step, time.monotonic()
        if self._progress is not None:
            self._task = self._progress.add_task(
                f"{step.name}: starting", total=step.units, count=f"0/{step.units}"
            )
        else:
            self._line(f"{step.name}: {step.title}", force=True)

    def update(self, done: float, total: float, what: str) -> None:
        step = self.step
        if step is None:
            return
        share = done / total if total else 0.0
        overall = self.done_estimate + step.estimate_s * min(share, 1.0)
        self.position, self.what = overall, what
        if self._progress is not None:
            self._progress.update(
                self._task,
                completed=done,
                total=total,
                description=f"{step.name}: {what}"[:70],
                count=f"{done:g}/{total:g}",
            )
            self._progress.update(self._overall, completed=overall)
        else:
            self._line(f"{step.name}: {done:g}/{total:g} {what}", force=done >= total)

    def tick(self) -> None:
        """A heartbeat line every 30 s while a step runs (plain output only)."""
        quiet = time.monotonic() - self.last_line >= 30
        if self._progress is None and self.step is not None and quiet:
            self._line(f"{self.step.name}: {self.what or 'running'}", force=True)

    def end(self, step: Step) -> None:
        self.done_estimate += step.estimate_s
        self.position, self.what = self.done_estimate, ""
        if self._progress is not None:
            self._progress.update(self._task, description=f"{step.name}: done")
            self._progress.update(self._overall, completed=self.done_estimate)
        else:
            took = time.monotonic() - self.step_started
            self._line(f"{step.name}: done in {took:.0f} s", force=True)

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text)
        else:
            self._line(text, force=True)

    def _line(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_line < 10:  # at most one line per 10 s
            return
        self.last_line = now
        elapsed = now - self.started
        step_elapsed = now - self.step_started
        left = ""
        if self.step is not None:
            # real seconds per estimated second so far (1 until a step has finished)
            spent = now - self.steps_started
            rate = spent / self.done_estimate if self.done_estimate > 0 else 1.0
            remaining = max(self.total - self.position, 0) * rate
            if self.done_estimate == 0:
                remaining = max(self.total - spent, 0)
            left = f", ~{_clock(remaining)} left"
        print(
            f"[{_clock(elapsed)}{left}] {text} (step {_clock(step_elapsed)})",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# ------------------------------------------------------------------------------ server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def prefect_server(home: Path) -> Iterator[tuple[str, float]]:
    """A local Prefect server (SQLite under ``home``, 127.0.0.1); yields (API URL, start s)."""
    from flows.deploy import local_server

    start = time.perf_counter()
    with local_server(host="127.0.0.1", port=_free_port(), home=home, timeout=180) as api:
        yield api, round(time.perf_counter() - start, 1)


# ------------------------------------------------------------------------------- steps
def run_step(step: Step, run_dir: Path, api: str, models: Path, display: Display) -> None:
    """Run one step in a fresh process; fill ``step.result`` with its measurements."""
    folder = inputs.reset(run_dir / step.name)
    home = folder / "home"
    home.mkdir()
    (home / "models").symlink_to(models, target_is_directory=True)
    cfg = dict(step.cfg, kind=step.kind, result=str(folder / "result.json"))
    for key in ("out", "root", "warm_out"):
        if key in cfg:
            cfg[key] = str(folder / cfg[key])
    (folder / "config.json").write_text(json.dumps(cfg, indent=1))
    env = dict(os.environ)
    env.update(
        LOCALIZE_HOME=str(home),
        PREFECT_HOME=str(folder / "prefect"),
        PREFECT_API_URL=api,
        PREFECT_LOCAL_STORAGE_PATH=str(folder / "prefect" / "storage"),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    display.begin(step)
    load_before = loadavg_1min()
    me = os.getpid()
    log = open(folder / "worker.log", "wb")  # noqa: SIM115 - closed below
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.e2e_worker", str(folder / "config.json")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    # the server: the trees of this process's children other than the step's own
    server_roots = [pid for pid, ppid in parents().items() if ppid == me and pid != proc.pid]

    def server(table: dict[int, int]) -> set[int]:
        return set().union(*(descendants(root, table) for root in server_roots))

    sampler = TreeSampler(proc.pid, other=server).start()
    marks: list[dict[str, Any]] = []

    def read_events() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                event = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "progress":
                t = round(time.perf_counter() - start, 2)
                marks.append({"done": event["done"], "t_s": t, "peak_mb": sampler.peak_mb})
                display.update(float(event["done"]), float(event["total"]), event.get("what", ""))

    reader = threading.Thread(target=read_events, daemon=True)
    reader.start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        display.tick()
        time.sleep(0.5)
    wall = time.perf_counter() - start
    sampler.stop()
    reader.join(timeout=5)
    log.close()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        tail = (folder / "worker.log").read_text(errors="replace")[-4000:]
        raise SystemExit(f"step {step.name} failed (exit {code}); {folder / 'worker.log'}:\n{tail}")
    step.result = json.loads((folder / "result.json").read_text())
    step.result.update(
        process_wall_s=round(wall, 2),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
        peak_rss_mb=round(sampler.peak_mb),
        peak_server_mb=round(sampler.peak_other_mb),
        peak_with_server_mb=round(sampler.peak_sum_mb),
        rss_timeline=sampler.timeline(),
        progress_marks=marks,
        loadavg_1min={"start": load_before, "end": loadavg_1min()},
    )
    display.end(step)


# ------------------------------------------------------------------------------- plan
def _estimate_episode_s(audio_s: float, mt: str, source: str, dub: bool) -> float:
    """Rough seconds for one episode on 2 cores (only for the time-remaining display)."""
    per_min = {"asr": 6.0, "fused": 12.0, "ocr": 7.0}[source]
    mt_s = 0.75 * audio_s if mt == "llm" else 0.2
    return 8 + per_min * audio_s / 60 + mt_s + (12 * audio_s / 80 if dub else 0)


def plan(args: argparse.Namespace, work: Path, display_note: Any) -> list[Step]:
    parts = set(args.parts.split(","))
    need = max(
        min(args.episodes, 2) if "single" in parts else 1,  # the cold and the warm run
        args.episodes if "catalog" in parts else 1,
        args.baseline_episodes if "baseline" in parts else 1,
    )
    display_note(f"preparing {need} sample episode(s) under {work / 'samples'} ...")
    screen = inputs.LanguageScreen(work / "samples" / "language-check.json")
    videos, skipped = inputs.episode_inputs(
        work, need, args.input_seconds, None if args.no_screen else screen
    )
    for seed, reason in skipped.items():
        display_note(f"seed {seed} skipped: the episode flow would refuse it ({reason})")
    args.skipped_seeds = skipped
    durations = [inputs.duration_s(v) for v in videos]
    steps: list[Step] = []
    mt = args.mt_backend
    glossaries = work / "glossaries"
    if "single" in parts:
        for source in args.single_sources:
            gl = inputs.glossary_copy(
                GLOSSARY, f"bench-single-{source}", glossaries / f"single-{source}.toml"
            )
            cfg = {"video": str(videos[0]), "glossary": str(gl), "source": source,
                   "mt_backend": mt, "out": "out"}  # fmt: skip
            runs = 1
            if source == "asr" and len(videos) > 1:
                # a second episode in the same process: what a worker with loaded models does
                warm = inputs.glossary_copy(
                    GLOSSARY, "bench-single-warm", glossaries / "single-warm.toml"
                )
                cfg.update(warm_video=str(videos[1]), warm_glossary=str(warm))
                runs = 2
            steps.append(
                Step(
                    f"single-{source}",
                    f"one episode, source={source}, ASR+MT+QC+packaging (cold process"
                    + (", then a second episode warm)" if runs == 2 else ")"),
                    "episode",
                    cfg,
                    runs,
                    runs * _estimate_episode_s(durations[0], mt, source, False) + 10,
                    durations[0],
                )
            )
    if "catalog" in parts:
        n = args.episodes
        gls = [
            str(
                inputs.glossary_copy(
                    GLOSSARY, f"bench-s{i + 1:02d}", glossaries / f"s{i + 1:02d}.toml"
                )
            )
            for i in range(n)
        ]
        for dub in (False, True) if not args.no_dub else (False,):
            per = sum(_estimate_episode_s(d, mt, args.catalog_source, dub) for d in durations[:n])
            steps.append(
                Step(
                    "catalog-dub" if dub else "catalog",
                    f"catalog of {n} episodes, source={args.catalog_source}"
                    + (", dubbed into English" if dub else ", subtitles only"),
                    "catalog",
                    {"videos": [str(v) for v in videos[:n]], "glossaries": gls,
                     "source": args.catalog_source, "mt_backend": mt, "dub": dub,
                     "max_parallel": args.max_parallel, "root": "catalog", "out": "out"},
                    n,
                    per * 0.9 + 10,
                    sum(durations[:n]),
                )
            )  # fmt: skip
    if "baseline" in parts and args.baseline_episodes > 0:
        m = args.baseline_episodes
        checkpoint = ""
        if mt == "llm":
            display_note("preparing the transformers checkpoint for the baseline ...")
            from bench.baseline import transformers_checkpoint

            checkpoint = str(transformers_checkpoint(work))
        per_ep = [(25 * d / 80 * (20 if mt == "llm" else 0.1)) + 15 for d in durations[:m]]
        steps.append(
            Step(
                "baseline",
                f"peer-style baseline on {m} episode(s) (fresh models per episode)",
                "baseline",
                {"videos": [str(v) for v in videos[:m]], "glossary": str(GLOSSARY),
                 "checkpoint": checkpoint, "dtype": args.baseline_dtype, "mt_backend": mt,
                 "out": "out"},
                m,
                sum(per_ep),
                sum(durations[:m]),
            )
        )  # fmt: skip
    if "scaling" in parts:
        scaling_mt = "fake" if mt == "fake" else args.scaling_mt
        for minutes in args.lengths:
            display_note(f"preparing a {minutes:g}-minute input ...")
            video = inputs.long_input(work, minutes)
            audio = inputs.duration_s(video)
            gl = inputs.glossary_copy(
                GLOSSARY,
                f"bench-long-{minutes:g}".replace(".", "-"),
                glossaries / f"long-{minutes:g}.toml",
            )
            steps.append(
                Step(
                    f"scaling-{minutes:g}min",
                    f"one {minutes:g}-minute episode, source=fused, MT {scaling_mt}",
                    "episode",
                    {"video": str(video), "glossary": str(gl), "source": "fused",
                     "mt_backend": scaling_mt, "out": "out"},
                    1,
                    _estimate_episode_s(audio, scaling_mt, "fused", False) + 10,
                    audio,
                )
            )  # fmt: skip
    return steps


# ----------------------------------------------------------------------------- report
def peaks(r: dict[str, Any]) -> tuple[int, int, int]:
    """(pipeline, server, both) peak MB of a step.

    The pipeline's is the larger of the sampled tree peak and the step process's own
    exact peak (VmHWM; sampling can miss a short spike). The server's is its largest
    sample. Both together is their sum: an upper bound (the server's memory is flat).
    """
    pipeline = max(r["peak_rss_mb"], r.get("own_peak_rss_mb", 0))
    timeline = r.get("rss_timeline") or []
    server = max((row[2] for row in timeline), default=r.get("peak_server_mb", 0))
    return round(pipeline), round(server), round(pipeline + server)


def _stage_cells(stages: dict[str, float]) -> list[str]:
    return [f"{stages[s]:.1f}" if s in stages else "-" for s in STAGE_ORDER]


def summarise(steps: list[Step]) -> dict[str, Any]:
    by = {s.name: s for s in steps}
    out: dict[str, Any] = {}
    for name in ("single-asr", "single-fused"):
        if name in by:
            r = by[name].result
            cues = max(r.get("cues_zh", 0), 1)
            out[name] = {
                "wall_s": r["wall_s"],
                "audio_s": by[name].audio_s,
                "rtf": round(r["wall_s"] / by[name].audio_s, 3),
                "stages": r["stages"],
                "mt_lines_per_s": round(cues / r["stages"]["translate"], 3)
                if r["stages"].get("translate")
                else None,
                "peak_rss_mb": peaks(r)[0],
                "peak_with_server_mb": peaks(r)[2],
            }
            if "warm" in r:
                warm = r["warm"]
                out[name]["warm_wall_s"] = warm["wall_s"]
                out[name]["warm_stages"] = warm["stages"]
                if warm["stages"].get("translate"):
                    out[name]["warm_mt_lines_per_s"] = round(
                        max(warm.get("cues_zh", 0), 1) / warm["stages"]["translate"], 3
                    )
    for name in ("catalog", "catalog-dub"):
        if name not in by:
            continue
        step, r = by[name], by[name].result
        done = len(r["processed"])
        totals: dict[str, float] = {}
        for stages in r["stages"].values():
            for stage, secs in stages.items():
                totals[stage] = round(totals.get(stage, 0.0) + secs, 2)
        all_s = sum(totals.values()) or 1.0
        # the times at which the 1st, 2nd... episode was published (failures not counted)
        order = sorted(r["finished_at_s"].items(), key=lambda kv: kv[1])
        finished = [t for key, t in order if key in r["processed"]]
        # position of each success among all finished episodes: the progress marks count both
        position = [i + 1 for i, (key, _) in enumerate(order) if key in r["processed"]]
        by_count = []
        for k in sorted({1, 2, 5, 10, 20, 50, len(finished)}):
            if 0 < k <= len(finished):
                marks = r["progress_marks"]
                mark = next((m for m in marks if m["done"] >= position[k - 1]), None)
                by_count.append(
                    {
                        "episodes": k,
                        "time_s": finished[k - 1],
                        "peak_rss_mb": round(mark["peak_mb"]) if mark else None,
                    }
                )
        out[name] = {
            "episodes": done,
            "failed": r["failed"],
            "wall_s": r["wall_s"],
            "episodes_per_hour": round(3600 * done / r["wall_s"], 1),
            "audio_s": round(step.audio_s, 1),
            "rtf": round(r["wall_s"] / step.audio_s, 3),
            "stage_seconds": totals,
            "stage_share": {k: round(v / all_s, 3) for k, v in totals.items()},
            "peak_rss_mb": peaks(r)[0],
            "peak_server_mb": peaks(r)[1],
            "peak_with_server_mb": peaks(r)[2],
            "cpu_s": r["cpu_s"],
            "by_count": by_count,
        }
    if "baseline" in by:
        eps = by["baseline"].result["episodes"]
        totals_s = [e["total_s"] for e in eps]
        mean = sum(totals_s) / len(totals_s)
        lines = sum(e["lines"] for e in eps)
        mt_s = sum(e["mt_s"] for e in eps)
        out["baseline"] = {
            "episodes": len(eps),
            "per_episode_s": {"mean": round(mean, 1), "min": min(totals_s), "max": max(totals_s)},
            "episodes_per_hour": round(3600 / mean, 2),
            "asr_s_mean": round(sum(e["asr_s"] for e in eps) / len(eps), 1),
            "mt_s_mean": round(mt_s / len(eps), 1),
            "load_s_mean": round(sum(e["asr_load_s"] + e["mt_load_s"] for e in eps) / len(eps), 1),
            "mt_lines_per_s": round(lines / mt_s, 3) if mt_s else None,
            "peak_rss_mb": peaks(by["baseline"].result)[0],
        }
        if "catalog" in out:
            out["throughput_ratio"] = round(
                out["catalog"]["episodes_per_hour"] / out["baseline"]["episodes_per_hour"], 2
            )
    scaling = []
    for step in steps:
        if step.name.startswith("scaling-"):
            r = step.result
            scaling.append(
                {
                    "minutes": step.cfg.get("minutes") or round(step.audio_s / 60, 2),
                    "audio_s": step.audio_s,
                    "wall_s": r["wall_s"],
                    "stages": r["stages"],
                    "cues": r.get("cues_zh", 0),
                    "peak_rss_mb": peaks(r)[0],
                    "mt": step.cfg["mt_backend"],
                }
            )
    if scaling:
        single = by.get("single-asr")
        rate = None
        if single is not None and single.cfg["mt_backend"] == "llm":
            # the warm run's rate when there is one: its translate stage loads no model
            run = single.result.get("warm", single.result)
            if run["stages"].get("translate"):
                rate = max(run.get("cues_zh", 0), 1) / run["stages"]["translate"]
        for row in scaling:
            row["mt_llm_extrapolated_s"] = round(row["cues"] / rate, 1) if rate else None
        out["scaling_length"] = scaling
    return out


def targets(summary: dict[str, Any], steps: list[Step], mt: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    single = summary.get("single-asr")
    if single:
        # judged on the warm run when there is one (a worker keeps its models loaded);
        # the cold run, loading included, is reported next to it
        value = single.get("warm_wall_s", single["wall_s"])
        result["subtitle_path_under_40s"] = {
            "value_s": value,
            "cold_s": single["wall_s"],
            "warm_s": single.get("warm_wall_s"),
            "audio_s": single["audio_s"],
            "met": value < TARGET_SUBTITLE_S,
        }
    if "throughput_ratio" in summary:
        result["throughput_3x_baseline"] = {
            "value": summary["throughput_ratio"],
            "met": summary["throughput_ratio"] >= TARGET_RATIO,
        }
    ours = [s for s in steps if s.kind != "baseline" and s.result]
    if ours:
        top = max(ours, key=lambda s: peaks(s.result)[2])
        pipeline, server, both = peaks(top.result)
        result["peak_memory_under_4gb"] = {
            "value_mb": both,
            "pipeline_only_mb": pipeline,
            "server_mb": server,
            "step": top.name,
            "met": both < TARGET_PEAK_MB,
            "pipeline_only_met": pipeline < TARGET_PEAK_MB,
        }
    if mt != "llm":
        result["note"] = "fake MT: these numbers say nothing about the targets"
    return result


def render(report: dict[str, Any], steps: list[Step]) -> str:
    s = report["summary"]
    lines = [
        f"# End-to-end benchmark, {report['when']} ({report['machine']['cpus']} CPUs, "
        f"load {report['loadavg_1min']['start']} -> {report['loadavg_1min']['end']}, "
        f"MT {report['options']['mt_backend']})",
        "",
        "| step | wall s | audio s | RTF | "
        + " | ".join(STAGE_ORDER)
        + " | peak MB | +server MB |",
        "|---|---:|---:|---:|" + "---:|" * len(STAGE_ORDER) + "---:|---:|",
    ]
    for step in steps:
        if step.kind != "episode":
            continue
        r = step.result
        lines.append(
            f"| {step.name} | {r['wall_s']:.1f} | {step.audio_s:.0f} | "
            f"{r['wall_s'] / step.audio_s:.3f} | "
            + " | ".join(_stage_cells(r["stages"]))
            + f" | {peaks(r)[0]} | {peaks(r)[2]} |"
        )
        if "warm" in r:
            w = r["warm"]
            lines.append(
                f"| {step.name} (warm) | {w['wall_s']:.1f} | {step.audio_s:.0f} | "
                f"{w['wall_s'] / step.audio_s:.3f} | "
                + " | ".join(_stage_cells(w["stages"]))
                + " | | |"
            )
    for name in ("catalog", "catalog-dub"):
        if name in s:
            c = s[name]
            share = ", ".join(
                f"{k} {v:.0%}" for k, v in sorted(c["stage_share"].items(), key=lambda kv: -kv[1])
            )
            lines += [
                "",
                f"**{name}**: {c['episodes']} episodes ({c['audio_s']:.0f} s of audio) in "
                f"{c['wall_s']:.0f} s = **{c['episodes_per_hour']} episodes/hour**, RTF "
                f"{c['rtf']:.3f}; CPU {c['cpu_s']:.0f} s; peak {c['peak_rss_mb']} MB "
                f"({c['peak_with_server_mb']} MB with the Prefect server). Stage share: {share}."
                + (f" FAILED: {c['failed']}" if c["failed"] else ""),
                "",
                "| episodes done | time s | peak MB so far |",
                "|---:|---:|---:|",
            ]
            lines += [
                f"| {row['episodes']} | {row['time_s']:.0f} | {row['peak_rss_mb']} |"
                for row in c["by_count"]
            ]
    if "baseline" in s:
        b = s["baseline"]
        pe = b["per_episode_s"]
        lines += [
            "",
            f"**baseline** (peer style, {b['episodes']} episode(s), fresh models each): "
            f"{pe['mean']:.0f} s per episode (min {pe['min']:.0f}, max {pe['max']:.0f}) = "
            f"**{b['episodes_per_hour']} episodes/hour**; ASR {b['asr_s_mean']} s, MT "
            f"{b['mt_s_mean']} s ({b['mt_lines_per_s']} lines/s), loading {b['load_s_mean']} s "
            f"per episode; peak {b['peak_rss_mb']} MB.",
        ]
        if "throughput_ratio" in s:
            lines.append(f"\n**Throughput vs baseline: {s['throughput_ratio']}x**")
    if "scaling_length" in s:
        lines += [
            "",
            "| length | audio s | wall s | s per audio min | cues | "
            + " | ".join(STAGE_ORDER)
            + " | MT llm (extrapolated) s | peak MB |",
            "|---|---:|---:|---:|---:|" + "---:|" * len(STAGE_ORDER) + "---:|---:|",
        ]
        for row in s["scaling_length"]:
            lines.append(
                f"| {row['audio_s'] / 60:.1f} min | {row['audio_s']:.0f} | {row['wall_s']:.1f} | "
                f"{row['wall_s'] / (row['audio_s'] / 60):.1f} | {row['cues']} | "
                + " | ".join(_stage_cells(row["stages"]))
                + f" | {row['mt_llm_extrapolated_s']} | {row['peak_rss_mb']} |"
            )
    skipped = report["options"].get("skipped_seeds") or {}
    for seed, reason in skipped.items():
        lines.append(f"\nSample seed {seed} was skipped: the flow would refuse it ({reason}).")
    t = report["targets"]
    if t:
        lines += ["", "| target | value | met |", "|---|---|---|"]
        if "subtitle_path_under_40s" in t:
            v = t["subtitle_path_under_40s"]
            cold = f" warm, {v['cold_s']:.1f} s cold" if v["warm_s"] is not None else " cold"
            lines.append(
                f"| subtitle path of a {v['audio_s']:.0f}-s episode < 40 s | {v['value_s']:.1f} s"
                f"{cold} | {'yes' if v['met'] else 'no'} |"
            )
        if "throughput_3x_baseline" in t:
            v = t["throughput_3x_baseline"]
            met = "yes" if v["met"] else "no"
            lines.append(f"| >= 3x the baseline's throughput | {v['value']}x | {met} |")
        if "peak_memory_under_4gb" in t:
            v = t["peak_memory_under_4gb"]
            met = "yes" if v["met"] else "no"
            lines.append(
                f"| peak memory < 4 GB | {v['value_mb']} MB with the server "
                f"({v['pipeline_only_mb']} MB pipeline, {v['step']}) | {met} |"
            )
        if "note" in t:
            lines.append(f"\n{t['note']}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=None, help="catalog size (default 10)")
    parser.add_argument(
        "--baseline-episodes",
        type=int,
        default=None,
        help="episodes the baseline runs on, the first of the catalog's (default 2: about "
        "6 minutes each on 2 cores, and its per-episode time is flat, so a subset gives its "
        "throughput; 0 skips it)",
    )
    parser.add_argument(
        "--lengths", default=None, help="scaling: episode lengths in minutes (default 1,3,10)"
    )
    parser.add_argument("--no-dub", action="store_true", help="skip the dubbed catalog run")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 episodes cut to 30 s, baseline on 1, scaling 1 minute, no dub",
    )
    parser.add_argument("--mt-backend", choices=("llm", "fake"), default="llm")
    parser.add_argument(
        "--scaling-mt",
        choices=("fake", "llm"),
        default="fake",
        help="MT in the scaling runs (default fake: MT is linear in lines; see the doc)",
    )
    parser.add_argument(
        "--single-sources",
        default="asr,fused",
        help="single-episode runs: which Chinese sources (asr = the subtitle path; fused = "
        "the default, captions by OCR fused with ASR)",
    )
    parser.add_argument(
        "--no-screen",
        action="store_true",
        help="do not skip sample seeds whose synthetic voices the flow's language check "
        "refuses (they then fail in the runs)",
    )
    parser.add_argument("--catalog-source", choices=("asr", "fused", "ocr"), default="asr")
    parser.add_argument("--max-parallel", type=int, default=2, help="catalog: episodes at once")
    parser.add_argument(
        "--input-seconds", type=float, default=None, help="cut every episode to this length"
    )
    parser.add_argument("--baseline-dtype", choices=("bfloat16", "float32"), default="bfloat16")
    parser.add_argument(
        "--parts", default="single,catalog,baseline,scaling", help="which parts to run"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="run nothing: recompute the summary of a finished run's JSON and print it",
    )
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "results" / "e2e-work")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "e2e.json")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.episodes is None:
        args.episodes = 2 if quick else 10
    if args.baseline_episodes is None:
        args.baseline_episodes = 1 if quick else 2
    args.baseline_episodes = min(args.baseline_episodes, args.episodes)
    if args.lengths is None:
        args.lengths = "1" if quick else "1,3,10"
    args.lengths = [float(x) for x in str(args.lengths).split(",") if x.strip()]
    args.single_sources = [x.strip() for x in args.single_sources.split(",") if x.strip()]
    unknown = set(args.single_sources) - {"asr", "fused", "ocr"}
    if unknown:
        parser.error(f"--single-sources: unknown {sorted(unknown)}; use asr, fused or ocr")
    if quick:
        args.no_dub = True
        if args.input_seconds is None:
            args.input_seconds = 30.0
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return rerender(args.render)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from localize.models import localize_home

    models = (localize_home() / "models").resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    load_start = loadavg_1min()
    started = time.perf_counter()
    display = Display(1.0, started=time.monotonic())
    display.note(f"e2e benchmark: work folder {work}")
    try:
        steps = plan(args, work, display.note)
        display.close()
        display = Display(sum(s.estimate_s for s in steps) + 20, started=display.started)
        run_dir = inputs.reset(work / "run")
        display.note("starting a local Prefect server ...")
        with prefect_server(run_dir / "prefect-server") as (api, server_start_s):
            display.note(f"Prefect server at {api} (ready in {server_start_s} s)")
            for step in steps:
                run_step(step, run_dir, api, models, display)
    finally:
        display.close()
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "loadavg_1min": {"start": load_start, "end": loadavg_1min()},
        "total_wall_s": round(time.perf_counter() - started, 1),
        "prefect_server_start_s": server_start_s,
        "steps": {
            s.name: {
                "title": s.title,
                "kind": s.kind,
                "audio_s": s.audio_s,
                "estimate_s": s.estimate_s,
                "config": s.cfg,
                **s.result,
            }
            for s in steps
        },
    }
    return finish(report, steps, args.out)


def finish(report: dict[str, Any], steps: list[Step], out: Path) -> int:
    """Derive the summary and the target verdicts; write the JSON; print the tables."""
    report["summary"] = summarise(steps)
    report["targets"] = targets(report["summary"], steps, report["options"]["mt_backend"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(render(report, steps))
    print(f"\nwritten: {out}")
    return 0


def rerender(path: Path) -> int:
    """Recompute the summary of a finished run's JSON from its raw measurements."""
    report = json.loads(path.read_text(encoding="utf-8"))
    steps = []
    for name, data in report["steps"].items():
        cfg = data["config"]
        kind = data.get("kind") or (
            "catalog" if "glossaries" in cfg else "baseline" if "checkpoint" in cfg else "episode"
        )
        raw = {
            k: v
            for k, v in data.items()
            if k not in {"title", "kind", "audio_s", "estimate_s", "config"}
        }
        steps.append(
            Step(
                name, data["title"], kind, cfg, 0, data.get("estimate_s", 0.0), data["audio_s"], raw
            )
        )
    return finish(report, steps, path)


if __name__ == "__main__":
    sys.exit(main())
