"""Progress on a console: :class:`LineReporter` prints one line per stage (for CI and
``nohup``); :class:`RichReporter` draws progress bars on a terminal; :func:`console_reporter`
picks."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from localize.progress.tracker import Tracker, format_duration, format_units


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
