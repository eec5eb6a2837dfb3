"""The QC gate of unattended runs, and the output folder checked before any work.

The fake translator leaves Chinese in place, which QC flags as errors: without review,
such an episode is held (draft and QC report in ``<out>.held``), not published, until a
run publishes it on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localize.catalog import CatalogState, check_published, discover, plan, read_manifest
from localize.cli import main
from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles
from tests.flows.catalog_helpers import GLOSSARY, catalog_clips, make_catalog
from tests.flows.test_progress_ui import _artifacts

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]
__all__ = ["catalog_clips"]  # a fixture


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The Prefect events the episode flow emits, validated as Prefect would send them."""
    from prefect.events import Event

    import flows.episode as episode_flow

    sent: list[Any] = []

    def emit(**kwargs: Any) -> Any:
        sent.append(Event(**kwargs))  # the same model emit_event builds and sends
        return sent[-1]

    monkeypatch.setattr(episode_flow, "emit_event", emit)
    return sent


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``localize`` in this process, on the session's Prefect test server."""
    import localize.cli

    monkeypatch.setattr(localize.cli, "_prefect_env", lambda: None)
    return main


def _episode_args(video: Path, out: Path, *more: str) -> list[str]:
    return [
        "episode", str(video), "--series", str(GLOSSARY), "--to", "en",
        "--mt-backend", "fake", "--source", "asr", "--no-review", "--out", str(out), *more,
    ]  # fmt: skip


