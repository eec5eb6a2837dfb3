"""One Prefect test server for the whole session (starting one takes ~15 s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with (
        temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: storage}),
        prefect_test_harness(server_startup_timeout=90),
    ):
        yield


@pytest.fixture
def localize_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private LOCALIZE_HOME (translation memory) that still sees the prepared models."""
    from localize.models import localize_home as real_home

    models = real_home() / "models"
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(models, target_is_directory=True)
    monkeypatch.setenv("LOCALIZE_HOME", str(home))
    monkeypatch.setenv("LOCALIZE_DATA", str(home / "data"))  # translation memories
    return home
