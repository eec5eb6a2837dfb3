"""Where series memories live: a data directory, never the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.translate.memory import TranslationMemory, series_memory_path


def test_memories_live_in_the_data_directory_not_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALIZE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "shared"))
    path = series_memory_path("ceo")
    assert path.is_relative_to(tmp_path / "shared")
    monkeypatch.delenv("LOCALIZE_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert series_memory_path("ceo").is_relative_to(tmp_path / "xdg" / "localize")


def test_a_memory_left_in_the_old_cache_location_is_moved_with_its_reviewed_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALIZE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "data"))
    legacy = tmp_path / "cache" / "memory" / "ceo.sqlite"
    TranslationMemory(legacy).approve([("顾总好", "Hello, Mr. Gu.")], "en", who="Lin")

    path = series_memory_path("ceo")
    assert not legacy.exists()
    hit = TranslationMemory(path).lookup("顾总好", "en")
    assert hit is not None and (hit.translation, hit.who) == ("Hello, Mr. Gu.", "Lin")


def test_a_series_id_cannot_point_outside_the_data_directory() -> None:
    from localize.paths import UnsafePathError

    with pytest.raises(UnsafePathError):
        series_memory_path("../elsewhere")
