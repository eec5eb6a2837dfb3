"""Where the catalog's per-episode work runs: threads here, a Dask cluster, or Ray.

``thread`` (the default) runs episodes on threads of the flow's own process. ``dask``
runs each episode on a Dask worker process via prefect-dask: a local cluster of
``workers`` processes started for the run, or an existing scheduler (``dask_address``,
else ``$LOCALIZE_DASK_ADDRESS``) whose workers may sit on other hosts. ``ray`` does the
same on Ray via prefect-ray (the ``[ray]`` extra; not installed by default).

A worker must see the same paths as the flow: the catalog, the output folder and the
result storage on shared storage, and ``LOCALIZE_HOME`` with the prepared models.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from localize.catalog import CatalogError

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

RunnerKind = Literal["thread", "dask", "ray"]
RUNNERS: tuple[str, ...] = get_args(RunnerKind)
DASK_ADDRESS_ENV = "LOCALIZE_DASK_ADDRESS"
RAY_ADDRESS_ENV = "LOCALIZE_RAY_ADDRESS"


class RunnerError(CatalogError):
    """The chosen task runner cannot be used (missing package, bad address)."""


@dataclass(frozen=True)
class RunnerSpec:
    """A task runner choice, resolved against the environment."""

    kind: RunnerKind = "thread"
    #: Dask scheduler (``tcp://host:8786``) or Ray cluster (``ray://host:10001``);
    #: None starts a local cluster for the run
    address: str | None = None
    #: threads (``thread``) or worker processes of a local Dask/Ray cluster
    workers: int = 2

    def describe(self) -> str:
        if self.kind == "thread":
            return f"{self.workers} threads in the flow's process"
        where = self.address or f"a local cluster of {self.workers} worker processes"
        return f"{self.kind}: {where}"


def resolve_runner(
    kind: str = "thread",
    *,
    dask_address: str | None = None,
    ray_address: str | None = None,
    workers: int | None = None,
    default_workers: int = 2,
) -> RunnerSpec:
    """A :class:`RunnerSpec` from flow parameters, falling back to the environment."""
    if kind not in RUNNERS:
        raise RunnerError(f"unknown runner {kind!r}", f"choose one of: {', '.join(RUNNERS)}")
    n = workers if workers is not None else default_workers
    if n < 1:
        raise RunnerError(f"workers must be at least 1, got {n}", "pass --workers 1 or more")
    address = None
    if kind == "dask":
        address = dask_address or os.environ.get(DASK_ADDRESS_ENV) or None
        if address and "://" not in address:
            address = f"tcp://{address}"
    elif kind == "ray":
        address = ray_address or os.environ.get(RAY_ADDRESS_ENV) or None
    return RunnerSpec(kind, address, n)  # type: ignore[arg-type]


def build_task_runner(spec: RunnerSpec) -> TaskRunner[Any]:
    """A fresh (not yet started) Prefect task runner for ``spec``."""
    if spec.kind == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=spec.workers)
    if spec.kind == "dask":
        try:
            from prefect_dask.task_runners import DaskTaskRunner
        except ImportError:
            raise RunnerError(
                "the dask runner needs prefect-dask, which is not installed",
                "pip install -e . (prefect-dask is a dependency of localize)",
            ) from None
        if spec.address:
            return DaskTaskRunner(address=spec.address)
        # one thread per worker process: an episode's models and ffmpeg calls already
        # use the cores; processes, not threads, so workers are real separate processes
        # like on a remote cluster. Everything listens on 127.0.0.1 only.
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": spec.workers,
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": None,
                # the workers' run logs go to the Prefect API (the UI) as usual; on the
                # terminal of `localize catalog run` only their warnings
                "env": {"PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING"},
            },
        )
    try:
        from prefect_ray import RayTaskRunner
    except ImportError:
        raise RunnerError(
            "the ray runner needs prefect-ray, which is not installed",
            "pip install -e '.[ray]' (large: Ray itself is ~200 MB), or use --runner dask",
        ) from None
    init: dict[str, Any] = {} if spec.address else {"num_cpus": spec.workers}
    runner: TaskRunner[Any] = RayTaskRunner(address=spec.address, init_kwargs=init)
    return runner


@contextmanager
def api_for_workers(spec: RunnerSpec) -> Iterator[None]:
    """Make the flow's Prefect API address explicit while submitting to other processes.

    Without ``PREFECT_API_URL`` Prefect runs a temporary server inside the flow's
    process; a Dask or Ray worker handed those settings would start a private temporary
    server of its own, and its task runs would never reach the flow's. Here the
    temporary server's address is put into the settings the workers receive. (Workers on
    other hosts need a real server: set ``PREFECT_API_URL``.)
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if spec.kind == "thread" or PREFECT_API_URL.value():
        yield
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        url = str(client.api_url).rstrip("/")
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield
