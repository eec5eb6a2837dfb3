"""The ``localize-catalog`` flow: localize only the new or changed episodes of a catalog.

It scans the catalog (:mod:`localize.catalog`), and runs the episode flow as a subflow
for each episode that is new, changed or failed before, at most ``max_parallel`` at a
time, on the chosen task runner (:mod:`flows.runners`: threads here, or Dask/Ray worker
processes). A failing episode (a corrupt file, a bad glossary) is recorded with its
reason and the others finish. The run holds a lock on the output folder's state; state
is saved after every episode, so a killed run resumes where it stopped, and cached stage
results (on shared storage next to the outputs) make a re-run of a half-done episode
cheap. A summary artifact lists what was processed, skipped and failed.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows.catalog_progress import CatalogProgress
from flows.episode import EpisodeResult
from flows.params import EpisodeParams, MTBackend, TargetLanguage
from flows.runners import RunnerKind, api_for_workers, build_task_runner, resolve_runner
from localize.catalog import (
    DONE,
    FAILED,
    RESULTS_DIR,
    REVIEW,
    STATE_DIR,
    CatalogState,
    EpisodePlan,
    default_out,
    discover,
    manifest_id,
    plan,
    read_manifest,
    state_lock,
    sweep_stale,
)

#: every task run of a catalog episode carries this tag: ``prefect concurrency-limit
#: create localize-catalog 2`` caps episodes across all workers and runs
CATALOG_TAG = "localize-catalog"


@dataclass(frozen=True)
class WorkerInfo:
    """Which process ran an episode: the host, its pid and, on Dask, the worker address."""

    host: str
    pid: int
    dask: str = ""

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}" + (f" ({self.dask})" if self.dask else "")


def this_worker() -> WorkerInfo:
    dask = ""
    try:
        from distributed import get_worker

        dask = str(get_worker().address)
    except (ImportError, ValueError):  # not inside a Dask worker
        pass
    return WorkerInfo(socket.gethostname(), os.getpid(), dask)


@dataclass(frozen=True)
class EpisodeOutcome:
    key: str
    status: str  # "done", "failed"
    seconds: float
    error: str = ""
    #: per published language, the id of its own files (localize.catalog.manifest_id)
    manifests: dict[str, str] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    worker: WorkerInfo | None = None


@dataclass(frozen=True)
class CatalogResult:
    processed: list[str]
    skipped: list[str]
    failed: dict[str, str]
    rejected: dict[str, str]
    stages: dict[str, dict[str, float]]
    #: which process ran each episode (host:pid, and the Dask worker's address)
    workers: dict[str, WorkerInfo] = field(default_factory=dict)
    #: the task runner, e.g. "dask: a local cluster of 2 worker processes"
    runner: str = ""


def stage_times(flow_run_id: Any) -> dict[str, float]:
    """Seconds per task (transcribe, translate...) of one episode flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    times: dict[str, float] = {}
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    for run in runs:
        stage = run.name.split(" ", 1)[0]
        times[stage] = round(times.get(stage, 0.0) + run.total_run_time.total_seconds(), 2)
    return times


def save_result_storage(spec: str) -> str:
    """Register a folder path or an fsspec URL (``s3://bucket/x``) as a Prefect storage
    block and return its slug (``local-file-system/localize-results-...``).

    Prefect wants result storage saved server-side: then every worker, on any host,
    loads the same block from the API and reads and writes the same cached results.
    """
    import hashlib

    from prefect.filesystems import LocalFileSystem, RemoteFileSystem

    block: LocalFileSystem | RemoteFileSystem
    if "://" in spec and not spec.startswith("file://"):
        block, kind, where = RemoteFileSystem(basepath=spec), "remote-file-system", spec
    else:
        path = Path(spec.removeprefix("file://")).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        block, kind, where = LocalFileSystem(basepath=str(path)), "local-file-system", str(path)
    name = "localize-results-" + hashlib.sha256(where.encode()).hexdigest()[:12]
    block.save(name, overwrite=True)
    return f"{kind}/{name}"


