"""Every artifact built from untrusted text (subtitle lines, names, errors) renders it as
text in the Prefect UI: no link, image or HTML (the UI renders table cells, markdown
artifacts and descriptions as Markdown)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows import catalog_progress, episode
from flows.catalog import CatalogResult, EpisodeOutcome, WorkerInfo, _summary
from localize.domain import Cue, CueTrack
from localize.qc import build_report
from tests.test_markdown import HOSTILE, assert_inert, render


def _tracks(text: str) -> tuple[CueTrack, dict[str, CueTrack]]:
    zh = CueTrack("zh-Hans", (Cue(0, 2000, "你好 " + text),))
    en = CueTrack("en", (Cue(0, 2000, "你好 " + text, source=zh.cues[0].text),))
    return zh, {"en": en}


def test_draft_table_and_qc_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, Any, str]] = []
    monkeypatch.setattr(
        episode,
        "create_table_artifact",
        lambda rows, key, description: made.append(("table", rows, description)),
    )
    monkeypatch.setattr(
        episode,
        "create_markdown_artifact",
        lambda text, key, description: made.append(("markdown", text, description)),
    )
    zh, targets = _tracks(HOSTILE)
    report = build_report({"zh-Hans": zh, **targets}, source=zh, episode=HOSTILE)
    episode.publish_draft(HOSTILE, zh, targets, report, 1)

    (_, rows, table_description), (_, qc_markdown, qc_description) = made
    cells = [str(v) for row in rows for v in row.values()]
    assert sum("javascript" in c for c in cells) >= 2  # the Chinese line and its translation
    for markdown in [*cells, table_description, qc_markdown, qc_description]:
        html = render(markdown)
        assert "<a" not in html and "<img" not in html, html
    assert_inert(render("| a |\n|---|\n| " + rows[0]["en"] + " |"))
    assert_inert(render(qc_markdown))


def test_review_description_escapes_episode_and_echoed_input() -> None:
    zh, targets = _tracks("fine")
    report = build_report({"zh-Hans": zh, **targets}, source=zh)
    drafts = Path("/out") / HOSTILE  # the offline draft folder is named after the episode
    html = render(
        episode._review_description(HOSTILE, ["en"], report, "bad edit: " + HOSTILE, drafts)
    )
    assert html.count("javascript:alert(1)") == 3
    assert_inert(html)


def test_catalog_summary_escapes_names_and_errors() -> None:
    outcome = EpisodeOutcome(
        HOSTILE, "failed", 1.0, error=HOSTILE, worker=WorkerInfo("host", 1, HOSTILE)
    )
    result = CatalogResult(
        processed=[],
        skipped=[HOSTILE],
        failed={HOSTILE: HOSTILE},
        rejected={HOSTILE: HOSTILE},
        stages={},
    )
    html = render(_summary(result, {HOSTILE: outcome}))
    assert html.count("javascript:alert(1)") == 6  # key, worker, reason, rejected x2, skipped
    assert_inert(html)


def test_catalog_progress_description_escapes_name_and_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid

    descriptions: list[str] = []
    monkeypatch.setattr(catalog_progress, "create_progress_artifact", lambda *a, **k: uuid.uuid4())
    monkeypatch.setattr(
        catalog_progress,
        "update_progress_artifact",
        lambda _id, _pct, description: descriptions.append(description),
    )
    tracker = catalog_progress.CatalogProgress(1)
    with tracker.running(HOSTILE):
        pass
    tracker.finished(HOSTILE, True, HOSTILE)
    tracker.close()
    (description,) = descriptions
    html = render(description)
    assert html.count("javascript:alert(1)") == 2
    assert_inert(html)
