"""The progress model: stages of jobs, units done, and time remaining (:class:`Tracker`).

Time remaining (:meth:`Tracker.eta`) comes from units where a stage counts them (lines
translated, frames scanned, seconds of audio recognised, bytes assembled) and otherwise
from :data:`STAGE_WEIGHTS` (seconds of work per second of media, measured on 2 cores)
scaled by the episode's duration, corrected by how fast the finished stages actually went.
Front ends subclass :class:`Tracker` (:mod:`localize.progress.console`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

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
    "speakers": (0.09, 1.0),  # d-vector per cue: 0.076-0.095x real time (benchmarks.md)
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
