"""Kill ``localize catalog run`` mid-episode, run it again: no rework, nothing half-written,
the same outputs as a run that was never interrupted. And one run per output folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.flows.catalog_helpers import catalog_clips, make_catalog, published, state_records

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]
__all__ = ["catalog_clips"]  # a fixture


def _cli(root: Path, out: Path, home: Path, log: Path) -> subprocess.Popen[bytes]:
    """``localize catalog run`` in its own process group, on the test's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "LOCALIZE_HOME": str(home),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    env["PREFECT_HOME"] = str(home / "prefect")
    cmd = [sys.executable, "-m", "localize.cli", "catalog", "run", str(root), "--out", str(out)]
    cmd += ["--mt-backend", "fake", "--max-parallel", "1"]
    with log.open("ab") as sink:
        return subprocess.Popen(
            cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def _home(tmp_path: Path, name: str, models: Path) -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / "models").symlink_to(models, target_is_directory=True)
    return home


def _staging(out: Path) -> list[str]:
    """Episodes with a hidden staging folder (publishing in progress or left by a kill)."""
    versions = out / "ceo" / ".versions"
    names = versions.glob(".staging-*") if versions.is_dir() else []
    return [p.name.removeprefix(".staging-").rsplit("-", 1)[0] for p in names]


def _done(out: Path) -> set[str]:
    records = state_records(out)
    return {k for k, langs in records.items() if langs.get("en", {}).get("status") == "done"}


def test_a_killed_catalog_run_resumes_without_rework_and_matches_an_uninterrupted_one(
    catalog_clips: dict[str, Path],
    tmp_path: Path,
    localize_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = make_catalog(tmp_path / "catalog", catalog_clips)
    models = localize_home / "models"
    out, log = tmp_path / "out", tmp_path / "run.log"
    home = _home(tmp_path, "home-killed", models)

    # 1. kill the whole process group once an episode is recorded done and another one
    #    is mid-publish (its hidden staging folder exists)
    proc = _cli(root, out, home, log)
    deadline = time.monotonic() + 240
    killed_in: list[str] = []
    while not killed_in:
        assert proc.poll() is None, (
            "the run ended before it could be killed mid-episode:\n"
            + (log.read_text(errors="replace")[-3000:])
        )
        assert time.monotonic() < deadline, "no episode finished in time"
        done = _done(out)
        busy = [name for name in _staging(out) if f"ceo/{name}" not in done]
        if done and busy:
            os.killpg(proc.pid, signal.SIGKILL)
            killed_in = busy
        time.sleep(0.01)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    done = _done(out)
    victim = killed_in[0]
    assert f"ceo/{victim}" not in done
    before = {k: v for k, v in state_records(out).items() if k in done}
    folders = {k: (out / k).resolve() for k in done}
    inodes = {k: folder.stat().st_ino for k, folder in folders.items()}

    # nothing half-written is visible: published folders are complete (checked by
    # `published`), the interrupted episode is not published, its staging is hidden
    visible = published(out)
    assert set(visible) == {k.split("/")[1] for k in done}
    assert not (out / "ceo" / victim).exists()
    assert victim in _staging(out)

    # 2. run again: finished episodes untouched, the rest done, stale staging swept
    proc = _cli(root, out, home, log)
    assert proc.wait(timeout=300) == 0, log.read_text(errors="replace")[-3000:]
    after = state_records(out)
    for key in done:
        assert after[key] == before[key], f"{key} was redone"
        assert (out / key).resolve() == folders[key]
        assert folders[key].stat().st_ino == inodes[key]
    assert _done(out) == {f"ceo/{name}" for name in catalog_clips}
    assert _staging(out) == []
    assert sorted(p.name for p in (out / "ceo" / ".versions").iterdir() if p.is_dir()) == sorted(
        (out / "ceo" / name).resolve().name for name in catalog_clips
    )

    # 3. the same catalog, never interrupted, in another output folder and home
    #    (in this process: its models are loaded already). Byte for byte, though real
    #    Whisper ran: same machine, same compute_threads (docs/robustness.md)
    from flows.catalog import localize_catalog

    clean = tmp_path / "clean"
    monkeypatch.setenv("LOCALIZE_HOME", str(_home(tmp_path, "home-clean", models)))
    result = localize_catalog(str(root), out=str(clean), mt_backend="fake", max_parallel=1)
    assert result.failed == {}
    assert published(out) == published(clean)
    assert set(published(out)) == set(catalog_clips)


def test_a_second_run_on_the_same_output_folder_is_refused_while_the_first_holds_it(
    catalog_clips: dict[str, Path], tmp_path: Path, localize_home: Path
) -> None:
    from flows.catalog import localize_catalog
    from localize.catalog import CatalogBusyError, state_lock

    root = make_catalog(tmp_path / "catalog", {"ep1": catalog_clips["ep1"]})
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from localize.catalog import state_lock\n"
            "with state_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(out),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(
            CatalogBusyError, match=rf"another catalog run is writing .*pid {holder.pid}"
        ):
            localize_catalog(str(root), out=str(out), mt_backend="fake", lock_timeout=0.5)
        assert state_records(out) == {}  # the refused run wrote nothing
    finally:
        holder.kill()
        holder.wait()
    # the holder died without unlocking (SIGKILL): the OS dropped its lock at once
    with state_lock(out, wait=5):
        pass
