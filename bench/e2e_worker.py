"""One end-to-end benchmark step in its own process (started by :mod:`bench.e2e`).

    python -m bench.e2e_worker CONFIG.json

The config names the step (``episode``, ``catalog`` or ``baseline``) and its inputs. The
environment (set by the parent) gives the step a private LOCALIZE_HOME (fresh translation
memory; the prepared models linked in), a private Prefect home and result storage (no task
cache from another step) and the API URL of the Prefect server the parent runs.

Progress goes to stdout as JSON lines (``{"event": "progress", ...}``) for the parent's
display; logs go to stderr; the measurements are written to ``config["result"]``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.procmon import own_peak_mb


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}, ensure_ascii=False), flush=True)


def progress(done: float, total: float, what: str = "") -> None:
    emit("progress", done=done, total=total, what=what)


def _srt_cues(path: Path) -> int:
    if not path.is_file():
        return 0
    return sum(1 for block in path.read_text(encoding="utf-8").split("\n\n") if "-->" in block)


# ---------------------------------------------------------------------------- steps
def _one_episode(cfg: dict[str, Any], video: str, glossary: str, out: str) -> dict[str, Any]:
    from flows.catalog import stage_times
    from flows.episode import localize_episode
    from flows.params import EpisodeParams

    params = EpisodeParams(
        video=video,
        series=glossary,
        targets=["en"],
        dub=["en"] if cfg.get("dub") else [],
        review=False,
        on_qc_errors="publish",  # the bench times the whole job, publishing included
        out_dir=out,
        source=cfg["source"],
        mt_backend=cfg["mt_backend"],
    )
    start = time.perf_counter()
    state = localize_episode(params, return_state=True)
    wall = time.perf_counter() - start
    if not state.is_completed():
        raise SystemExit(f"the episode flow did not complete: {state.message}")
    stem = Path(video).stem
    return {
        "wall_s": round(wall, 2),
        "stages": stage_times(state.state_details.flow_run_id),
        "cues_en": _srt_cues(Path(out) / f"{stem}.en.srt"),
        "cues_zh": _srt_cues(Path(out) / f"{stem}.zh-Hans.srt"),
    }


def run_episode(cfg: dict[str, Any]) -> dict[str, Any]:
    """The episode flow on one video, review off, in a cold process (models load inside);
    with ``warm_video``, then on a second video in the same process (models loaded)."""
    runs = 2 if cfg.get("warm_video") else 1
    progress(0, runs, "running the episode flow")
    result = _one_episode(cfg, cfg["video"], cfg["glossary"], cfg["out"])
    progress(1, runs, "cold run done")
    if cfg.get("warm_video"):
        warm = _one_episode(cfg, cfg["warm_video"], cfg["warm_glossary"], cfg["out"] + "-warm")
        result["warm"] = warm
        progress(2, runs, "warm run done")
    return result


def _watch_catalog(
    out: Path, keys: list[str], started: float, stop: threading.Event
) -> dict[str, float]:
    """Poll the catalog state; report each finished episode and when it finished."""
    from localize.catalog import STATE_DIR, STATE_FILE

    finished: dict[str, float] = {}
    path = out / STATE_DIR / STATE_FILE
    while True:
        stopping = stop.is_set()
        try:
            episodes = json.loads(path.read_text(encoding="utf-8")).get("episodes", {})
        except (OSError, json.JSONDecodeError):
            episodes = {}
        for key in keys:
            status = episodes.get(key, {}).get("en", {}).get("status")
            if key not in finished and status in ("done", "failed"):
                finished[key] = round(time.perf_counter() - started, 2)
                progress(len(finished), len(keys), f"{key} {status}")
        if stopping:
            return finished
        stop.wait(0.5)


def run_catalog(cfg: dict[str, Any]) -> dict[str, Any]:
    """The catalog flow over N episodes, each in a series of its own (see bench.e2e)."""
    from flows.catalog import localize_catalog

    root, out = Path(cfg["root"]), Path(cfg["out"])
    keys = []
    for i, video in enumerate(cfg["videos"]):
        series = f"s{i + 1:02d}"
        folder = root / series
        (folder / "episodes").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cfg["glossaries"][i], folder / "glossary.toml")
        dub = '["en"]' if cfg.get("dub") else "[]"
        (folder / "series.toml").write_text(
            f'[run]\ntargets = ["en"]\nsource = "{cfg["source"]}"\ndub = {dub}\n'
            'on_qc_errors = "publish"\n',  # the bench times the whole job, publishing included
            encoding="utf-8",
        )
        name = f"ep{i + 1:02d}"
        shutil.copyfile(video, folder / "episodes" / f"{name}.mp4")
        keys.append(f"{series}/{name}")

    progress(0, len(keys), "starting the catalog flow")
    stop = threading.Event()
    started = time.perf_counter()
    finished: dict[str, float] = {}
    watcher = threading.Thread(
        target=lambda: finished.update(_watch_catalog(out, keys, started, stop)), daemon=True
    )
    watcher.start()
    result = localize_catalog(
        str(root),
        out=str(out),
        mt_backend=cfg["mt_backend"],
        max_parallel=cfg["max_parallel"],
    )
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    return {
        "wall_s": round(wall, 2),
        "processed": sorted(result.processed),
        "failed": dict(result.failed),
        "stages": {k: dict(v) for k, v in result.stages.items()},
        "finished_at_s": finished,
        "cues_en": {key: _srt_cues(out / key / f"{key.split('/')[1]}.en.srt") for key in keys},
    }


def run_baseline(cfg: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict

    from bench.baseline import run_episode as baseline_episode
    from localize.glossary import load_glossary

    glossary = load_glossary(Path(cfg["glossary"]))
    checkpoint = Path(cfg["checkpoint"]) if cfg.get("checkpoint") else None
    videos = [Path(v) for v in cfg["videos"]]
    episodes = []
    started = time.perf_counter()
    for i, video in enumerate(videos):

        def say(what: str, i: int = i) -> None:
            progress(i, len(videos), f"episode {i + 1}: {what}")

        episode = baseline_episode(
            video,
            Path(cfg["out"]) / f"ep{i + 1:02d}",
            glossary=glossary,
            checkpoint=checkpoint,
            dtype=cfg["dtype"],
            mt_backend=cfg["mt_backend"],
            progress=say,
        )
        episodes.append(asdict(episode))
        progress(i + 1, len(videos), f"episode {i + 1} done in {episode.total_s:.0f} s")
    return {"wall_s": round(time.perf_counter() - started, 2), "episodes": episodes}


STEPS = {"episode": run_episode, "catalog": run_catalog, "baseline": run_baseline}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cfg = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    result = STEPS[cfg["kind"]](cfg)
    # exact, unlike the sampled tree; the children's ru_maxrss is no use here: a child
    # forked from this process starts with its peak
    result["own_peak_rss_mb"] = own_peak_mb()
    result["pid"] = os.getpid()
    Path(cfg["result"]).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
