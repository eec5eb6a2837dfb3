"""The catalog against a Prefect server on a real PostgreSQL, started here (127.0.0.1 only)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows.catalog_helpers import catalog_clips, make_catalog, published

pytestmark = pytest.mark.integration
__all__ = ["catalog_clips"]  # a fixture

PASSWORD = "localize-test"


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port>; yields the asyncpg URL of
    an empty ``prefect`` database. initdb refuses to run as root, so as root the server
    runs as the ``postgres`` system user (``nobody`` if there is none)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh --dev installs it)")
    base = Path(tempfile.mkdtemp(prefix="localize-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = "postgres"
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            user, account = "nobody", pwd.getpwnam("nobody")
        os.chown(base, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", user, "--"]
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    os.chmod(pwfile, 0o644)
    data = base / "data"
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "localize", "-E", "UTF8",
         f"--pwfile={pwfile}", "--auth=scram-sha-256"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {base}"  # TCP on loopback only; socket in base
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w"]
    # pg_ctl, not a Popen of postgres: under runuser, a signal to the child we started
    # would reach runuser, not the server; pg_ctl stops the server by its pid file
    subprocess.run(
        [*pg_ctl, "-t", "60", "-o", options, "-l", str(base / "server.log"), "start"],
        check=True, capture_output=True, timeout=90,
    )  # fmt: skip
    admin = f"postgresql://localize:{PASSWORD}@127.0.0.1:{port}"
    try:
        subprocess.run(
            ["psql", f"{admin}/postgres", "-q", "-c", "CREATE DATABASE prefect"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield f"postgresql+asyncpg://localize:{PASSWORD}@127.0.0.1:{port}/prefect"
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "fast", "stop"], check=False, capture_output=True, timeout=60
        )
        shutil.rmtree(base, ignore_errors=True)


def _sql(url: str, query: str) -> list[list[str]]:
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    out = subprocess.run(
        ["psql", plain, "-At", "-F", "\t", "-c", query], check=True, capture_output=True, text=True
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def test_the_catalog_runs_two_episodes_at_once_against_a_postgresql_backed_server(
    postgres: str,
    catalog_clips: dict[str, Path],
    tmp_path: Path,
    localize_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.catalog import localize_catalog
    from flows.deploy import local_server

    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", postgres)
    root = make_catalog(tmp_path / "catalog", {k: catalog_clips[k] for k in ("ep1", "ep2")})
    out = tmp_path / "out"
    # Prefect keeps one events worker per process whatever the API URL: drain it, so
    # that task runs go to this server and not to one an earlier test talked to
    EventsWorker.drain_all(timeout=10)
    APILogWorker.drain_all(timeout=10)
    with (
        local_server(port=_free_port(), home=tmp_path / "prefect-home", timeout=120) as api,
        temporary_settings(updates={PREFECT_API_URL: api}),
    ):
        result = localize_catalog(str(root), out=str(out), mt_backend="fake", max_parallel=2)
        # send the last log lines and events while the server is still up
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    assert sorted(result.processed) == ["ceo/ep1", "ceo/ep2"]
    assert set(published(out)) == {"ep1", "ep2"}

    # the server kept everything in PostgreSQL (not in a SQLite file)
    assert not list((tmp_path / "prefect-home").glob("*.db"))
    runs = _sql(
        postgres,
        "SELECT f.name, r.state_type, extract(epoch FROM r.start_time), "
        "extract(epoch FROM r.end_time) FROM flow_run r "
        "JOIN flow f ON f.id = r.flow_id ORDER BY r.start_time",
    )
    assert [(name, state) for name, state, *_ in runs] == [
        ("localize-catalog", "COMPLETED"),
        ("localize-episode", "COMPLETED"),
        ("localize-episode", "COMPLETED"),
    ]
    # the two episodes were written concurrently: their runs overlapped in time
    (start1, end1), (start2, end2) = ((float(a), float(b)) for *_, a, b in runs[1:])
    assert max(start1, start2) < min(end1, end2)
    stages = _sql(
        postgres,
        "SELECT t.name FROM task_run t JOIN flow_run r ON r.id = t.flow_run_id "
        "JOIN flow f ON f.id = r.flow_id "
        "WHERE f.name = 'localize-episode' AND t.state_type = 'COMPLETED'",
    )
    assert sorted(row[0].split(" ")[0] for row in stages).count("transcribe") == 2
    assert len(stages) == 2 * 5  # probe, transcribe, translate, qc, package
