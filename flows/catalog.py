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

import functools
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.catalog_progress import CatalogProgress
from flows.episode import EpisodeResult
from flows.params import EpisodeParams, MTBackend, QCPolicy, TargetLanguage
from flows.results import save_result_storage
from flows.runners import RunnerKind, api_for_workers, build_task_runner, resolve_runner
from localize.catalog import (
    DONE,
    FAILED,
    HELD,
    RESULTS_DIR,
    REVIEW,
    STATE_DIR,
    CatalogState,
    EpisodePlan,
    default_out,
    discover,
    held_detail,
    manifest_id,
    plan,
    read_manifest,
    rerun_held,
    state_lock,
    sweep_stale,
)
from localize.markdown import escape_markdown as md
from localize.settings import RUN_KEYS

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
    status: str  # "done", "failed", "held"
    seconds: float
    error: str = ""
    #: per published language, the id of its own files (localize.catalog.manifest_id)
    manifests: dict[str, str] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    worker: WorkerInfo | None = None
    qc_errors: int = 0  # of a held episode


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
    #: episodes held by the QC gate: "(N QC errors) draft at PATH"
    held: dict[str, str] = field(default_factory=dict)


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


def review_gone(run: str, current: str) -> str:
    """Why the flow run recorded as waiting for a review will never record its outcome
    ("" when it is this run). Called by a catalog run holding the state lock: the run
    that recorded the review held it too, so its process has ended whatever the server
    says; the server's word only makes the reason precise."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    if run == current:
        return ""
    try:
        with get_client(sync_client=True) as client:
            found = client.read_flow_run(UUID(run))
    except (ObjectNotFound, ValueError):  # server wiped, or recorded before ids were
        return f"the run that waited for this review ({run or 'unknown'}) no longer exists"
    what = f"the run that waited for this review ({found.name})"
    if found.state is None or found.state.is_final():
        return f"{what} has ended ({found.state.name if found.state else 'no state'})"
    return (
        f"{what} is marked {found.state.name} but its process has ended "
        "(it no longer holds the catalog lock)"
    )


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
    if result.held:
        detail = held_detail(result.qc_errors, result.held)
        return EpisodeOutcome(
            key,
            HELD,
            seconds,
            error=detail,
            stages=stages,
            worker=worker,
            qc_errors=result.qc_errors,
        )
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
    """The episode flow's parameters: the series' run settings (every key of RUN_KEYS)
    plus what belongs to this episode and this run."""
    return EpisodeParams(
        video=str(item.episode.video),
        series=str(item.glossary),
        review=review,
        out_dir=str(item.out_dir),
        **{key: item.settings[key] for key in RUN_KEYS},
    )


def _summary(result: CatalogResult, outcomes: dict[str, EpisodeOutcome]) -> str:
    lines = [
        "## Catalog run",
        "",
        f"**{len(result.processed)} processed, {len(result.held)} held, "
        f"{len(result.skipped)} skipped (already done), "
        f"{len(result.failed)} failed, {len(result.rejected)} rejected.**",
        "",
    ]
    if outcomes:
        stages = sorted({s for o in outcomes.values() for s in o.stages})
        lines += [
            f"Runner: {md(result.runner)}.",
            "",
            "| episode | result | seconds | " + " | ".join(stages) + " | worker | reason |",
            "|---|---|---|" + "---|" * len(stages) + "---|---|",
        ]
        for key, o in outcomes.items():
            cells = [str(o.stages.get(s, "")) for s in stages]
            status = f"held ({o.qc_errors} QC errors)" if o.status == HELD else o.status
            lines.append(
                f"| {md(key)} | {status} | {o.seconds} | "
                + " | ".join(cells)
                + f" | {md(str(o.worker or ''))} | {md(o.error)} |"
            )
    if result.rejected:
        lines += ["", "### Rejected", ""]
        lines += [f"- {md(path)}: {md(why)}" for path, why in result.rejected.items()]
    if result.skipped:
        lines += ["", "### Skipped", "", md(", ".join(result.skipped))]
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
    on_qc_errors: QCPolicy | None = None,
    compute_threads: int | None = None,
) -> CatalogResult:
    """Localize the new and changed episodes of every series in ``catalog``.

    ``targets``, ``mt_backend``, ``source`` and ``compute_threads`` (CPU threads per model,
    the same on every runner and worker) override each series' ``series.toml``.
    Review is off by default: a nightly run should not wait for people.

    ``runner``: ``thread`` (default), ``dask`` (a local cluster of ``workers`` processes,
    or the scheduler at ``dask_address`` / ``$LOCALIZE_DASK_ADDRESS``) or ``ray``.
    ``result_storage`` (a path or fsspec URL; default ``OUT/.catalog/results``) holds the
    cached stage results; every worker must reach it. A second run on the same ``out``
    waits ``lock_timeout`` seconds for the first, then fails with CatalogBusyError.
    ``on_qc_errors`` (overrides series.toml; default "hold"): without review, an episode
    whose QC has errors is held (draft in ``OUT/<series>/<episode>.held``) or published.
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
        overrides = {
            "targets": targets,
            "mt_backend": mt_backend,
            "source": source,
            "on_qc_errors": on_qc_errors,
            "compute_threads": compute_threads,
        }
        gone = functools.partial(review_gone, current=str(flow_run.id))
        plans, rejected = plan(discover(root), state, out_root, overrides, stale_review=gone)
        state.save()  # keep the hash cache even if the run stops early
        for r in rejected:
            logger.warning("rejected %s: %s", r.path, r.reason)

        def wanted(p: EpisodePlan) -> bool:
            held = rerun_held(p.settings, review=review)
            return any(
                (s.needs_run and (retry_failed or s.status != FAILED))
                or (s.status == HELD and held)
                for s in p.languages
            )

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
        held={k: o.error for k, o in outcomes.items() if o.status == HELD},
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
    this_run = str(flow_run.id)  # recorded with each review this run waits for
    with task_runner:
        while queue or pending:
            while queue and len(pending) < limit:
                item = queue.pop(0)
                if review:
                    for lang in item.settings["targets"]:
                        fingerprint = item.fingerprint(lang)
                        state.record(item.episode, [lang], REVIEW, fingerprint, run=this_run)
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
                tracker.finished(
                    outcome.key, outcome.status == FAILED, outcome.error, outcome.status == HELD
                )
                if outcome.status == FAILED:
                    logger.error("%s failed: %s", outcome.key, outcome.error)
                elif outcome.status == HELD:
                    logger.warning("%s held: %s", outcome.key, outcome.error)
                else:
                    logger.info(
                        "%s done in %.1f s on %s", outcome.key, outcome.seconds, outcome.worker
                    )
    tracker.close()
    return outcomes
