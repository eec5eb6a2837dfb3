"""The shared file helpers: atomic writes, the file lock, hashing, JSON reads."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localize.domain import format_clock
from localize.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    file_lock,
    read_json,
    sha256_file,
)


def test_atomic_write_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.srt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "新的")
    assert target.read_text(encoding="utf-8") == "新的"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.srt"]  # no temporary left


def test_a_new_file_is_readable_by_others(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "new.bin", b"x")
    assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    target.write_text('{"kept": true}')

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write_json(target, {"kept": False})
    assert read_json(target) == {"kept": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_json_round_trip(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "a.json", {"b": 1, "a": "雷"}, indent=1, sort_keys=True)
    assert read_json(tmp_path / "a.json") == {"a": "雷", "b": 1}


@pytest.mark.parametrize("content", [None, "{", "[1, 2]", "\xff"])
def test_read_json_is_empty_for_missing_damaged_or_non_objects(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "x.json"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    assert read_json(path) == {}


def test_sha256_file(tmp_path: Path) -> None:
    data = os.urandom(3 << 20) + b"tail"  # more than one read block
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("busy")
else:
    print("free")
"""


def _other_process_sees(lock: Path) -> str:
    run = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(lock)], capture_output=True)
    return run.stdout.decode().strip()


def test_file_lock_excludes_other_processes_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "deep" / ".x.lock"
    with file_lock(lock):
        assert _other_process_sees(lock) == "busy"
    assert _other_process_sees(lock) == "free"


def test_hashing_a_file_does_not_load_the_model_store() -> None:
    """Packaging, the catalog and GGUF conversion hash files; none needs the model store
    (which also made models <-> llm_convert an import circle)."""
    code = (
        "import sys, localize.package, localize.catalog, localize.llm_convert;"
        "print('localize.models' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert run.stdout.decode().strip() == "False"


@pytest.mark.parametrize(
    ("ms", "hours", "text"),
    [
        (83_250, False, "01:23.250"),
        (83_250, True, "00:01:23.250"),
        (3_723_004, True, "01:02:03.004"),
        (-200, False, "-00:00.200"),
    ],
)
def test_format_clock(ms: int, hours: bool, text: str) -> None:
    assert format_clock(ms, hours=hours) == text
