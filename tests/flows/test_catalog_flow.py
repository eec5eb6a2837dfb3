"""The catalog flow on a real Prefect server: fan-out, a corrupt episode, skips, resume."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from localize.catalog import CatalogState, discover, manifest_id, plan, read_manifest
from localize.sample import SampleEpisode
from tests.flows.catalog_helpers import make_catalog

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(scope="module")
def clips(episode: SampleEpisode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two short cuts of the sample (different content hashes) and a corrupt file."""
    folder = tmp_path_factory.mktemp("clips")
    out: dict[str, Path] = {}
    for name, seconds in (("short", "6"), ("long", "11")):
        path = folder / f"{name}.mp4"
        cut = ["-c", "copy", "-t", seconds, str(path)]
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(episode.video), *cut], check=True)
        out[name] = path
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    out["corrupt"] = corrupt
    return out


def _run(root: Path, out: Path, **kw: Any) -> Any:
    from flows.catalog import localize_catalog

    return localize_catalog(str(root), out=str(out), mt_backend="fake", **kw)


def test_catalog_publishes_good_episodes_and_reports_the_corrupt_one(
    clips: dict[str, Path], tmp_path: Path, localize_home: Path
) -> None:
    root = make_catalog(
        tmp_path / "catalog",
        {"ep1": clips["short"], "ep2": clips["corrupt"], "ep10": clips["long"]},
    )
    out = tmp_path / "out"
    result = _run(root, out, max_parallel=2)
    assert sorted(result.processed) == ["ceo/ep1", "ceo/ep10"]
    assert list(result.failed) == ["ceo/ep2"]
    assert "ep2" in result.failed["ceo/ep2"] or "corrupt" in result.failed["ceo/ep2"].lower()
    for ep in ("ep1", "ep10"):
        manifest = read_manifest(out / "ceo" / ep)
        assert manifest is not None
        assert f"{ep}.en.srt" in {f["path"] for f in manifest["files"]}
    assert not (out / "ceo" / "ep2").exists()
    assert "transcribe" in result.stages["ceo/ep1"]

    # the second run: finished episodes are skipped; the corrupt one is retried and fails
    again = _run(root, out)
    assert again.processed == []
    assert sorted(again.skipped) == ["ceo/ep1", "ceo/ep10"]
    assert list(again.failed) == ["ceo/ep2"]

    # the hash cache spares re-reading the videos, and a glossary edit marks them changed
    glossary = root / "ceo" / "glossary.toml"
    glossary.write_text(glossary.read_text().replace("Lin Wan,", "Lin Wan (a designer),", 1))
    state = CatalogState.load(out)
    plans, _ = plan(discover(root), state, out, {"mt_backend": "fake"})
    assert state.hashed == 0
    found = {p.episode.name: p.languages[0] for p in plans}
    assert (found["ep1"].status, found["ep1"].detail) == ("changed", "glossary changed")
    assert found["ep2"].status == "changed"


def test_a_crashed_run_resumes_without_redoing_finished_episodes(
    clips: dict[str, Path], tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.catalog as catalog_flow

    root = make_catalog(tmp_path / "catalog", {"ep1": clips["short"], "ep2": clips["long"]})
    out = tmp_path / "out"
    real = catalog_flow.record_outcome
    calls: list[str] = []

    def crash_after_first(state: Any, item: Any, outcome: Any) -> None:
        real(state, item, outcome)
        calls.append(item.episode.key)
        raise RuntimeError("simulated crash after the first episode")

    monkeypatch.setattr(catalog_flow, "record_outcome", crash_after_first)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(root, out, max_parallel=1)
    assert calls == ["ceo/ep1"]
    first = read_manifest(out / "ceo" / "ep1")
    assert first is not None
    published = (out / "ceo" / "ep1").resolve()

    monkeypatch.setattr(catalog_flow, "record_outcome", real)
    result = _run(root, out, max_parallel=1)
    assert result.skipped == ["ceo/ep1"]
    assert result.processed == ["ceo/ep2"]
    after = read_manifest(out / "ceo" / "ep1")
    assert after is not None and manifest_id(after) == manifest_id(first)
    assert (out / "ceo" / "ep1").resolve() == published


def test_a_run_for_another_language_keeps_the_published_one_done(
    clips: dict[str, Path], tmp_path: Path, localize_home: Path
) -> None:
    root = make_catalog(tmp_path / "catalog", {"ep1": clips["short"]})
    out = tmp_path / "out"
    _run(root, out)
    english = (out / "ceo" / "ep1" / "ep1.en.srt").read_bytes()

    added = _run(root, out, targets=["es"])
    assert added.processed == ["ceo/ep1"]
    assert (out / "ceo" / "ep1" / "ep1.en.srt").read_bytes() == english

    # the next (nightly) run for the series' targets finds English still done
    nightly = _run(root, out)
    assert nightly.processed == [] and nightly.skipped == ["ceo/ep1"]
    plans, _ = plan(discover(root), CatalogState.load(out), out, {"mt_backend": "fake"})
    assert [(s.language, s.status) for s in plans[0].languages] == [("en", "done")]
