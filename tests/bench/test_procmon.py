"""Process-tree memory sampling: children are counted, the peak is kept."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.procmon import TreeSampler, descendants, own_peak_mb, parents

ALLOC = "import time; x = bytearray({mb} * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(3)"


def test_tree_peak_counts_every_process_under_the_root() -> None:
    # a shell with two Python children holding 120 MB and 80 MB (pages touched)
    script = (
        f'"{sys.executable}" -c "{ALLOC.format(mb=120)}" & '
        f'"{sys.executable}" -c "{ALLOC.format(mb=80)}" & wait'
    )
    shell = subprocess.Popen(["sh", "-c", script])
    sampler = TreeSampler(shell.pid, interval_s=0.1).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sampler.peak_mb < 200:
            time.sleep(0.1)
        assert len(descendants(shell.pid, parents())) >= 3  # the shell and both children
    finally:
        shell.wait(timeout=30)
        sampler.stop()
    assert 200 <= sampler.peak_mb < 400
    # the timeline keeps the peak and is time-ordered
    timeline = sampler.timeline(points=10)
    assert max(row[1] for row in timeline) == sampler.peak_mb
    assert [row[0] for row in timeline] == sorted(row[0] for row in timeline)
    # after the children exit the tree is just the (exited) shell: nothing resident
    assert sampler.sample().rss_mb < 50


def test_other_group_is_sampled_separately() -> None:
    child = subprocess.Popen([sys.executable, "-c", ALLOC.format(mb=60)])
    try:
        time.sleep(1.0)
        sampler = TreeSampler(child.pid, other=lambda table: descendants(child.pid, table))
        point = sampler.sample()
    finally:
        child.wait(timeout=30)
    # a pid in both groups counts for the watched tree only
    assert point.rss_mb >= 60 and point.other_mb == 0
    assert own_peak_mb() > 10
