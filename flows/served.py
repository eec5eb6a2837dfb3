"""The flows ``localize serve`` deploys: what a run request may choose, and nothing else.

Whoever reaches the Prefect API can start a deployment with parameters of their choice.
So the deployed flows are thin wrappers that take only safe parameters:

- ``localize-episode/manager`` takes :class:`EpisodeParams`, but every path in it (video,
  output folder, music stem, a glossary given as a path) must lie under the roots the
  operator configured (``localize serve --root DIR``, ``$LOCALIZE_SERVE_ROOTS``), and models
  must be packaged names (a model folder or a Hugging Face repo could carry code).
- ``localize-catalog/nightly`` takes the languages, backend, source, review and
  concurrency; the catalog and output folders, the task runner, the Dask/Ray scheduler
  address and the result storage come from the serving process's environment
  (:class:`OperatorSettings`), never from a request.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow
from pydantic import Field

from flows.catalog import CatalogResult, localize_catalog
from flows.episode import EpisodeResult, localize_episode
from flows.params import EpisodeParams, MTBackend, TargetLanguage
from flows.results import RESULTS
from localize.catalog import CatalogError
from localize.errors import LocalizeError
from localize.models import DERIVED, PACKAGED, localize_home
from localize.paths import is_within

#: folders (os.pathsep-separated) a run request's paths must lie under
ROOTS_ENV = "LOCALIZE_SERVE_ROOTS"


class RequestRefused(LocalizeError):
    """A run request asked for something only the operator may choose."""


def serve_roots() -> list[Path]:
    """Where a run request's files may be: ``$LOCALIZE_SERVE_ROOTS``, else the folder
    ``localize serve`` was started in and the catalog folder."""
    listed = [p for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser().resolve() for p in listed]
    return [Path.cwd().resolve(), catalog_folder().resolve()]


def catalog_folder() -> Path:
    return Path(os.environ.get("LOCALIZE_CATALOG") or localize_home() / "catalog-in").expanduser()


def check_episode_request(params: EpisodeParams, roots: Sequence[Path]) -> None:
    """Raise :class:`RequestRefused` naming every path outside ``roots`` and every model
    that is not a packaged name."""
    problems: list[str] = []
    paths = {"video": params.video, "out_dir": params.out_dir, "music_stem": params.music_stem}
    if params.series.endswith(".toml") or "/" in params.series or os.sep in params.series:
        paths["series"] = params.series
    for name, value in paths.items():
        if value is not None and not any(is_within(Path(value).expanduser(), r) for r in roots):
            problems.append(f"{name} {value!r} is outside {', '.join(map(str, roots))}")
    known = {*PACKAGED, *DERIVED}
    for name, model in (("asr_model", params.asr_model), ("mt_model", params.mt_model)):
        if model not in known:
            problems.append(f"{name} {model!r} is not a packaged model name")
    if problems:
        raise RequestRefused(
            "run request refused: " + "; ".join(problems),
            "paths must lie under the folders `localize serve` was given (--root DIR) and "
            "models must be packaged names; for anything else run the localize command on "
            "the server, or ask the operator to add the folder",
        )


@flow(name="localize-episode", log_prints=True, persist_result=True, result_serializer=RESULTS)
def served_episode(params: EpisodeParams) -> EpisodeResult:
    """Localize one episode: pick the video, the series glossary and the target languages."""
    check_episode_request(params, serve_roots())
    # the flow's body, in this run: a review can then suspend it (a subflow could not)
    return localize_episode.fn(params)


@dataclass(frozen=True)
class OperatorSettings:
    """What only the operator chooses for the nightly run: the serving process's env."""

    catalog: Path
    out: Path | None
    runner: str
    workers: int | None
    result_storage: str | None

    @classmethod
    def from_env(cls) -> OperatorSettings:
        workers = os.environ.get("LOCALIZE_WORKERS")
        try:
            count = int(workers) if workers else None
        except ValueError:
            raise CatalogError(
                f"LOCALIZE_WORKERS={workers!r} is not a number", "set it to e.g. 2"
            ) from None
        out = os.environ.get("LOCALIZE_CATALOG_OUT")
        return cls(
            catalog=catalog_folder(),
            out=Path(out).expanduser() if out else None,
            runner=os.environ.get("LOCALIZE_RUNNER", "thread"),
            workers=count,
            result_storage=os.environ.get("LOCALIZE_RESULT_STORAGE") or None,
        )


@flow(name="localize-catalog", log_prints=True)
def served_catalog(
    targets: list[TargetLanguage] | None = None,
    mt_backend: MTBackend | None = None,
    source: Literal["fused", "ocr", "asr"] | None = None,
    review: bool = False,
    max_parallel: Annotated[int, Field(ge=1, le=16)] = 2,
    retry_failed: bool = True,
    lock_timeout: Annotated[float, Field(ge=0, le=24 * 3600)] = 0.0,
) -> CatalogResult:
    """Localize what is new or changed in the catalog (``$LOCALIZE_CATALOG``).

    The folders, task runner (``$LOCALIZE_RUNNER``; Dask at ``$LOCALIZE_DASK_ADDRESS``) and
    result storage (``$LOCALIZE_RESULT_STORAGE``) are the operator's, set where
    ``localize serve`` runs.
    """
    op = OperatorSettings.from_env()
    return localize_catalog.fn(
        str(op.catalog),
        out=str(op.out) if op.out else None,
        targets=targets,
        mt_backend=mt_backend,
        source=source,
        review=review,
        max_parallel=max_parallel,
        retry_failed=retry_failed,
        runner=op.runner,  # type: ignore[arg-type]
        workers=op.workers,
        result_storage=op.result_storage,
        lock_timeout=lock_timeout,
    )
