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
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

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

#: ``(seconds per second of media, fixed seconds)``; ``None``: cannot be estimated
#: (a person reviewing, a download of unknown speed)
Weight: TypeAlias = tuple[float, float] | None

#: what each stage costs on the reference machine (2 cores, no GPU; README "Measured"):
#: keyed by the stage's first word ("translate en" -> "translate")
STAGE_WEIGHTS: Mapping[str, Weight] = {
    "sample": (0.0, 20.0),
    "start": (0.0, 15.0),  # Prefect: a temporary local server when none is configured
    "probe": (0.0, 0.5),
    "transcribe": (0.1, 4.0),  # whisper-base int8, ~14x real time, + model load
    "ocr": (0.13, 2.0),  # 6-8 s per minute of video, + model load
    "translate": (0.75, 2.0),  # the LLM: 0.3 lines/s, a line per ~4.5 s of drama
    "qc": (0.0, 0.3),
    "review": None,
    "dub": (0.25, 2.0),  # piper + fit + mix: ~20 s per 81 s episode
    "package": (0.02, 1.0),
    "download": None,
    "assemble": (0.0, 10.0),
    "convert": (0.0, 75.0),  # GGUF -> CTranslate2, the 1.5B LLM
    "verify": (0.0, 5.0),
}


def _base(stage_name: str) -> str:
    return stage_name.split(" ", 1)[0]


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_units(done: float, total: float | None, unit: str) -> str:
    """``7/18 lines``, ``350/1100 MB`` (bytes are shown in MB), ``42 frames``."""
    if unit == "bytes":
        done, total, unit = done / 1e6, (total / 1e6 if total else total), "MB"
    if unit == "s":
        shown = f"{format_duration(done)}" + (f"/{format_duration(total)}" if total else "")
        return f"{shown} of audio"
    counted = f"{done:.0f}" + (f"/{total:.0f}" if total else "")
    return f"{counted} {unit}".strip()


# ----------------------------------------------------------------------------- reporters
class Reporter:
    """What a progress front end receives. This base class ignores everything.

    ``job`` names what the stages belong to (an episode, a model); ``stage`` is a name
    like ``"translate en"``. ``parent`` is ``(job, stage)`` of a stage that counts this
    job as one of its units (a catalog counting episodes), or ``None``.
    """

    def plan(
        self,
        job: str,
        stages: Sequence[str],
        media_s: float | None,
        weights: Mapping[str, Weight],
    ) -> None:
        """The stages ``job`` will go through, for the time-remaining estimate."""

    def started(
        self,
        job: str,
        stage: str,
        total: float | None,
        unit: str,
        parent: tuple[str, str] | None,
    ) -> None:
        """A stage began (``total`` units of ``unit`` if known)."""

    def progressed(
        self, job: str, stage: str, done: float, total: float | None, unit: str = ""
    ) -> None:
        """``done`` of ``total`` units (of ``unit``) of the stage are done (called often:
        keep it cheap)."""

    def until_next(self, job: str, stage: str) -> None:
        """The stage just started ends when the job's next stage starts (e.g. ``start``:
        the front end cannot see when Prefect is ready, the flow's first stage can)."""

    def finished(self, job: str, stage: str, error: str | None) -> None:
        """A stage ended, with the first line of its error if it failed."""

    def job_finished(self, job: str, error: str | None) -> None:
        """Everything of ``job`` is over (a catalog episode done or failed)."""

    def note(self, job: str, text: str) -> None:
        """Something the user should see now (``waiting for review in the Prefect UI``)."""

    def close(self) -> None:
        """The command is over: stop drawing."""


NULL = Reporter()


@dataclass
class _Stage:
    name: str
    started: float
    total: float | None = None
    unit: str = ""
    done: float = 0.0
    ended: float | None = None
    error: str | None = None
    until_next: bool = False


@dataclass
class _Job:
    name: str
    started: float
    parent: tuple[str, str] | None = None
    planned: list[str] = field(default_factory=list)
    media_s: float | None = None
    weights: dict[str, Weight] = field(default_factory=dict)
    stages: dict[str, _Stage] = field(default_factory=dict)  # in start order
    has_plan: bool = False
    ended: float | None = None
    error: str | None = None


