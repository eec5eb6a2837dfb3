"""Progress of long work: stages, units done and time remaining, reported from anywhere.

The library and the flows say what they are doing with the module functions::

    with progress.stage("translate en", job="ep01", total=18, unit="lines"):
        ...
        progress.advance()          # deep inside the library: one more line done

and a front end (the CLI) installs a :class:`Reporter` for the duration of a command with
:func:`reporting`. Nothing is reported unless one is installed, so library calls cost a
context-variable lookup.

The installed reporter, the current job and the current stage live in context variables,
not module globals: Prefect copies the context into the worker threads that run tasks, so
two episodes of a catalog run each advance their own stage, and a deployment run in another
process reports nothing. Reporters are thread-safe.

Time remaining (:meth:`Tracker.eta`) comes from units where a stage counts them (lines
translated, frames scanned, seconds of audio recognised, bytes assembled) and otherwise
from :data:`STAGE_WEIGHTS` (seconds of work per second of media, measured on 2 cores)
scaled by the episode's duration, corrected by how fast the finished stages actually went.

:class:`LineReporter` prints one line per stage (for CI and ``nohup``);
:class:`RichReporter` draws progress bars on a terminal. :func:`console_reporter` picks.

The package: :mod:`~localize.progress.tracker` (the model: stages, units, time remaining),
:mod:`~localize.progress.console` (the two console reporters), and here what code calls.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar

from localize.progress.console import LineReporter, RichReporter, console_reporter
from localize.progress.tracker import (
    NULL,
    STAGE_WEIGHTS,
    Reporter,
    Tracker,
    Weight,
    format_duration,
    format_units,
)

__all__ = [
    "STAGE_WEIGHTS",
    "LineReporter",
    "Reporter",
    "RichReporter",
    "StageHandle",
    "Tracker",
    "Weight",
    "add_total",
    "advance",
    "begin",
    "console_reporter",
    "current_job",
    "end",
    "finish_job",
    "format_duration",
    "format_units",
    "job",
    "note",
    "plan",
    "portion",
    "reach",
    "reporter",
    "reporting",
    "set_total",
    "stage",
]

# ----------------------------------------------------------------- what code calls
_reporter: ContextVar[Reporter] = ContextVar("localize_progress_reporter", default=NULL)
_job: ContextVar[tuple[str, tuple[str, str] | None] | None] = ContextVar(
    "localize_progress_job", default=None
)
_stage: ContextVar[StageHandle | None] = ContextVar("localize_progress_stage", default=None)


def reporter() -> Reporter:
    """The reporter installed for this context (a no-op one by default)."""
    return _reporter.get()


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Send the progress of everything run inside to ``reporter``; close it at the end."""
    token = _reporter.set(reporter)
    try:
        yield reporter
    finally:
        _reporter.reset(token)
        reporter.close()


@contextlib.contextmanager
def job(name: str, *, parent: StageHandle | None = None) -> Iterator[None]:
    """Stages started inside (without ``job=``) belong to job ``name``. The job is one of
    the units of ``parent`` (default: the current stage), e.g. a catalog counting
    episodes, whose progress then includes the job's partial progress."""
    current = parent if parent is not None else _stage.get()
    parent_key = (current.job, current.name) if current is not None else None
    token = _job.set((name, parent_key))
    try:
        yield
    finally:
        _job.reset(token)


def current_job() -> str | None:
    """The job set by an enclosing :func:`job`, if any."""
    found = _job.get()
    return found[0] if found else None


def plan(
    job: str,
    stages: Sequence[str],
    *,
    media_s: float | None = None,
    weights: Mapping[str, Weight] | None = None,
) -> None:
    """Declare the stages ``job`` will run and the media's length, for the estimate.

    ``weights`` override :data:`STAGE_WEIGHTS` (e.g. a dry-run translator is instant)."""
    _reporter.get().plan(job, stages, media_s, weights or {})


