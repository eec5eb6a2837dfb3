"""Faults: hung tools, broken models, a full disk and interrupted publishing."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from localize.cli import main
from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError, ModelError
from localize.fsutil import sha256_file
from localize.package import MANIFEST, PublishError, publish_episode
from localize.tools import ToolTimeoutError, run_tool

REPO = Path(__file__).resolve().parents[2]
ZH = CueTrack("zh-Hans", (Cue(0, 1000, "你好"),))


def _publish(out: Path, english: str, **kwargs: Any) -> None:
    en = CueTrack("en", (Cue(0, 1000, english),))
    publish_episode(out, series="s", episode="ep01", source=ZH, targets={"en": en}, **kwargs)


def _assert_published_intact(out: Path, english: str) -> None:
    """``out`` is a complete version: every file the manifest lists has its checksum."""
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        assert sha256_file(out / entry["path"]) == entry["sha256"], entry["path"]
    assert english in (out / "ep01.en.srt").read_text(encoding="utf-8")
    versions = out.parent / ".versions"
    assert [p.name for p in versions.iterdir() if p.name.startswith(".staging")] == []


def test_a_hung_tool_is_killed_at_its_timeout() -> None:
    t0 = time.monotonic()
    with pytest.raises(ToolTimeoutError) as info:
        run_tool(["sleep", "30"], timeout=0.3, what="waiting for nothing")
    assert time.monotonic() - t0 < 5
    assert info.value.message.startswith("waiting for nothing: sleep did not finish within 0.3 s")
    assert "killed" in info.value.message and "longer timeout" in info.value.hint
    assert info.value.returncode is None


def test_a_missing_tool_names_the_package() -> None:
    from localize.errors import ToolMissingError

    with pytest.raises(ToolMissingError) as info:
        run_tool(["no-such-tool-xyz"], timeout=1, what="x")
    assert "no-such-tool-xyz is not installed" in info.value.message
    assert "apt-get install" in info.value.hint


def test_a_corrupt_model_is_a_model_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], audio_only: Path
) -> None:
    from localize.transcribe import FasterWhisperTranscriber

    folder = tmp_path / "broken-whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\x00not a ctranslate2 model" * 100)
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelError) as info:
        FasterWhisperTranscriber(str(folder))
    assert f"cannot load the speech model {str(folder)!r} from {folder}" in info.value.message
    assert "CTranslate2 Whisper model" in info.value.hint
    out = tmp_path / "out.srt"
    assert main(["transcribe", str(audio_only), "--asr-model", str(folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot load the speech model" in err and "Traceback" not in err
    assert not out.exists()


def test_a_missing_model_folder_is_a_model_error(tmp_path: Path) -> None:
    from localize.models import ModelStore

    with pytest.raises(ModelError, match="does not exist") as info:
        ModelStore(tmp_path / "store").resolve(str(tmp_path / "nowhere"))
    assert "localize models list" in info.value.hint


def test_a_full_disk_while_publishing_keeps_the_published_version(tmp_path: Path) -> None:
    out = tmp_path / "out" / "ep01"
    _publish(out, "Version one.")
    before = out.resolve()

    def full_disk(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        (staging / "ep01.en.dub.m4a").write_bytes(b"half an audio file")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(PublishError) as info:  # a LocalizeError (and an OSError)
        _publish(out, "Version two.", extra_writers=(full_disk,))
    assert isinstance(info.value, LocalizeError)  # the CLI prints it without a traceback
    assert info.value.message == f"cannot publish {out}: No space left on device"
    assert "free disk space" in info.value.hint and "unchanged" in info.value.hint
    assert out.resolve() == before
    _assert_published_intact(out, "Version one.")
    assert [p.name for p in (out.parent / ".versions").iterdir() if p.is_dir()] == [before.name]


def test_an_interrupted_publish_leaves_the_published_version(tmp_path: Path) -> None:
    out = tmp_path / "out" / "ep01"
    _publish(out, "Version one.")

    def interrupted(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        (staging / "ep01.en.dub.m4a").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _publish(out, "Version two.", extra_writers=(interrupted,))
    _assert_published_intact(out, "Version one.")


_KILLED_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from localize.domain import Cue, CueTrack
    from localize.package import publish_episode

    def die(staging):
        (staging / "ep01.en.dub.m4a").write_bytes(b"half an audio file")
        os.kill(os.getpid(), signal.SIGKILL)  # power cut: no finally, no cleanup

    zh = CueTrack("zh-Hans", (Cue(0, 1000, "你好"),))
    en = CueTrack("en", (Cue(0, 1000, "Version two."),))
    publish_episode(Path(sys.argv[1]), series="s", episode="ep01", source=zh,
                    targets={"en": en}, extra_writers=(die,))
    """
)


