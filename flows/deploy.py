"""Deployments served on this machine: ``localize serve``.

``serve_all`` registers the manager-triggered episode deployment (its parameters are the
``EpisodeParams`` model, so the UI shows a validated form) and runs it in this process.
Deployments are kept apart from flow logic, as in Prefect's own examples.
"""

from __future__ import annotations

import os
import secrets
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


def _refuse_unknown_parameters(deployment: RunnerDeployment) -> RunnerDeployment:
    """Have the API refuse, before any run exists, a request with a parameter the flow
    does not take (``dask_address``, ``result_storage``...): Prefect's schema allows
    extra top-level parameters, and the run would only crash on them later."""
    from prefect.utilities.callables import ParameterSchema

    class StrictParameterSchema(ParameterSchema):
        additionalProperties: bool = False

    schema = deployment._parameter_openapi_schema
    deployment._parameter_openapi_schema = StrictParameterSchema(
        **schema.model_dump(exclude_unset=True), additionalProperties=False
    )
    return deployment


def episode_deployment() -> RunnerDeployment:
    """The manager's episode form: paths must lie under the serving process's roots."""
    from flows.served import served_episode

    # to_deployment dispatches to a coroutine only when called from async code
    deployment: RunnerDeployment = served_episode.to_deployment(  # type: ignore[assignment]
        name=EPISODE_DEPLOYMENT,
        description="Localize one episode: pick the video, the series glossary and the "
        "target languages. Review pauses the run until a translator approves.",
        tags=["localize"],
    )
    return _refuse_unknown_parameters(deployment)


CATALOG_DEPLOYMENT = "nightly"
#: the nightly catalog run, in the producers' time zone
CATALOG_CRON = "0 2 * * *"
CATALOG_TIMEZONE = "Asia/Shanghai"


def catalog_deployment() -> RunnerDeployment:
    """Every night at 02:00 Shanghai time: localize what is new or changed in the catalog.

    Its parameters are only the safe ones (languages, backend, review, concurrency): the
    catalog folder (``$LOCALIZE_CATALOG``, else ``LOCALIZE_HOME/catalog-in``), outputs,
    runner, scheduler address and result storage come from the serving process's
    environment (:class:`flows.served.OperatorSettings`), never from a run request.
    """
    from prefect.schedules import Cron

    from flows.served import served_catalog

    deployment: RunnerDeployment = served_catalog.to_deployment(  # type: ignore[assignment]
        name=CATALOG_DEPLOYMENT,
        description="Nightly: scan the catalog and localize new or changed episodes "
        "(no review pause; at most max_parallel episodes at a time).",
        tags=["localize"],
        schedule=Cron(CATALOG_CRON, timezone=CATALOG_TIMEZONE),
    )
    return _refuse_unknown_parameters(deployment)


def serve_all(results: Path | None = None, review_port: int | None = None) -> None:
    """Serve every deployment until interrupted (Ctrl-C), and the translators' review
    pages on 127.0.0.1:``review_port`` (behind the API's auth string; default 4201, or
    any free port when another ``localize serve`` has it: the address is printed).

    The runs' task results go to ``results`` (default ``LOCALIZE_HOME/results``) through
    a storage that reads back only localize's typed JSON (:mod:`flows.results`).
    """
    from prefect import serve

    from flows.results import save_result_storage
    from flows.review_page import DEFAULT_REVIEW_PORT, REVIEW_URL_ENV, review_pages
    from localize.models import localize_home

    folder = results or localize_home() / "results"
    # the runs start in subprocesses of this one: they read the default from the env
    os.environ["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"] = save_result_storage(str(folder))
    if review_port is None:  # 4201 unless taken (another localize serve): then any free port
        review_port = DEFAULT_REVIEW_PORT if port_is_free("127.0.0.1", DEFAULT_REVIEW_PORT) else 0
    elif not port_is_free("127.0.0.1", review_port):
        raise LocalizeError(
            f"port {review_port} (the review pages) is taken",
            "choose another (localize serve --review-port 4301), or leave the option out",
        )
    with review_pages(review_port, auth=os.environ.get("PREFECT_API_AUTH_STRING")) as url:
        os.environ[REVIEW_URL_ENV] = url  # the runs link their pause to their page
        print(f"review pages: {url}/review/ (log in with the UI's auth string)", flush=True)
        serve(episode_deployment(), catalog_deployment())


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


AUTH_FILE = "server-auth"


def server_auth_string(home: Path) -> str:
    """The auth string of the server ``localize serve`` starts: made once with
    :mod:`secrets`, kept in ``home/server-auth`` readable by this user only (0600)."""
    path = home / AUTH_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise LocalizeError(
                f"{path} (the Prefect server's auth string) can be read by other users",
                f"delete it (localize serve makes a new one) or run: chmod 600 {path}",
            ) from None
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
        path.unlink()
        return server_auth_string(home)
    secret = f"localize:{secrets.token_urlsafe(32)}"
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    return secret


@contextmanager
def local_server(
    *,
    host: str = "127.0.0.1",
    port: int = 4200,
    home: Path,
    timeout: float = 90,
    auth: str | None = None,
    reuse: bool = False,
    public_url: str | None = None,
) -> Iterator[str]:
    """Run ``prefect server start`` (SQLite under ``home``) for the duration; yield its API URL.

    Binds to 127.0.0.1 unless told otherwise: nothing listens on other interfaces. With
    ``auth`` every API call must carry that string (``PREFECT_API_AUTH_STRING``; the UI
    asks for it), and browsers get CORS only for the UI's own origin. A healthy server
    already on the port was not started here: it is refused unless ``reuse``.
    """
    # this machine reaches the server on loopback even when it listens on every interface;
    # browsers (and other machines) use ``public_url``: the UI must call the API there,
    # never at "http://0.0.0.0:4200"
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    api_url = f"http://{local}:{port}/api"
    browser = (public_url or f"http://{local}:{port}").rstrip("/")
    if healthy(api_url):
        if not reuse:
            raise LocalizeError(
                f"a Prefect server that localize did not start is already running at {api_url}",
                "stop it, choose another port (--port 4300), or pass --reuse to use that "
                "server as it is (its authentication and CORS settings are its own)",
            )
        yield api_url
        return
    if not port_is_free(local, port):
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
        PREFECT_UI_API_URL=f"{browser}/api",
    )
    cors = ("PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS", "PREFECT_SERVER_CORS_ALLOWED_ORIGINS")
    if not any(env.get(name) for name in cors):  # unless the operator chose (a proxy...)
        # a web page on another origin must not drive the API from the user's browser
        env[cors[0]] = browser
    if auth is not None:
        env.update(PREFECT_SERVER_API_AUTH_STRING=auth, PREFECT_API_AUTH_STRING=auth)
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
        while not healthy(api_url):
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
