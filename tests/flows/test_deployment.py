"""`localize serve`: a real server + the manager deployment; a review suspends the run.

A deployed run must not hold a process while a translator takes days: it suspends
(the flow process exits) and is resumed, re-running from the top with cached tasks.
"""

from __future__ import annotations

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

from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return json.loads(response.read() or b"null")
    except OSError:
        return None


@pytest.fixture
def served(localize_home: Path, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, LOCALIZE_HOME=str(localize_home), PREFECT_RUNNER_POLL_FREQUENCY="2")
    env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "localize.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while _get(f"{api}/deployments/name/localize-episode/manager") is None:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "localize serve did not come up"
            time.sleep(1)
        yield api
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _wait_state(client: Any, run_id: Any, names: set[str], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    name = ""
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        name = run.state.name if run.state else ""
        if name in names:
            return name
        assert name not in {"Failed", "Crashed", "Cancelled"}, run.state
        time.sleep(1)
    raise AssertionError(f"flow run stayed {name!r}, wanted one of {names}")


def test_deployed_review_suspends_then_resumes_with_edits(
    served: str, episode: SampleEpisode, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # the server bound to loopback only
    assert served.startswith("http://127.0.0.1:")
    out = tmp_path / "published"
    params = {
        "params": {
            "video": str(episode.video),
            "series": "ceo-contract-bride",
            "targets": ["en"],
            "review": True,
            "mt_backend": "fake",
            "out_dir": str(out),
        }
    }
    with temporary_settings(updates={PREFECT_API_URL: served}):
        # the server checks parameters against the form's schema before anything runs
        with pytest.raises(Exception, match="xx"):
            run_deployment(
                "localize-episode/manager",
                timeout=0,
                parameters={"params": {**params["params"], "targets": ["xx"]}},
            )
        run = run_deployment("localize-episode/manager", parameters=params, timeout=0)
        with get_client(sync_client=True) as client:
            assert _wait_state(client, run.id, {"Suspended", "Paused"}) == "Suspended"
            resume_flow_run(
                run.id,
                run_input={
                    "decision": "approve",
                    "reviewer": "li",
                    "edits": "2 | Edited after suspend.",
                },
            )
            _wait_state(client, run.id, {"Completed"})
    en = read_subtitles(out / "episode.en.srt")
    assert en.cues[1].text.replace("\n", " ") == "Edited after suspend."
    review = json.loads((out / "review.json").read_text())
    assert review[-1]["reviewer"] == "li"
