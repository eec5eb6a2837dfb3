"""Deployments served on this machine: ``localize serve``.

``serve_all`` registers the manager-triggered episode deployment (its parameters are the
``EpisodeParams`` model, so the UI shows a validated form) and runs it in this process.
Deployments are kept apart from flow logic, as in Prefect's own examples.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from localize.errors import LocalizeError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

EPISODE_DEPLOYMENT = "manager"


def episode_deployment() -> RunnerDeployment:
    from flows.episode import localize_episode

    # to_deployment dispatches to a coroutine only when called from async code
    return localize_episode.to_deployment(  # type: ignore[return-value]
        name=EPISODE_DEPLOYMENT,
        description="Localize one episode: pick the video, the series glossary and the "
        "target languages. Review pauses the run until a translator approves.",
        tags=["localize"],
    )


CATALOG_DEPLOYMENT = "nightly"
#: the nightly catalog run, in the producers' time zone
CATALOG_CRON = "0 2 * * *"
CATALOG_TIMEZONE = "Asia/Shanghai"


def catalog_deployment(catalog: str | None = None) -> RunnerDeployment:
    """Every night at 02:00 Shanghai time: localize what is new or changed in the catalog.

    The catalog folder is ``catalog``, else ``$LOCALIZE_CATALOG``, else
    ``LOCALIZE_HOME/catalog-in``; outputs go to ``LOCALIZE_HOME/catalog/<name>``.
    """
    from prefect.schedules import Cron

    from flows.catalog import localize_catalog
    from localize.models import localize_home

    folder = catalog or os.environ.get("LOCALIZE_CATALOG") or str(localize_home() / "catalog-in")
    return localize_catalog.to_deployment(  # type: ignore[return-value]
        name=CATALOG_DEPLOYMENT,
        description="Nightly: scan the catalog and localize new or changed episodes "
        "(no review pause; at most max_parallel episodes at a time).",
        tags=["localize"],
        parameters={"catalog": folder},
        schedule=Cron(CATALOG_CRON, timezone=CATALOG_TIMEZONE),
    )


def serve_all() -> None:
    """Serve every deployment until interrupted (Ctrl-C)."""
    from prefect import serve

    serve(episode_deployment(), catalog_deployment())


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


@contextmanager
def local_server(
    *, host: str = "127.0.0.1", port: int = 4200, home: Path, timeout: float = 90
) -> Iterator[str]:
    """Run ``prefect server start`` (SQLite under ``home``) for the duration; yield its API URL.

    Binds to 127.0.0.1 unless told otherwise: nothing listens on other interfaces.
    """
    api_url = f"http://{host}:{port}/api"
    if _healthy(api_url):  # a server is already there: use it
        yield api_url
        return
    if not port_is_free(host, port):
        raise LocalizeError(
            f"port {port} on {host} is taken by something that is not a Prefect server",
            "choose another port: localize serve --port 4300",
        )
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
        # the UI calls the API at this address; its default assumes port 4200
        PREFECT_UI_API_URL=api_url,
    )
    env.pop("PREFECT_API_URL", None)
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(api_url):
            if proc.poll() is not None:
                raise LocalizeError(
                    f"the Prefect server exited with code {proc.returncode}",
                    f"see {home / 'server.log'}",
                )
            if time.monotonic() > deadline:
                raise LocalizeError(
                    f"the Prefect server did not start within {timeout:.0f} s",
                    f"see {home / 'server.log'}",
                )
            time.sleep(0.5)
        yield api_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
