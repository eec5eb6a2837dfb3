"""Runs interrupted from outside: a killed worker, a Prefect server that restarts.

Each test drives the real ``localize episode`` command in a subprocess against a real
Prefect server (``prefect server start`` on 127.0.0.1, SQLite in a temp folder) on a
10-second cut of the sample episode, with the fake translator.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localize.fsutil import sha256_file
from localize.package import MANIFEST
from localize.sample import SampleEpisode
from tests.robustness.conftest import ffmpeg

REPO = Path(__file__).resolve().parents[2]
GLOSSARY = REPO / "glossaries" / "ceo-contract-bride.toml"

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


class Server:
    """A Prefect server subprocess that can be stopped and started again on the same
    port and database, as a restart (crash + supervisor, upgrade...) would."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.api = f"http://127.0.0.1:{port}/api"
        self._running: contextlib.ExitStack | None = None

    def start(self) -> None:
        from flows.deploy import local_server

        stack = contextlib.ExitStack()
        assert stack.enter_context(local_server(port=self.port, home=self.home)) == self.api
        self._running = stack

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None

    def flow_runs(self) -> dict[str, str]:
        """Every flow run the server knows: id -> state type."""
        request = urllib.request.Request(
            f"{self.api}/flow_runs/filter",
            data=b"{}",
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return {run["id"]: run["state_type"] for run in json.load(response)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("prefect-server"), _free_port())
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LOCALIZE_HOME for the runs (shared: later runs reuse cached stages)."""
    from localize.models import localize_home

    home = tmp_path_factory.mktemp("home")
    (home / "models").symlink_to(localize_home() / "models", target_is_directory=True)
    return home


def _cut(episode: SampleEpisode, out: Path, start: int, seconds: float) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(
        "-ss", str(start), "-i", str(episode.video), "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def clips(episode: SampleEpisode, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Short cuts of the sample: ep01, ep02, and ep02 re-exported (new content, so its
    speech recognition is not cached: a run on it takes long enough to interrupt)."""
    folder = tmp_path_factory.mktemp("clips")
    return [
        _cut(episode, folder / "ep01.mp4", 0, 10),
        _cut(episode, folder / "ep02.mp4", 20, 10),
        _cut(episode, folder / "again" / "ep02.mp4", 20, 10.5),
    ]


def _command(video: Path, out: Path, targets: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "localize.cli", "episode", str(video), "--series", str(GLOSSARY),
        "--to", *targets, "--mt-backend", "fake", "--no-review", "--on-qc-errors", "publish",
        "--out", str(out),
    ]  # fmt: skip


def _env(home: Path, server: Server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        LOCALIZE_HOME=str(home),
        PREFECT_API_URL=server.api,
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        **extra,
    )
    return env


def _run(video: Path, out: Path, targets: list[str], env: dict[str, str]) -> None:
    t0 = time.monotonic()
    proc = subprocess.run(
        _command(video, out, targets), env=env, cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"{video.name} to {' '.join(targets)}: {time.monotonic() - t0:.1f} s")


def _published(out: Path) -> dict[str, Any]:
    """The published version's manifest, after checking every file against it."""
    manifest: dict[str, Any] = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        assert sha256_file(out / entry["path"]) == entry["sha256"], entry["path"]
    return manifest


def _languages(manifest: dict[str, Any]) -> set[str]:
    return {f["language"] for f in manifest["files"] if f["kind"] == "subtitles"}


def _staging(out: Path) -> list[str]:
    versions = out.parent / ".versions"
    return sorted(p.name for p in versions.iterdir() if p.name.startswith(".staging-"))


def _wait_for(what: str, check: Any, proc: subprocess.Popen[str], timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (code {proc.returncode}) before {what}:\n{err[-3000:]}")
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def test_a_killed_worker_leaves_the_published_version_and_the_next_run_completes(
    server: Server, home: Path, clips: list[Path], tmp_path: Path
) -> None:
    """SIGKILL to the whole run (the CLI, its ffmpeg children) while it is publishing:
    the previous version stays published and intact, the half-written staging folder
    is left behind, and the next run publishes and removes it."""
    video, out = clips[0], tmp_path / "out" / "ep01"
    env = _env(home, server)
    _run(video, out, ["en"], env)
    first = _published(out)
    before = out.resolve()

    proc = subprocess.Popen(
        _command(video, out, ["en", "es"]),
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, killed as a whole
    )
    try:
        _wait_for("publishing started", lambda: _staging(out), proc)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    left = _staging(out)
    assert left, "the kill should have caught the run while publishing"
    assert out.resolve() == before and _published(out) == first  # untouched
    assert not (out / "ep01.es.srt").exists()
    states = server.flow_runs()
    print(f"flow run states after the kill: {sorted(states.values())}; left behind: {left}")

    _run(video, out, ["en", "es"], env)
    second = _published(out)
    assert _languages(second) == {"zh-Hans", "en", "es"}
    assert out.resolve() != before and not before.exists()  # the old version retired
    assert _staging(out) == []  # the killed run's staging folder was cleaned up


def _start_run(server: Server, command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start an episode run and return once the server shows a new flow run RUNNING."""
    known = set(server.flow_runs())
    proc = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(
            "the flow run to start",
            lambda: [i for i, s in server.flow_runs().items() if i not in known and s == "RUNNING"],
            proc,
        )
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


def test_a_server_restart_mid_run_completes_and_a_lost_server_fails_cleanly(
    server: Server, home: Path, clips: list[Path], tmp_path: Path
) -> None:
    """The server restarts (stop, start on the same port and database) while a run is
    going: the run rides it out (Prefect's client retries) and publishes. A server
    that stays away fails the run with a clear error and no traceback; what was
    published stays intact; once the server is back the same command completes."""
    video, out = clips[1], tmp_path / "out" / "ep02"
    env = _env(home, server)
    proc = _start_run(server, _command(video, out, ["en"]), env)
    try:
        down = time.monotonic()
        server.stop()
        assert proc.poll() is None, "the run ended before the server went down"
        server.start()
        outage = time.monotonic() - down
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"server down for {outage:.1f} s; run exit {proc.returncode}")
    assert proc.returncode == 0, err[-4000:]
    first = _published(out)
    assert _languages(first) == {"zh-Hans", "en"}
    before = out.resolve()

    # the server goes away for good while the next run is going: with one client retry
    # (about 2 s) instead of the default patience, the run gives up quickly
    impatient = _env(home, server, PREFECT_CLIENT_MAX_RETRIES="1")
    video = clips[2]  # ep02 re-exported: its stages are not cached yet
    proc = _start_run(server, _command(video, out, ["en", "es"]), impatient)
    try:
        server.stop()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.start()
    assert proc.returncode == 1, err[-4000:]
    # the command ends with one clear error and its hint, not an httpx traceback
    # (Prefect's own run log, echoed above it, may still show one)
    message = f"error: cannot reach the Prefect server at {server.api}"
    assert message in err, err[-4000:]
    ending = err[err.index(message) :]
    assert "Traceback" not in ending and "\n  -> " in ending
    assert "run the same command again" in ending
    assert out.resolve() == before and _published(out) == first
    assert _staging(out) == []

    _run(video, out, ["en", "es"], env)  # the server is back: the same command completes
    assert _languages(_published(out)) == {"zh-Hans", "en", "es"}
