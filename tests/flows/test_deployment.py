"""`localize serve`: a real server + the manager deployment; a review suspends the run.

A deployed run must not hold a process while a translator takes days: it suspends
(the flow process exits) and is resumed, re-running from the top with cached tasks.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles
from tests.flows.ui_helpers import stop_process

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, auth: str | None = None) -> Any:
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=3) as response:
            return json.loads(response.read() or b"null")
    except OSError:
        return None


def _auth(localize_home: Path) -> str | None:
    path = localize_home / "server-auth"
    return path.read_text().strip() if path.is_file() else None


@pytest.fixture
def served(
    localize_home: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`localize serve` on a free port; run requests may use files under pytest's temp
    folder (the sample episode, tmp_path). Its API needs the auth string in
    ``localize_home/server-auth``."""
    port = _free_port()
    env = dict(os.environ, LOCALIZE_HOME=str(localize_home), PREFECT_RUNNER_POLL_FREQUENCY="2")
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_API_AUTH_STRING", None)
    root = str(tmp_path_factory.getbasetemp())
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "localize.cli", "serve", "--port", str(port), "--root", root],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        # `serve` registers its deployments one by one: wait for every one the tests ask
        # for (a request to one not registered yet fails with a bare "None")
        while any(
            _get(f"{api}/deployments/name/{name}", _auth(localize_home)) is None
            for name in ("localize-episode/manager", "localize-catalog/nightly")
        ):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "localize serve did not come up"
            time.sleep(1)
        yield api
    finally:
        stop_process(proc, timeout=30)
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
    served: str, episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

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
    auth = {PREFECT_API_URL: served, PREFECT_API_AUTH_STRING: _auth(localize_home)}
    with temporary_settings(updates=auth):
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
    # the served runs cached their stages through the guarded storage, as typed JSON
    stored = [p for p in (localize_home / "results").rglob("*") if p.is_file()]
    cached = [json.loads(p.read_bytes()) for p in stored]
    kinds = {r["metadata"]["serializer"]["type"] for r in cached if "metadata" in r}
    assert kinds == {"localize-json"}


def _request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_the_served_api_needs_the_auth_string_and_refuses_other_origins_and_unsafe_requests(
    served: str, localize_home: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    secret = localize_home / "server-auth"
    assert secret.stat().st_mode & 0o777 == 0o600  # the auth string: this user only
    auth = _auth(localize_home)
    assert auth
    basic = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
    manager = f"{served}/deployments/name/localize-episode/manager"
    assert _request(manager)[0] == 401  # another local user, a web page, the LAN
    wrong = {"Authorization": "Basic " + base64.b64encode(b"localize:guess").decode()}
    assert _request(manager, headers=wrong)[0] == 401
    assert _request(manager, headers=basic)[0] == 200
    assert _request(f"{served}/health")[0] == 200  # probes stay open

    # a page on another origin may not even ask (CORS preflight); the UI's own origin may
    ui = served.removesuffix("/api")
    assert _get(f"{ui}/ui-settings")["auth"] == "BASIC"  # the UI asks for the login
    for origin, allowed in (("http://evil.example", False), (ui, True)):
        status, headers = _request(
            f"{served}/flow_runs/filter",
            "OPTIONS",
            {"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        granted = {k.lower(): v for k, v in headers.items()}.get("access-control-allow-origin")
        assert (status == 200 and granted == origin) is allowed, (origin, status, headers)

    # run requests carry only safe parameters: operator settings and outside paths refused
    outside = Path("/etc/localize-test-outside.mp4")
    with temporary_settings(updates={PREFECT_API_URL: served, PREFECT_API_AUTH_STRING: auth}):
        # operator settings are no parameters: the API refuses the request, no run exists
        for name, parameters in (
            ("localize-catalog/nightly", {"runner": "dask", "dask_address": "tcp://x:8786"}),
            ("localize-catalog/nightly", {"result_storage": "http://elsewhere/x"}),
            ("localize-catalog/nightly", {"catalog": "/", "out": "/tmp/x"}),
            (
                "localize-episode/manager",
                {"params": {"video": "v.mp4", "series": "s"}, "result_storage": "http://x/"},
            ),
            (
                "localize-episode/manager",
                {"params": {"video": "v.mp4", "series": "s", "result_storage": "http://x/"}},
            ),
        ):
            unknown = sorted(
                {*parameters, *parameters.get("params", {})} - {"params", "video", "series"}
            )
            with pytest.raises(Exception, match=unknown[0]):
                run_deployment(name, parameters=parameters, timeout=0)
        # paths outside the roots `localize serve` was given: the run fails before any work
        outside = "/etc/localize-test-outside.mp4"
        run = run_deployment(
            "localize-episode/manager",
            parameters={
                "params": {
                    "video": outside,
                    "series": "ceo-contract-bride",
                    "mt_backend": "fake",
                    "out_dir": str(tmp_path / "out"),
                    "mt_model": "/home/someone/model-with-code",
                }
            },
            timeout=0,
        )
        with get_client(sync_client=True) as client:
            assert _wait_state(client, run.id, {"Failed"}, timeout=120) == "Failed"
            state = client.read_flow_run(run.id).state
        message = str(state.message if state else "")
        assert "run request refused" in message, message
        assert f"video '{outside}' is outside" in message
        assert "mt_model '/home/someone/model-with-code' is not a packaged model" in message
    assert not (tmp_path / "out").exists()


def test_serve_refuses_a_server_it_did_not_start(tmp_path: Path, localize_home: Path) -> None:
    port = _free_port()
    with socket.socket() as sock:  # anything answering /api/health on the port
        sock.bind(("127.0.0.1", port))
        sock.listen()
        server = subprocess.Popen(
            [sys.executable, "-c", _FAKE_HEALTHY_SERVER, str(sock.fileno())],
            pass_fds=[sock.fileno()],
        )
    try:
        deadline = time.monotonic() + 30
        while _request(f"http://127.0.0.1:{port}/api/health")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        env = dict(os.environ, LOCALIZE_HOME=str(localize_home))
        done = subprocess.run(
            [sys.executable, "-m", "localize.cli", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.kill()
        server.wait()
    assert done.returncode != 0
    assert "localize did not start is already running" in done.stderr
    assert "--reuse" in done.stderr


_FAKE_HEALTHY_SERVER = """
import socket, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"true")

server = HTTPServer(("127.0.0.1", 0), Health, bind_and_activate=False)
server.socket = socket.socket(fileno=int(sys.argv[1]))
server.serve_forever()
"""
