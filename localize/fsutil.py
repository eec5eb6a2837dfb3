"""File-system helpers every stage shares: atomic writes, a file lock, hashing, JSON reads.

Small and dependency-free, so any module (the model store, packaging, the catalog,
subtitle writers) can use them without importing each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_BLOCK = 1 << 20


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and one :func:`os.replace`.

    Readers never see half a file, and a crash leaves the old file intact. The data is
    fsynced before the rename; an existing file keeps its permissions (a new one gets
    0o644, not mkstemp's 0o600). The temporary file is ``.NAME.*.tmp`` next to ``path``.
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644  # mkstemp's 0o600 would surprise whoever reads the file next
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(
    path: Path, data: Any, *, indent: int | None = 2, sort_keys: bool = False
) -> None:
    """:func:`atomic_write_text` of ``data`` as JSON."""
    atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys))


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``{}`` if it is missing, unreadable or not an object.

    For caches and records that are recomputed when absent: never for input whose
    damage the user must hear about.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive OS lock on ``path`` (created, with its folder, if missing).

    Blocks until the lock is free. The kernel releases it when its holder dies, even by
    SIGKILL, so a crash never leaves a stale lock behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_BLOCK):
            digest.update(chunk)
    return digest.hexdigest()
