"""The team setup of docs/catalog.md, on loopback addresses: one machine runs the Prefect
server and UI (`localize serve --server-only --public-url`), another serves the
deployments on it (`localize serve --api-url`); a run requested through the API is done
by the second machine, and the UI calls the API at the public address."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles
from tests.flows.test_deployment import _free_port, _get, _wait_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVER_HOST = "127.0.0.2"  # "the server machine": its own loopback address


@contextmanager
def _serve(args: list[str], home: Path, log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    environ.update(LOCALIZE_HOME=str(home), PREFECT_RUNNER_POLL_FREQUENCY="2", **env)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localize.cli", "serve", *args],
            env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _until(what: str, check, proc, log: Path, timeout: float = 120):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while (found := check()) is None:
        assert proc.poll() is None, f"{what}: exited\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what}: timed out\n{log.read_text()[-3000:]}"
        time.sleep(1)
    return found


@contextmanager
def team_server(host: str, folder: Path) -> Iterator[tuple[str, str]]:
    """`localize serve --server-only` on ``host`` (its own LOCALIZE_HOME under ``folder``):
    yields its public address and its auth string once it answers."""
    port = _free_port()
    public = f"http://{host}:{port}"
    home, log = folder / "server-home", folder / "server.log"
    args = ["--server-only", "--host", host, "--port", str(port), "--public-url", public]
    with _serve(args, home, log) as server:
        secret = home / "server-auth"

        def ready() -> str | None:
            up = secret.is_file() and _get(f"{public}/api/health") is not None
            return secret.read_text().strip() if up else None

        yield public, _until("server", ready, server, log)


def request_episode(
    public: str, auth: str, episode: SampleEpisode, out: Path, *, timeout: float
) -> str:
    """Ask the server's `localize-episode/manager` deployment for the sample in English
    (OCR, fake MT) into ``out``; return the run's final state name."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    params = {"params": {
        "video": str(episode.video), "series": "ceo-contract-bride", "targets": ["en"],
        "review": False, "source": "ocr", "mt_backend": "fake",
        "on_qc_errors": "publish", "out_dir": str(out),
    }}  # fmt: skip
    settings = {PREFECT_API_URL: f"{public}/api", PREFECT_API_AUTH_STRING: auth}
    with temporary_settings(updates=settings):
        run = run_deployment("localize-episode/manager", parameters=params, timeout=0)
        with get_client(sync_client=True) as client:
            return _wait_state(client, run.id, {"Completed"}, timeout=timeout)


def test_a_worker_machine_serves_the_deployments_on_the_team_server(
    episode: SampleEpisode, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:

    server_home, worker_home = tmp_path / "server-home", tmp_path / "worker-home"
    (worker_home / "models").parent.mkdir(parents=True)
    from localize.models import localize_home

    (worker_home / "models").symlink_to(localize_home() / "models", target_is_directory=True)
    with team_server(SERVER_HOST, tmp_path) as (public, auth):
        # the UI (served to browsers) calls the API at the public address, not 0.0.0.0/127.0.0.1
        assert _get(f"{public}/ui-settings")["api_url"] == f"{public}/api"
        # and the server machine serves no deployments itself
        assert _get(f"{public}/api/deployments/name/localize-episode/manager", auth) is None

        root = str(tmp_path_factory.getbasetemp())
        worker_args = ["--api-url", f"{public}/api", "--root", root]
        worker_log = tmp_path / "worker.log"
        with _serve(worker_args, worker_home, worker_log, PREFECT_API_AUTH_STRING=auth) as worker:
            _until(
                "worker",
                lambda: _get(f"{public}/api/deployments/name/localize-episode/manager", auth),
                worker, worker_log,
            )  # fmt: skip
            _check_review_pages(worker_log, auth)
            out = tmp_path / "published"
            assert request_episode(public, auth, episode, out, timeout=300) == "Completed"
            assert read_subtitles(out / "episode.en.srt").cues
            # the worker machine ran it: its own result storage holds the cached stages
            assert any((worker_home / "results").iterdir())
            assert not (server_home / "results").exists()


def _check_review_pages(log: Path, auth: str) -> None:
    """The worker machine serves the review pages of its runs, behind the API's auth."""
    import base64
    import re
    import urllib.error
    import urllib.request

    found = re.search(r"review pages: (http://127\.0\.0\.1:\d+/review/)", log.read_text())
    assert found, "localize serve printed no review pages address"

    def status(header: dict[str, str]) -> int:
        try:
            with urllib.request.urlopen(
                urllib.request.Request(found[1], headers=header), timeout=5
            ) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status({}) == 401
    assert status({"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}) == 200
