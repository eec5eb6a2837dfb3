"""The ``localize-catalog`` flow: localize only the new or changed episodes of a catalog.

It scans the catalog (:mod:`localize.catalog`), and runs the episode flow as a subflow
for each episode that is new, changed or failed before, at most ``max_parallel`` at a
time. A failing episode (a corrupt file, a bad glossary) is recorded with its reason
and the others finish. State is saved after every episode, so a crashed run resumes
where it stopped; the episode flow's cached tasks make a re-run of a half-done episode
cheap. A summary artifact lists what was processed, skipped and failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows.episode import EpisodeResult, localize_episode
from flows.params import EpisodeParams, MTBackend, TargetLanguage
from localize.catalog import (
    DONE,
    FAILED,
    REVIEW,
    CatalogState,
    EpisodePlan,
    default_out,
    discover,
    manifest_id,
    plan,
    read_manifest,
)

#: every task run of a catalog episode carries this tag: ``prefect concurrency-limit
#: create localize-catalog 2`` caps episodes across all workers and runs
CATALOG_TAG = "localize-catalog"


@dataclass(frozen=True)
class EpisodeOutcome:
    key: str
    status: str  # "done", "failed"
    seconds: float
    error: str = ""
    manifest: str = ""
    stages: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogResult:
    processed: list[str]
    skipped: list[str]
    failed: dict[str, str]
    rejected: dict[str, str]
    stages: dict[str, dict[str, float]]


def _stage_times(flow_run_id: Any) -> dict[str, float]:
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


@task(name="catalog-episode", task_run_name="episode {key}", retries=0)
def episode_task(key: str, params: EpisodeParams) -> EpisodeOutcome:
    """Run the episode flow as a subflow; failures become an outcome, not an exception."""
    start = time.monotonic()
    with tags(CATALOG_TAG):
        state = localize_episode(params, return_state=True)
    stages: dict[str, float] = {}
    try:
        stages = _stage_times(state.state_details.flow_run_id)
    except Exception as exc:  # timings are nice to have; never fail an episode for them
        get_run_logger().warning("no stage times for %s: %s", key, exc)
    seconds = round(time.monotonic() - start, 2)
    if not state.is_completed():
        try:
            state.result()
            error = str(state.message or state.name)
        except Exception as exc:  # the episode's own error, e.g. a corrupt video
            error = str(exc).strip() or type(exc).__name__
        return EpisodeOutcome(key, FAILED, seconds, error=error.splitlines()[0], stages=stages)
    result: EpisodeResult = state.result()
    manifest = read_manifest(Path(result.out_dir))
    return EpisodeOutcome(
        key, DONE, seconds, manifest=manifest_id(manifest) if manifest else "", stages=stages
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
            manifest=outcome.manifest,
            seconds=outcome.seconds,
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
            "| episode | result | seconds | " + " | ".join(stages) + " | reason |",
            "|---|---|---|" + "---|" * len(stages) + "---|",
        ]
        for key, o in outcomes.items():
            cells = [str(o.stages.get(s, "")) for s in stages]
            reason = o.error.replace("|", "\\|")
            lines.append(
                f"| {key} | {o.status} | {o.seconds} | " + " | ".join(cells) + f" | {reason} |"
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
) -> CatalogResult:
    """Localize the new and changed episodes of every series in ``catalog``.

    ``targets``, ``mt_backend`` and ``source`` override each series' ``series.toml``.
    Review is off by default: a nightly run should not wait for people.
    """
    logger = get_run_logger()
    root = Path(catalog).expanduser()
    out_root = Path(out).expanduser() if out else default_out(root)
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
    logger.info("%d episodes: %d to localize, %d up to date", len(plans), len(todo), len(skipped))
    for p in todo:
        why = "; ".join(f"{s.language} {s.status} {s.detail}".strip() for s in p.languages)
        logger.info("%s: %s", p.episode.key, why)

    outcomes: dict[str, EpisodeOutcome] = {}
    pending: dict[PrefectFuture[EpisodeOutcome], EpisodePlan] = {}
    queue = list(todo)
    limit = max(1, max_parallel)
    while queue or pending:
        while queue and len(pending) < limit:
            item = queue.pop(0)
            if review:
                for lang in item.settings["targets"]:
                    state.record(item.episode, [lang], REVIEW, item.fingerprint(lang))
                state.save()
            pending[episode_task.submit(item.episode.key, _params(item, review))] = item
        finished = wait(list(pending), timeout=1.0).done
        for future in finished:
            item = pending.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the wrapper itself failed (a crashed worker)
                outcome = EpisodeOutcome(item.episode.key, FAILED, 0.0, error=str(exc))
            outcomes[item.episode.key] = outcome
            record_outcome(state, item, outcome)
            if outcome.status == FAILED:
                logger.error("%s failed: %s", outcome.key, outcome.error)
            else:
                logger.info("%s done in %.1f s", outcome.key, outcome.seconds)

    result = CatalogResult(
        processed=[k for k, o in outcomes.items() if o.status == DONE],
        skipped=skipped,
        failed={k: o.error for k, o in outcomes.items() if o.status == FAILED},
        rejected={r.path: r.reason for r in rejected},
        stages={k: o.stages for k, o in outcomes.items()},
    )
    create_markdown_artifact(
        _summary(result, outcomes), key="catalog-summary", description="Catalog run summary"
    )
    return result