class Tracker(Reporter):
    """A reporter that remembers every job and stage and estimates the time remaining.

    Thread-safe: events may come from any thread. Subclasses draw; they get the state
    through :meth:`snapshot`, :meth:`fraction` and :meth:`eta`.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self.jobs: dict[str, _Job] = {}
        self.t0 = clock()

    # -- events ----------------------------------------------------------------------
    def _job(self, name: str) -> _Job:
        found = self.jobs.get(name)
        if found is None:
            found = self.jobs[name] = _Job(name, self.clock())
        return found

    def plan(
        self,
        job: str,
        stages: Sequence[str],
        media_s: float | None,
        weights: Mapping[str, Weight],
    ) -> None:
        with self._lock:
            j = self._job(job)
            j.planned = list(dict.fromkeys([*j.stages, *stages]))
            j.has_plan = True
            j.media_s = media_s
            j.weights.update(weights)

    def started(
        self,
        job: str,
        stage: str,
        total: float | None,
        unit: str,
        parent: tuple[str, str] | None,
    ) -> None:
        with self._lock:
            j = self._job(job)
            if parent is not None:
                j.parent = parent
            for s in j.stages.values():
                if s.until_next and s.ended is None:
                    s.ended = self.clock()
            j.stages[stage] = _Stage(stage, self.clock(), total, unit)
            if stage not in j.planned:
                j.planned.append(stage)

    def progressed(
        self, job: str, stage: str, done: float, total: float | None, unit: str = ""
    ) -> None:
        with self._lock:
            s = self.jobs[job].stages[stage]
            s.done, s.total, s.unit = done, total, unit or s.unit

    def until_next(self, job: str, stage: str) -> None:
        with self._lock:
            self.jobs[job].stages[stage].until_next = True

    def finished(self, job: str, stage: str, error: str | None) -> None:
        with self._lock:
            s = self.jobs[job].stages[stage]
            if s.ended is not None and s.until_next:
                return  # already ended by the next stage
            s.ended, s.error = self.clock(), error
            if error is None and s.total:
                s.done = s.total

    def job_finished(self, job: str, error: str | None) -> None:
        with self._lock:
            j = self._job(job)
            j.ended, j.error = self.clock(), error

    # -- estimates -------------------------------------------------------------------
    def expected_s(self, job: str, stage: str) -> float | None:
        """Seconds ``stage`` should take from the weights, or None if they cannot tell."""
        with self._lock:
            j = self.jobs[job]
            key = stage if stage in j.weights else _base(stage)
            weight = j.weights[key] if key in j.weights else STAGE_WEIGHTS.get(key, None)
            if weight is None:
                return None
            per_s, fixed = weight
            if per_s and j.media_s is None:
                return None
            return per_s * (j.media_s or 0.0) + fixed

    def _speed(self, j: _Job) -> float:
        """How much slower (>1) or faster than the weights this job's stages ran.

        Stages much faster than expected were probably cached and are left out."""
        expected = actual = 0.0
        for s in j.stages.values():
            if s.ended is None or s.error:
                continue
            e = self.expected_s(j.name, s.name)
            took = s.ended - s.started
            if e and e >= 1.0 and took >= 0.3 * e:
                expected, actual = expected + e, actual + took
        return min(3.0, max(1 / 3, actual / expected)) if expected else 1.0

    def _children(self, job: str, stage: str) -> list[_Job]:
        return [j for j in self.jobs.values() if j.parent == (job, stage) and j.ended is None]

    def stage_fraction(self, job: str, stage: str) -> float | None:
        """How far the stage is, from its units (and its running child jobs), or None."""
        with self._lock:
            s = self.jobs[job].stages[stage]
            if s.ended is not None:
                return 1.0
            if not s.total:
                return None
            partial = sum(self.fraction(c.name) or 0.0 for c in self._children(job, stage))
            return min(1.0, (s.done + partial) / s.total)

    def fraction(self, job: str) -> float | None:
        """How far the job is (0..1), weighting its stages by their expected time; None
        before its plan is known, unless its one stage counts units."""
        with self._lock:
            j = self.jobs[job]
            if j.ended is not None:
                return 1.0
            if not j.has_plan:
                running = [s for s in j.stages.values() if s.ended is None]
                if len(running) == 1 and running[0].total:
                    return self.stage_fraction(job, running[0].name)
                return None
            speed = self._speed(j)
            total = done = 0.0
            for name in j.planned:
                e = self.expected_s(job, name)
                s = j.stages.get(name)
                if e is None:
                    if s is not None and s.ended is None and s.total:
                        return self.stage_fraction(job, name)  # e.g. a download of bytes
                    continue
                total += e
                if s is None:
                    continue
                if s.ended is not None:
                    done += e
                    continue
                f = self.stage_fraction(job, name)
                if f is None:
                    f = min(0.95, (self.clock() - s.started) / (e * speed or 1.0))
                done += e * f
            return done / total if total else None

    def eta(self, job: str) -> float | None:
        """Seconds until the job is done, or None when it cannot be told (waiting for a
        person, a download of unknown speed, nothing known yet)."""
        with self._lock:
            j = self.jobs[job]
            if j.ended is not None:
                return 0.0
            now, speed = self.clock(), self._speed(j)
            remaining, known = 0.0, False
            for name in j.planned:
                s = j.stages.get(name)
                if s is not None and s.ended is not None:
                    continue
                e = self.expected_s(job, name)
                if s is None:  # still to come
                    if e is not None:
                        remaining, known = remaining + e * speed, True
                    continue
                elapsed = now - s.started
                f = self.stage_fraction(job, name)
                if f is not None and f > 0:
                    remaining += elapsed * (1 - f) / f
                elif e is not None:
                    remaining += max(e * speed - elapsed, 0.05 * e * speed)
                else:
                    return None  # running and unknowable
                known = True
            return remaining if known else None

    def finish_open_jobs(self, error: str | None = None) -> None:
        """End every job still open (the command is over); ``error`` if it failed."""
        with self._lock:
            open_jobs = [j.name for j in self.jobs.values() if j.ended is None]
        for name in open_jobs:
            self.job_finished(name, error)

    def snapshot(self) -> list[tuple[_Job, _Stage | None]]:
        """Every job with its running (or else last) stage, in start order."""
        with self._lock:
            out: list[tuple[_Job, _Stage | None]] = []
            for j in self.jobs.values():
                running = [s for s in j.stages.values() if s.ended is None]
                every = list(j.stages.values())
                out.append((j, running[-1] if running else (every[-1] if every else None)))
            return out


class LineReporter(Tracker):
    """One line per stage, for logs (CI, ``nohup``, a pipe)::

        [0:04] ep01: transcribe (about 0:35 left)
        [0:31] ep01: translate en, 9/18 lines (about 0:30 left)

    A long stage that counts units gets another line at most every ``heartbeat_s``.
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        heartbeat_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.stream = stream
        self.heartbeat_s = heartbeat_s
        self._last: dict[tuple[str, str], float] = {}

    def _emit(self, text: str) -> None:
        line = f"[{format_duration(self.clock() - self.t0)}] {text}\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()

    def _left(self, job: str) -> str:
        eta = self.eta(job)
        return f" (about {format_duration(eta)} left)" if eta and eta >= 1 else ""

    def started(
        self,
        job: str,
        stage: str,
        total: float | None,
        unit: str,
        parent: tuple[str, str] | None,
    ) -> None:
        super().started(job, stage, total, unit, parent)
        self._last[(job, stage)] = self.clock()
        counted = f", {format_units(total, None, unit)}" if total else ""
        self._emit(f"{job}: {stage}{counted}{self._left(job)}")

    def progressed(
        self, job: str, stage: str, done: float, total: float | None, unit: str = ""
    ) -> None:
        super().progressed(job, stage, done, total, unit)
        now = self.clock()
        if now - self._last.get((job, stage), now) >= self.heartbeat_s:
            self._last[(job, stage)] = now
            unit = self.jobs[job].stages[stage].unit
            self._emit(f"{job}: {stage}, {format_units(done, total, unit)}{self._left(job)}")

    def finished(self, job: str, stage: str, error: str | None) -> None:
        super().finished(job, stage, error)
        if error is not None:
            self._emit(f"{job}: {stage} failed: {error}")

    def job_finished(self, job: str, error: str | None) -> None:
        super().job_finished(job, error)
        j = self.jobs[job]
        took = format_duration((j.ended or j.started) - j.started)
        self._emit(f"{job}: failed after {took}: {error}" if error else f"{job}: done in {took}")

    def note(self, job: str, text: str) -> None:
        self._emit(f"{job}: {text}")