def test_an_unattended_episode_with_qc_errors_is_held_then_published_on_request(
    catalog_clips: dict[str, Path],
    tmp_path: Path,
    localize_home: Path,
    events: list[Any],
    cli: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out" / "ep1"
    out.mkdir(parents=True)  # made empty beforehand: accepted (nothing in it to lose)
    draft = tmp_path / "out" / "ep1.held"

    assert cli(_episode_args(catalog_clips["ep1"], out)) == 3
    printed = capsys.readouterr().out
    qc = json.loads((draft / "qc.json").read_text())
    errors = qc["error_count"]
    assert errors > 0
    assert f"held: {errors} QC errors, draft at {draft}; re-run with review on or " in printed
    assert "--on-qc-errors publish" in printed
    # nothing published: the output folder is as it was
    assert out.is_dir() and not out.is_symlink() and not any(out.iterdir())
    # the draft: the subtitles it would have published, and the QC report
    assert check_published(draft) == []
    assert {"ep1.en.srt", "ep1.zh-Hans.srt", "qc.json", "report.html"} <= {
        p.name for p in draft.iterdir()
    }
    assert read_subtitles(draft / "ep1.en.srt").cues
    manifest = read_manifest(draft)
    assert manifest is not None and manifest["held"]["qc_errors"] == errors
    # one event for automations, naming the episode and where its draft is
    [event] = events
    assert event.event == "localize.episode.held"
    assert event.resource.id == "localize.episode.ceo-contract-bride.ep1"
    assert event.resource.name == "ceo-contract-bride/ep1"
    assert event.payload["qc_errors"] == errors
    assert event.payload["draft"] == str(draft) and event.payload["out_dir"] == str(out)
    assert event.payload["report"] == str(draft / "report.html")

    # published on purpose: into the empty folder, and the draft is removed
    assert cli(_episode_args(catalog_clips["ep1"], out, "--on-qc-errors", "publish")) == 0
    assert "Published ceo-contract-bride/ep1" in capsys.readouterr().out
    assert out.is_symlink() and check_published(out) == []
    assert not draft.exists() and not draft.is_symlink()
    versions = tmp_path / "out" / ".versions"
    assert [p.name for p in versions.iterdir() if p.is_dir()] == [out.resolve().name]
    assert len(events) == 1


def test_a_foreign_output_folder_is_refused_before_any_stage_runs(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.episode as episode_flow
    from flows.params import EpisodeParams

    probed: list[Path] = []
    monkeypatch.setattr(episode_flow, "probe", lambda path: probed.append(path))
    out = tmp_path / "ep01"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    params = EpisodeParams(
        video=str(episode.video),
        series="ceo-contract-bride",
        review=False,
        out_dir=str(out),
        mt_backend="fake",
    )
    state = episode_flow.localize_episode(params, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=f"{out} exists and was not created by localize"):
        state.result()
    assert probed == []  # refused before the first stage, not after all the work
    assert (out / "precious.txt").read_text() == "keep me"


def test_the_catalog_holds_an_episode_until_a_run_publishes_it(
    catalog_clips: dict[str, Path], tmp_path: Path, localize_home: Path, events: list[Any]
) -> None:
    from flows.catalog import localize_catalog

    root = make_catalog(tmp_path / "catalog", {"ep1": catalog_clips["ep1"]})
    (root / "ceo" / "series.toml").write_text('[run]\ntargets = ["en"]\nsource = "asr"\n')
    out = tmp_path / "out"
    held = out / "ceo" / "ep1.held"

    def run(**kw: Any) -> Any:
        return localize_catalog(str(root), out=str(out), mt_backend="fake", **kw)

    def status() -> tuple[str, str]:
        [item], _ = plan(discover(root), CatalogState.load(out), out, {"mt_backend": "fake"})
        return item.languages[0].status, item.languages[0].detail

    state = localize_catalog(str(root), out=str(out), mt_backend="fake", return_state=True)
    first = state.result()
    assert first.processed == [] and first.failed == {}
    errors = json.loads((held / "qc.json").read_text())["error_count"]
    assert errors > 0
    assert first.held == {"ceo/ep1": f"({errors} QC errors) draft at {held}"}
    assert status() == ("held", f"({errors} QC errors) draft at {held}")
    assert not (out / "ceo" / "ep1").exists()
    assert [e.event for e in events] == ["localize.episode.held"]
    # the run's page in the UI: the progress and the summary artifacts say so
    run_id = state.state_details.flow_run_id
    [bar] = _artifacts(flow_run_id=run_id, key="catalog-progress")
    assert bar["description"].startswith("1 of 1 episodes finished (0 done, 1 held, 0 failed)")
    [summary] = _artifacts(flow_run_id=run_id, key="catalog-summary")
    assert "**0 processed, 1 held," in summary["data"]
    assert f"| ceo/ep1 | held ({errors} QC errors) |" in summary["data"]

    # the next nightly run: nothing changed, so it stays held (no second notification),
    # and the sweep of stale output at the start of the run leaves the draft alone
    second = run()
    assert second.skipped == ["ceo/ep1"] and second.held == {}
    assert check_published(held) == [] and len(events) == 1
    assert status()[0] == "held"

    # published on purpose (the series could say on_qc_errors = "publish" instead)
    third = run(on_qc_errors="publish")
    assert third.processed == ["ceo/ep1"]
    assert check_published(out / "ceo" / "ep1") == []
    assert not held.exists() and not held.is_symlink()
    assert status() == ("done", "")


def test_the_documented_automation_notifies_on_the_held_event(
    monkeypatch: pytest.MonkeyPatch, events: list[Any]
) -> None:
    """docs/catalog.md's automation example runs against this Prefect (create caught)."""
    import re
    from uuid import uuid4

    from prefect.automations import Automation
    from prefect.blocks.core import Block

    docs = (Path(__file__).resolve().parents[2] / "docs" / "catalog.md").read_text()
    [code] = [b for b in re.findall(r"```python\n(.*?)```", docs, re.S) if "Automation(" in b]
    block = type("Found", (), {"_block_document_id": uuid4()})()
    loaded: list[str] = []
    created: list[Automation] = []
    monkeypatch.setattr(Block, "load", classmethod(lambda cls, name: loaded.append(name) or block))
    monkeypatch.setattr(Automation, "create", lambda self: created.append(self) or self)
    exec(compile(code, "docs/catalog.md", "exec"), {})
    [automation] = created
    assert loaded == ["slack-webhook/localize-managers"]
    assert automation.trigger.expect == {"localize.episode.held"}  # type: ignore[union-attr]
    [action] = automation.actions
    assert action.block_document_id == block._block_document_id  # type: ignore[union-attr]
    assert "{{ event.payload.draft }}" in action.body  # type: ignore[union-attr]
    # ...and its trigger fires on what the flow emits
    from types import SimpleNamespace

    from flows.episode import emit_held_event

    report = SimpleNamespace(error_count=2, warning_count=1)
    emit_held_event("ceo", "ep7", report, Path("/out/ceo/ep7.held"), Path("/out/ceo/ep7"))  # type: ignore[arg-type]
    [event] = events
    assert event.event in automation.trigger.expect  # type: ignore[union-attr]
    assert automation.trigger.match.matches(event.resource)  # type: ignore[union-attr]
