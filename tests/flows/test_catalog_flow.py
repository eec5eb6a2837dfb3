"""The catalog flow on a real Prefect server: fan-out, a corrupt episode, skips, resume."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from localize.catalog import (
    REVIEW,
    CatalogState,
    discover,
    manifest_id,
    plan,
    read_manifest,
)
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
    # a series with a bad series.toml is rejected with the reason; the others run
    make_catalog(root, {"ep1": clips["short"]}, series="broken")
    (root / "broken" / "series.toml").write_text("[run]\ndub = true\n")
    out = tmp_path / "out"
    result = _run(root, out, max_parallel=2)
    assert "dub: Input should be a valid list" in result.rejected[f"{root}/broken/series.toml"]
    assert sorted(result.processed) == ["ceo/ep1", "ceo/ep10"]
    assert list(result.failed) == ["ceo/ep2"]
    assert "ep2" in result.failed["ceo/ep2"] or "corrupt" in result.failed["ceo/ep2"].lower()
    for ep in ("ep1", "ep10"):
        manifest = read_manifest(out / "ceo" / ep)
        assert manifest is not None
        assert f"{ep}.en.srt" in {f["path"] for f in manifest["files"]}
    assert not (out / "ceo" / "ep2").exists()
    assert "transcribe" in result.stages["ceo/ep1"]

    # a run killed while ep10 waited for its review (the server since wiped: its id
    # is unknown) left it recorded as waiting-for-review: it is run again, not stuck
    state = CatalogState.load(out)
    plans, _ = plan(discover(root), state, out, {"mt_backend": "fake"})
    ep10 = next(p for p in plans if p.episode.name == "ep10")
    state.record(ep10.episode, ["en"], REVIEW, ep10.fingerprint("en"), run=str(uuid4()))
    state.save()
    # the second run: finished episodes are skipped; the corrupt one is retried and fails
    again = _run(root, out)
    assert again.processed == ["ceo/ep10"]
    assert sorted(again.skipped) == ["ceo/ep1"]
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


def test_reviewed_lines_survive_a_glossary_change_and_a_catalog_rerun(
    clips: dict[str, Path], tmp_path: Path, localize_home: Path
) -> None:
    """A translator corrects a line in review; the manager then edits the glossary, which
    makes the next catalog run translate the episode again: the reviewed line stays."""
    import threading

    from prefect.flow_runs import resume_flow_run

    from localize.subtitles import read_subtitles
    from tests.flows.test_episode_flow import _wait_for_paused

    root = make_catalog(tmp_path / "catalog", {"ep1": clips["short"]})
    out = tmp_path / "out"
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(run=_run(root, out, review=True)))
    worker.start()
    try:
        resume_flow_run(
            _wait_for_paused(),
            run_input={"decision": "approve", "reviewer": "ana", "edits": "1 | Reviewed."},
        )
    finally:
        worker.join(timeout=600)
    assert box["run"].processed == ["ceo/ep1"]
    srt = out / "ceo" / "ep1" / "ep1.en.srt"
    assert read_subtitles(srt).cues[0].text == "Reviewed."

    glossary = root / "ceo" / "glossary.toml"
    glossary.write_text(
        glossary.read_text(encoding="utf-8")
        + '\n[[terms]]\nzh = "董事会"\nto = { en = "the board" }\n',
        encoding="utf-8",
    )
    again = _run(root, out)
    assert again.processed == ["ceo/ep1"]  # the glossary changed: translated again
    assert read_subtitles(srt).cues[0].text == "Reviewed."


def test_a_review_run_is_gone_when_missing_ended_or_unlocked() -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from flows.catalog import review_gone

    @flow(name="waits-for-review")
    def waiting() -> None:
        pass

    ended = str(waiting(return_state=True).state_details.flow_run_id)
    with get_client(sync_client=True) as client:
        running = str(client.create_flow_run(waiting, state=Running()).id)
    assert review_gone(running, current=running) == ""
    assert "no longer exists" in review_gone(str(uuid4()), current=running)
    assert "no longer exists" in review_gone("", current=running)
    assert "has ended (Completed)" in review_gone(ended, current=running)
    # still Running on the server, but not this run: its process lost the catalog lock
    assert "is marked Running but its process has ended" in review_gone(running, current=ended)
