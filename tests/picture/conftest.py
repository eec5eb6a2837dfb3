from __future__ import annotations

from pathlib import Path

import pytest

from localize.ocr.engine import RapidOcrReader
from tests.picture.scenes import Scene, make_scene


@pytest.fixture(scope="session")
def still(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """4 s of 360x640 still scenery with two Chinese captions burned in."""
    return make_scene(tmp_path_factory.mktemp("still"))


@pytest.fixture(scope="session")
def pan(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """The same captions over a slow pan (1 px a frame)."""
    return make_scene(tmp_path_factory.mktemp("pan"), pan=True)


@pytest.fixture(scope="session")
def reader() -> RapidOcrReader:
    return RapidOcrReader()


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 16 kB tmpfs: too small for any clean master (needs root to mount)."""
    import subprocess

    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
