"""Shared fixtures. Media are generated at test time; nothing binary lives in git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Prefect stays offline and quiet in tests; set before any test imports prefect
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# series state (translation memories) of tests never lands in the user's data directory
if "LOCALIZE_DATA" not in os.environ:
    import tempfile

    os.environ["LOCALIZE_DATA"] = tempfile.mkdtemp(prefix="localize-test-data-")

from localize.sample import SampleEpisode, build_sample_episode


@pytest.fixture(scope="session")
def episode(tmp_path_factory: pytest.TempPathFactory) -> SampleEpisode:
    """The sample episode (about 80 s, 18 lines), built once per test session."""
    return build_sample_episode(tmp_path_factory.mktemp("sample"), seed=0)


@pytest.fixture(scope="session")
def glossary_path() -> Path:
    return Path(__file__).resolve().parent.parent / "glossaries" / "ceo-contract-bride.toml"