def test_a_killed_publish_never_shows_a_half_written_rendition(tmp_path: Path) -> None:
    out = tmp_path / "out" / "ep01"
    _publish(out, "Version one.")
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_PUBLISH, str(out)], cwd=REPO, capture_output=True
    )
    assert proc.returncode == -9
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        assert sha256_file(out / entry["path"]) == entry["sha256"]
    assert "Version one." in (out / "ep01.en.srt").read_text(encoding="utf-8")
    assert not (out / "ep01.en.dub.m4a").exists()
    # the dead process's hidden staging folder stays behind under .versions (never
    # published) until the next publish, which removes it
    versions = out.parent / ".versions"
    assert [p.name for p in versions.iterdir() if p.name.startswith(".staging-")]
    _publish(out, "Version three.")
    assert "Version three." in (out / "ep01.en.srt").read_text(encoding="utf-8")
    _assert_published_intact(out, "Version three.")  # no staging folder left either


_HOLD_STAGING = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_only_dead_staging_folders_are_cleaned_up(tmp_path: Path) -> None:
    """A publish removes staging folders of killed publishes, never a live publish's
    (it holds a lock), a staging folder newer than itself, or a published version."""
    import os

    out = tmp_path / "out" / "ep01"
    _publish(out, "Version one.")
    versions = out.parent / ".versions"
    published = out.resolve()
    old = time.time() - 600
    dead = versions / ".staging-ep01-999999"  # a killed publish's leftovers
    live = versions / ".staging-ep02-424242"  # another episode, being published now
    newer = versions / ".staging-ep03-434343"  # created after this publish started
    for folder in (dead, live, newer):
        folder.mkdir()
        (folder / "ep01.en.srt").write_text("half", encoding="utf-8")
    for folder in (dead, live):
        os.utime(folder, (old, old))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_STAGING, str(live)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        from localize.package import remove_stale_staging

        removed = remove_stale_staging(versions, older_than=time.time() - 60)
        assert removed == [dead]
        assert live.is_dir() and newer.is_dir() and published.is_dir()
        _publish(out, "Version two.")  # publishing does the same on its way
        assert live.is_dir() and (live / "ep01.en.srt").read_text(encoding="utf-8") == "half"
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its folder is litter now (it is old enough), and goes next time
    _publish(out, "Version three.")
    assert not live.exists() and not dead.exists()
    _assert_published_intact(out, "Version three.")


def test_publish_errors_survive_pickling() -> None:
    """Prefect moves errors between processes: the message and hint must survive."""
    import pickle

    error = PublishError("cannot publish out/ep01: No space left on device", "free disk space")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is PublishError and str(copy) == str(error)
    assert isinstance(copy, OSError) and copy.hint == "free disk space"


def test_a_prefect_server_that_is_down_is_a_clear_error(av_clip: Path, tmp_path: Path) -> None:
    """``localize episode`` pointed at a Prefect server that is not running: one clear
    error with what to do, exit 1, nothing published (not Prefect's RuntimeError)."""
    import os
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=api, LOCALIZE_HOME=str(tmp_path / "home"), DO_NOT_TRACK="1")
    out = tmp_path / "out" / "ep01"
    proc = subprocess.run(
        [sys.executable, "-m", "localize.cli", "episode", str(av_clip),
         "--series", str(REPO / "glossaries" / "ceo-contract-bride.toml"), "--to", "en",
         "--mt-backend", "fake", "--no-review", "--out", str(out)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f"error: cannot reach the Prefect server at {api}" in proc.stderr
    assert "Traceback" not in proc.stderr and "\n  -> " in proc.stderr
    assert "localize serve" in proc.stderr and "run the same command again" in proc.stderr
    assert not out.exists() and not out.parent.exists()