class StageHandle:
    """A running stage: ``advance``/``reach``/``set_total`` update its units."""

    def __init__(
        self, reporter: Reporter, job: str, name: str, total: float | None, unit: str
    ) -> None:
        self.reporter, self.job, self.name = reporter, job, name
        self.total, self.unit, self.done = total, unit, 0.0
        self._lock = threading.Lock()

    def advance(self, n: float = 1.0) -> None:
        with self._lock:
            self.done += n
            done, total = self.done, self.total
        self.reporter.progressed(self.job, self.name, done, total, self.unit)

    def reach(self, done: float) -> None:
        with self._lock:
            self.done = max(self.done, done)
            done, total = self.done, self.total
        self.reporter.progressed(self.job, self.name, done, total, self.unit)

    def set_total(self, total: float, unit: str | None = None) -> None:
        with self._lock:
            self.total = total
            if unit is not None:
                self.unit = unit
            done = self.done
        self.reporter.progressed(self.job, self.name, done, total, self.unit)

    def add_total(self, n: float) -> None:
        self.set_total((self.total or 0.0) + n)


class _Portion(StageHandle):
    """Counts the advances of a sub-step (capped at ``n``) and passes them on."""

    def __init__(self, outer: StageHandle, n: float) -> None:
        super().__init__(outer.reporter, outer.job, outer.name, outer.total, outer.unit)
        self.outer, self.n = outer, n

    def advance(self, n: float = 1.0) -> None:
        with self._lock:
            step = max(0.0, min(n, self.n - self.done))
            self.done += step
        if step:
            self.outer.advance(step)

    def reach(self, done: float) -> None:
        self.advance(done - self.done)

    def set_total(self, total: float, unit: str | None = None) -> None:
        pass  # the enclosing stage's total already counts this portion

    def add_total(self, n: float) -> None:
        pass


def begin(
    name: str,
    *,
    job: str | None = None,
    total: float | None = None,
    unit: str = "",
    until_next: bool = False,
) -> StageHandle:
    """Start a stage without a ``with`` block; end it with :func:`end`, or, with
    ``until_next``, let the job's next stage end it."""
    outer = _job.get()
    label = job or (outer[0] if outer else "localize")
    parent = outer[1] if outer and outer[0] == label else None
    rep = _reporter.get()
    rep.started(label, name, total, unit, parent)
    if until_next:
        rep.until_next(label, name)
    return StageHandle(rep, label, name, total, unit)


def end(handle: StageHandle, error: BaseException | str | None = None) -> None:
    """End a stage started with :func:`begin` (with the error if it failed)."""
    text = None
    if error is not None:
        text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    handle.reporter.finished(handle.job, handle.name, text)


@contextlib.contextmanager
def stage(
    name: str, *, job: str | None = None, total: float | None = None, unit: str = ""
) -> Iterator[StageHandle]:
    """A stage of ``job`` (default: the enclosing :func:`job`). Inside, :func:`advance`
    and friends update it; an exception marks it failed and propagates."""
    handle = begin(name, job=job, total=total, unit=unit)
    token = _stage.set(handle)
    try:
        yield handle
    except BaseException as exc:
        _stage.reset(token)
        end(handle, exc)
        raise
    _stage.reset(token)
    end(handle)


def advance(n: float = 1.0) -> None:
    """``n`` more units of the current stage are done (a no-op outside a stage)."""
    handle = _stage.get()
    if handle is not None:
        handle.advance(n)


def reach(done: float) -> None:
    """The current stage has done ``done`` units in all (never goes back)."""
    handle = _stage.get()
    if handle is not None:
        handle.reach(done)


def set_total(total: float, unit: str | None = None) -> None:
    """The current stage will do ``total`` units (of ``unit``: lines, frames, bytes...)."""
    handle = _stage.get()
    if handle is not None:
        handle.set_total(total, unit)


def add_total(n: float) -> None:
    """``n`` more units than announced (lines retried)."""
    handle = _stage.get()
    if handle is not None:
        handle.add_total(n)


@contextlib.contextmanager
def portion(n: float) -> Iterator[None]:
    """The code inside does ``n`` units of the current stage: its own advances count
    (up to ``n``), and whatever it did not report is added when it returns. So a caller
    can count lines around a backend that may or may not report them itself."""
    outer = _stage.get()
    if outer is None:
        yield
        return
    inner = _Portion(outer, n)
    token = _stage.set(inner)
    try:
        yield
    finally:
        _stage.reset(token)
    inner.advance(n - inner.done)


def finish_job(name: str, error: BaseException | str | None = None) -> None:
    """Everything of job ``name`` is over (a catalog episode), failed if ``error``."""
    text = None
    if error is not None:
        text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    _reporter.get().job_finished(name, text)


def note(text: str, *, job: str | None = None) -> None:
    """Tell the user something now (e.g. where to review)."""
    outer = _job.get()
    _reporter.get().note(job or (outer[0] if outer else "localize"), text)
