"""Helpers for the browser test of the review step (tests/flows/test_review_ui.py).

A private ``prefect server start`` (with the UI) in a subprocess, the episode flow in
another subprocess pointed at it, and headless Debian Chromium driven by Playwright.
Subprocesses keep this server apart from the session's ``prefect_test_harness``: the
test process itself never changes its Prefect settings.

Run as ``python -m tests.flows.ui_helpers PARAMS_JSON`` it runs ``localize_episode``
(that is how the test starts the flow).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PREFECT_CLI = [sys.executable, "-m", "prefect"]
SETUP_HINT = "run scripts/setup.sh --dev (installs Debian's chromium and Playwright)"

T = TypeVar("T")


def require_browser() -> None:
    """Fail (not skip: CI installs the browser) when Chromium or Playwright is missing."""
    import pytest

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {SETUP_HINT}", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(f"the playwright package is missing: {SETUP_HINT}", pytrace=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any PREFECT_* setting, plus a private, quiet home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
        **extra,
    )
    return env


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM the process group (started with start_new_session), then SIGKILL."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.5
) -> T:
    """Poll ``probe`` until it returns something other than None (it may raise to give up)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class UIServer:
    """A ``prefect server start`` subprocess serving the API and the UI."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @classmethod
    def start(cls, home: Path, log: Path) -> UIServer:
        """Start the server and return at once (it needs ~10 s: see :meth:`wait_healthy`)."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # the UI asks /ui-settings where the API is; without this it says 127.0.0.1:4200
        env = prefect_env(home, PREFECT_UI_API_URL=f"{url}/api")
        home.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*PREFECT_CLI, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return cls(url, process, log)

    def wait_healthy(self, timeout: float = 90) -> None:
        def healthy() -> bool | None:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"prefect server exited with {self.process.returncode}:\n{log_tail(self.log)}"
                )
            try:
                return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200 or None
            except httpx.HTTPError:
                return None

        wait_until(healthy, timeout=timeout, what=f"prefect server at {self.url}")

    def stop(self) -> None:
        stop_process(self.process)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.api_url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.api_url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def flow_runs_in(self, state_type: str) -> list[dict[str, Any]]:
        body = {"flow_runs": {"state": {"type": {"any_": [state_type]}}}, "limit": 10}
        runs: list[dict[str, Any]] = self.post("/flow_runs/filter", body)
        return runs

    def state_of(self, flow_run_id: str) -> str:
        state: str = self.get(f"/flow_runs/{flow_run_id}")["state"]["type"]
        return state


def start_flow(
    params: dict[str, Any], *, home: Path, api_url: str, log: Path
) -> subprocess.Popen[bytes]:
    """``localize_episode(EpisodeParams(**params))`` in a subprocess using the server at api_url."""
    home.mkdir(parents=True, exist_ok=True)
    env = prefect_env(home, PREFECT_API_URL=api_url)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.flows.ui_helpers", json.dumps(params)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


@contextmanager
def chromium_page(server_url: str, width: int = 1000, height: int = 900) -> Iterator[Page]:
    """A page in headless Debian Chromium that may only talk to the local server.

    Every other request is aborted: the V2 UI starts an Amplitude client even with
    analytics off, and the machine may have no internet anyway.
    """
    from playwright.sync_api import Route, sync_playwright

    def local_only(route: Route) -> None:
        if route.request.url.startswith(server_url):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=1
            )
            context.route("**/*", local_only)
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


class Screenshots:
    """Numbered screenshots in one folder (look at them when the test fails)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.evaluate("document.fonts.ready.then(() => true)")
        page.screenshot(path=str(path))
        return path


def _main(argv: list[str]) -> int:
    from flows.episode import localize_episode
    from flows.params import EpisodeParams

    state = localize_episode(EpisodeParams(**json.loads(argv[0])), return_state=True)
    print(f"final state: {state.type.value}", flush=True)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