class RichReporter(Tracker):
    """Progress bars on a terminal (rich): a row per job with its current stage, the
    units of that stage, the job's progress and the time remaining. Finished child jobs
    (catalog episodes) leave a line above the bars and their row goes away."""

    def __init__(self, stream: IO[str], *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        reporter = self

        class _Progress(Progress):
            def get_renderables(self) -> Iterator[Any]:
                reporter._sync()
                yield from super().get_renderables()

        self.console = Console(file=stream, highlight=False)
        self.progress = _Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[units]}"),
            TextColumn("{task.fields[left]}"),
            console=self.console,
            refresh_per_second=4,
            redirect_stdout=False,
        )
        self._rows: dict[str, Any] = {}
        self._started = False

    def _row(self, job: str) -> None:
        if job not in self._rows:
            self._rows[job] = self.progress.add_task(job, total=100, units="", left="")
        if not self._started:
            self._started = True
            self.progress.start()

    def _sync(self) -> None:
        """Copy the tracker's state into the bars (runs on every refresh)."""
        for j, s in self.snapshot():
            row = self._rows.get(j.name)
            if row is None:
                continue
            fraction = self.fraction(j.name)
            eta = self.eta(j.name)
            waiting = s is not None and s.ended is None and self.expected_s(j.name, s.name) is None
            if j.ended is not None:
                left = "failed" if j.error else f"done in {format_duration(j.ended - j.started)}"
            elif eta is not None:
                left = f"{format_duration(eta)} left"
            else:
                left = "waiting" if waiting and s is not None and not s.total else ""
            units = ""
            if s is not None and s.ended is None and (s.total or s.done):
                units = format_units(s.done, s.total, s.unit)
            stage = "" if s is None or j.ended is not None else f"  {s.name}"
            self.progress.update(
                row,
                description=f"[bold]{j.name}[/bold]{stage}",
                total=None if fraction is None else 100,  # None: the bar pulses
                completed=100 * (fraction or 0.0),
                units=units,
                left=left,
            )

    def started(
        self,
        job: str,
        stage: str,
        total: float | None,
        unit: str,
        parent: tuple[str, str] | None,
    ) -> None:
        super().started(job, stage, total, unit, parent)
        self._row(job)

    def finished(self, job: str, stage: str, error: str | None) -> None:
        super().finished(job, stage, error)
        if error is not None:
            self.console.print(f"[red]{job}: {stage} failed:[/red] {error}")

    def job_finished(self, job: str, error: str | None) -> None:
        super().job_finished(job, error)
        j = self.jobs[job]
        took = format_duration((j.ended or j.started) - j.started)
        if j.parent is None:  # its row stays and says so
            if error:
                self.console.print(f"[red]{job} failed after {took}:[/red] {error}")
            return
        if error:
            self.console.print(f"[red]x[/red] {job} failed after {took}: {error}")
        else:
            self.console.print(f"[green]v[/green] {job} done in {took}")
        row = self._rows.pop(job, None)
        if row is not None:
            self.progress.remove_task(row)

    def note(self, job: str, text: str) -> None:
        self.console.print(f"{job}: {text}")

    def close(self) -> None:
        if self._started:
            self._sync()
            self.progress.stop()
            self._started = False


def console_reporter(stream: IO[str] | None = None) -> Tracker:
    """Bars on a terminal, one line per stage otherwise (CI, ``nohup``, a pipe)."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return RichReporter(stream)
    return LineReporter(stream)


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