@task(name="catalog-episode", task_run_name="episode {key}", retries=0)
def episode_task(key: str, params: EpisodeParams, results: str) -> EpisodeOutcome:
    """Run the episode flow as a subflow; failures become an outcome, not an exception.

    Runs wherever the task runner puts it (a thread here, a Dask worker process...).
    ``results`` is the slug of the result storage block every stage caches to (shared by
    all workers, see :func:`save_result_storage`).
    """
    # imported here, not taken from this module's globals: on a Dask worker this function
    # arrives pickled by value, and the flow must come from its module so that its
    # parameter annotations (EpisodeParams) resolve there
    from flows.episode import localize_episode

    start = time.monotonic()
    worker = this_worker()
    # the tag is put on the subflow's stage tasks, not on this wrapper: a tag limit then
    # caps the heavy stages without a waiting wrapper holding a slot
    with tags(CATALOG_TAG):
        episode = localize_episode.with_options(result_storage=results)
        state = episode(params, return_state=True)
    stages: dict[str, float] = {}
    try:
        stages = stage_times(state.state_details.flow_run_id)
    except Exception as exc:  # timings are nice to have; never fail an episode for them
        get_run_logger().warning("no stage times for %s: %s", key, exc)
    seconds = round(time.monotonic() - start, 2)
    if not state.is_completed():
        try:
            state.result()
            error = str(state.message or state.name)
        except Exception as exc:  # the episode's own error, e.g. a corrupt video
            error = str(exc).strip() or type(exc).__name__
        first = error.splitlines()[0] if error.strip() else "failed"
        return EpisodeOutcome(key, FAILED, seconds, error=first, stages=stages, worker=worker)
    result: EpisodeResult = state.result()
    manifest = read_manifest(Path(result.out_dir)) or {}
    return EpisodeOutcome(
        key,
        DONE,
        seconds,
        manifests={
            f["language"]: manifest_id(manifest, f["language"])
            for f in manifest.get("files", [])
            if f.get("language")
        },
        stages=stages,
        worker=worker,
    )


def record_outcome(state: CatalogState, item: EpisodePlan, outcome: EpisodeOutcome) -> None:
    """Save one episode's outcome for every target language (atomically, at once)."""
    for lang in item.settings["targets"]:
        state.record(
            item.episode,
            [lang],
            outcome.status,
            item.fingerprint(lang),
            error=outcome.error,
            manifest=outcome.manifests.get(lang, ""),
            seconds=outcome.seconds,
            worker=str(outcome.worker or ""),
        )
    state.save()


def _params(item: EpisodePlan, review: bool) -> EpisodeParams:
    s = item.settings
    return EpisodeParams(
        video=str(item.episode.video),
        series=str(item.glossary),
        targets=s["targets"],
        dub=s["dub"],
        review=review,
        out_dir=str(item.out_dir),
        source=s["source"],
        caption_band=s["caption_band"],
        asr_model=s["asr_model"],
        mt_backend=s["mt_backend"],
        mt_model=s["mt_model"],
        tts=s["tts"],
        language_check=s["language_check"],
        clean=s["clean"],
        burn=s["burn"],
    )


def _summary(result: CatalogResult, outcomes: dict[str, EpisodeOutcome]) -> str:
    lines = [
        "## Catalog run",
        "",
        f"**{len(result.processed)} processed, {len(result.skipped)} skipped (already done), "
        f"{len(result.failed)} failed, {len(result.rejected)} rejected.**",
        "",
    ]
    if outcomes:
        stages = sorted({s for o in outcomes.values() for s in o.stages})
        lines += [
            f"Runner: {result.runner}.",
            "",
            "| episode | result | seconds | " + " | ".join(stages) + " | worker | reason |",
            "|---|---|---|" + "---|" * len(stages) + "---|---|",
        ]
        for key, o in outcomes.items():
            cells = [str(o.stages.get(s, "")) for s in stages]
            reason = o.error.replace("|", "\\|")
            lines.append(
                f"| {key} | {o.status} | {o.seconds} | "
                + " | ".join(cells)
                + f" | {o.worker or ''} | {reason} |"
            )
    if result.rejected:
        lines += ["", "### Rejected", ""]
        lines += [f"- `{path}`: {why}" for path, why in result.rejected.items()]
    if result.skipped:
        lines += ["", "### Skipped", "", ", ".join(result.skipped)]
    return "\n".join(lines)


