"""Resident memory of process trees, sampled from /proc (Linux), and the machine's load.

A benchmark step runs in a child process that starts its own children (ffmpeg, piper,
espeak-ng): :class:`TreeSampler` sums the resident set of every process under a root pid
a few times a second and keeps the peak and a timeline. The sum counts shared pages
(libraries mapped by several processes) once per process, so it errs on the high side.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def parents() -> dict[int, int]:
    """pid -> parent pid for every process we can see."""
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:  # exited while we looked
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        rest = raw[raw.rfind(b")") + 2 :].split()
        if len(rest) > 1:
            out[int(entry.name)] = int(rest[1])
    return out


def descendants(root: int, table: dict[int, int] | None = None) -> set[int]:
    """``root`` and every process below it (from ``table``, pid -> parent, if given)."""
    table = parents() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    found = {root}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _statm(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def tree_rss_bytes(pids: Iterable[int], table: dict[int, int] | None = None) -> int:
    """Summed RSS of ``pids``. With the parent ``table``, a child whose memory counters
    are identical to its parent's is skipped: it is a child between ``vfork`` and ``exec``
    (Python starts ffmpeg that way), which shares its parent's memory and would count a
    multi-GB process twice."""
    total = 0
    for pid in pids:
        statm = _statm(pid)
        if not statm:
            continue
        if table is not None and pid in table and statm == _statm(table[pid]):
            continue
        try:
            total += int(statm.split()[1]) * _PAGE
        except (IndexError, ValueError):
            continue
    return total


def loadavg_1min() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


@dataclass
class Sample:
    t: float  # seconds since the sampler started
    rss_mb: float  # the watched tree
    other_mb: float  # the other group (e.g. the Prefect server)


@dataclass
class TreeSampler:
    """Sample the memory of the tree under ``root`` (and, optionally, of another group).

    ``other`` gives the pids of a second group to watch at the same instants (e.g. the
    Prefect server the step talks to) from the same process table, so the peak of both
    together is known. Both groups are read from one scan of /proc per sample.
    """

    root: int
    interval_s: float = 0.2
    other: Callable[[dict[int, int]], set[int]] | None = None
    samples: list[Sample] = field(default_factory=list)
    peak_mb: float = 0.0
    peak_other_mb: float = 0.0
    peak_sum_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _start: float = 0.0

    def sample(self) -> Sample:
        table = parents()
        mine = descendants(self.root, table)
        own = tree_rss_bytes(mine, table) / 2**20
        theirs = self.other(table) - mine if self.other else set()
        other = tree_rss_bytes(theirs, table) / 2**20
        point = Sample(round(time.monotonic() - self._start, 2), round(own, 1), round(other, 1))
        self.samples.append(point)
        self.peak_mb = max(self.peak_mb, point.rss_mb)
        self.peak_other_mb = max(self.peak_other_mb, point.other_mb)
        self.peak_sum_mb = max(self.peak_sum_mb, point.rss_mb + point.other_mb)
        return point

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> TreeSampler:
        self._start = time.monotonic()
        self.sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def timeline(self, points: int = 120) -> list[list[float]]:
        """At most ``points`` [t, rss_mb, other_mb] rows, keeping each window's peak."""
        if len(self.samples) <= points:
            return [[s.t, s.rss_mb, s.other_mb] for s in self.samples]
        step = len(self.samples) / points
        rows = []
        for k in range(points):
            window = self.samples[int(k * step) : int((k + 1) * step)] or self.samples[-1:]
            top = max(window, key=lambda s: s.rss_mb)
            rows.append([top.t, top.rss_mb, top.other_mb])
        return rows


def own_peak_mb() -> float:
    """This process's own peak resident memory (VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0