@flow(
    name="localize-catalog",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=8),  # type: ignore[arg-type]
)
def localize_catalog(
    catalog: str,
    out: str | None = None,
    targets: list[TargetLanguage] | None = None,
    mt_backend: MTBackend | None = None,
    source: Literal["fused", "ocr", "asr"] | None = None,
    review: bool = False,
    max_parallel: int = 2,
    retry_failed: bool = True,
    runner: RunnerKind = "thread",
    dask_address: str | None = None,
    ray_address: str | None = None,
    workers: int | None = None,
    result_storage: str | None = None,
    lock_timeout: float = 0.0,
) -> CatalogResult:
    """Localize the new and changed episodes of every series in ``catalog``.

    ``targets``, ``mt_backend`` and ``source`` override each series' ``series.toml``.
    Review is off by default: a nightly run should not wait for people.

    ``runner``: ``thread`` (default), ``dask`` (a local cluster of ``workers`` processes,
    or the scheduler at ``dask_address`` / ``$LOCALIZE_DASK_ADDRESS``) or ``ray``.
    ``result_storage`` (a path or fsspec URL; default ``OUT/.catalog/results``) holds the
    cached stage results; every worker must reach it. A second run on the same ``out``
    waits ``lock_timeout`` seconds for the first, then fails with CatalogBusyError.
    """
    logger = get_run_logger()
    root = Path(catalog).expanduser()
    out_root = Path(out).expanduser() if out else default_out(root)
    spec = resolve_runner(
        runner,
        dask_address=dask_address,
        ray_address=ray_address,
        workers=workers,
        default_workers=max(1, max_parallel),
    )
    results = save_result_storage(
        result_storage or str((out_root / STATE_DIR / RESULTS_DIR).resolve())
    )
    with state_lock(out_root, wait=lock_timeout):
        for stale in sweep_stale(out_root):
            logger.warning("removed %s, left half-written by an interrupted run", stale)
        state = CatalogState.load(out_root)
        overrides = {"targets": targets, "mt_backend": mt_backend, "source": source}
        plans, rejected = plan(discover(root), state, out_root, overrides)
        state.save()  # keep the hash cache even if the run stops early
        for r in rejected:
            logger.warning("rejected %s: %s", r.path, r.reason)

        def wanted(p: EpisodePlan) -> bool:
            return any(s.needs_run and (retry_failed or s.status != FAILED) for s in p.languages)

        todo = [p for p in plans if wanted(p)]
        skipped = [p.episode.key for p in plans if not wanted(p)]
        logger.info(
            "%d episodes: %d to localize, %d up to date", len(plans), len(todo), len(skipped)
        )
        for p in todo:
            why = "; ".join(f"{s.language} {s.status} {s.detail}".strip() for s in p.languages)
            logger.info("%s: %s", p.episode.key, why)

        outcomes: dict[str, EpisodeOutcome] = {}
        if todo:
            logger.info("running episodes on %s", spec.describe())
            with api_for_workers(spec):
                outcomes = run_episodes(
                    todo, state, build_task_runner(spec), max(1, max_parallel), review, results
                )

    result = CatalogResult(
        processed=[k for k, o in outcomes.items() if o.status == DONE],
        skipped=skipped,
        failed={k: o.error for k, o in outcomes.items() if o.status == FAILED},
        rejected={r.path: r.reason for r in rejected},
        stages={k: o.stages for k, o in outcomes.items()},
        workers={k: o.worker for k, o in outcomes.items() if o.worker},
        runner=spec.describe(),
    )
    create_markdown_artifact(
        _summary(result, outcomes), key="catalog-summary", description="Catalog run summary"
    )
    return result


def run_episodes(
    todo: list[EpisodePlan],
    state: CatalogState,
    task_runner: Any,
    limit: int,
    review: bool,
    results: str,
) -> dict[str, EpisodeOutcome]:
    """Submit episodes to ``task_runner``, at most ``limit`` in flight; record each outcome
    in the state as soon as it arrives. Returns the outcomes in order of completion."""
    logger = get_run_logger()
    outcomes: dict[str, EpisodeOutcome] = {}
    pending: dict[PrefectFuture[EpisodeOutcome], EpisodePlan] = {}
    queue = list(todo)
    tracker = CatalogProgress(len(todo))  # the UI's progress artifact and the CLI's bars
    with task_runner:
        while queue or pending:
            while queue and len(pending) < limit:
                item = queue.pop(0)
                if review:
                    for lang in item.settings["targets"]:
                        state.record(item.episode, [lang], REVIEW, item.fingerprint(lang))
                    state.save()
                parameters = {
                    "key": item.episode.key,
                    "params": _params(item, review),
                    "results": results,
                }
                with tracker.running(item.episode.key):
                    pending[task_runner.submit(episode_task, parameters)] = item
            finished = wait(list(pending), timeout=1.0).done
            for future in finished:
                item = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # the wrapper itself failed (a crashed worker)
                    error = (str(exc).strip() or type(exc).__name__).splitlines()[0]
                    outcome = EpisodeOutcome(item.episode.key, FAILED, 0.0, error=error)
                outcomes[item.episode.key] = outcome
                record_outcome(state, item, outcome)
                tracker.finished(outcome.key, outcome.status == FAILED, outcome.error)
                if outcome.status == FAILED:
                    logger.error("%s failed: %s", outcome.key, outcome.error)
                else:
                    logger.info(
                        "%s done in %.1f s on %s", outcome.key, outcome.seconds, outcome.worker
                    )
    tracker.close()
    return outcomes
