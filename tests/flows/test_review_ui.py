"""The translator's review in the real Prefect UI, driven in headless Chromium.

A private Prefect server with the UI runs in a subprocess; the episode flow runs in
another one (review=True, fake MT) until it pauses for input. The browser opens the
draft table artifact the way a translator would, then the run's Resume form (V2 UI, the
server's default), approves with one edit, and the test checks what was published.

Screenshots go to the test's tmp folder (printed; shown on failure). With
LOCALIZE_UPDATE_DOCS_IMAGES=1 the test also refreshes the translator's guide images
docs/images/review-draft.png and docs/images/review-form.png.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles
from tests.flows.ui_helpers import (
    REPO,
    Screenshots,
    UIServer,
    chromium_page,
    log_tail,
    require_browser,
    start_flow,
    stop_process,
    wait_until,
)

if TYPE_CHECKING:
    import subprocess

    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(300)]

REVIEWER = "Ana Lima"
EDIT = "Edited in the browser."
DRAFT_KEY = "draft-episode"  # draft-<episode slug>; the sample video is episode.mp4
DOCS_IMAGES = REPO / "docs" / "images"
MAX_DOC_IMAGE_BYTES = 300_000
# wide enough for the draft's zh and en columns (below ~1024 px the details panel
# moves away, above it the table shares the width); tall enough for the whole Resume form
DRAFT_VIEWPORT = {"width": 1600, "height": 900}
FORM_VIEWPORT = {"width": 1000, "height": 1250}


@dataclass
class ReviewUI:
    server: UIServer
    episode: SampleEpisode


@pytest.fixture(scope="module")
def review_ui(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReviewUI]:
    require_browser()
    folder = tmp_path_factory.mktemp("prefect-ui")
    server = UIServer.start(folder / "home", folder / "server.log")
    try:
        # The session's sample episode (~15 s to build) is requested only now, so it is
        # built while the server boots (~10 s). Listing `episode` as a test argument would
        # build it first: pytest sets up higher-scoped fixtures first.
        episode = request.getfixturevalue("episode")
        server.wait_healthy(timeout=90)
        yield ReviewUI(server, episode)
    finally:
        server.stop()


def test_translator_approves_an_edit_in_the_prefect_ui(
    review_ui: ReviewUI, tmp_path: Path, localize_home: Path
) -> None:
    server = review_ui.server
    out = tmp_path / "out"
    flow_log = tmp_path / "flow.log"
    shots = Screenshots(tmp_path / "screenshots")
    print(f"screenshots: {shots.folder}\nflow log: {flow_log}\nserver log: {server.log}")
    params = {
        "video": str(review_ui.episode.video),
        "series": "ceo-contract-bride",
        "targets": ["en"],
        "review": True,
        "out_dir": str(out),
        "mt_backend": "fake",
    }
    flow = start_flow(params, home=tmp_path / "flow-home", api_url=server.api_url, log=flow_log)
    try:
        run_id = wait_until(
            lambda: _paused_run(server, flow, flow_log),
            timeout=120,
            what="the flow to pause for review",
        )
        with chromium_page(server.url) as page:
            try:
                _open_draft(page, server, run_id, shots)
                _approve_with_edit(page, server, run_id, shots)
                wait_until(
                    lambda: _finished(server, run_id, flow, flow_log),
                    timeout=60,
                    what="the flow run to finish after the review",
                )
                _expect_completed_in_ui(page)
                shots.take(page, "completed")
            except Exception:
                with contextlib.suppress(Exception):
                    shots.take(page, "failure")
                raise
        assert flow.wait(timeout=60) == 0, f"the flow process failed:\n{log_tail(flow_log)}"
    finally:
        stop_process(flow)

    assert server.state_of(run_id) == "COMPLETED"
    en = read_subtitles(out / "episode.en.srt")
    assert en.cues[0].text.replace("\n", " ") == EDIT
    review = json.loads((out / "review.json").read_text())
    assert review[-1]["reviewer"] == REVIEWER
    assert review[-1]["decision"] == "approve"
    assert [(e["language"], e["index"], e["after"]) for e in review[-1]["edits"]] == [
        ("en", 1, EDIT)
    ]


# ------------------------------------------------------------------------------ steps
def _open_draft(page: Page, server: UIServer, run_id: str, shots: Screenshots) -> None:
    """Artifacts tab -> the draft card -> its newest version: the table of every cue."""
    from playwright.sync_api import expect

    page.set_viewport_size(DRAFT_VIEWPORT)
    page.goto(f"{server.url}/v2/runs/flow-run/{run_id}?tab=Artifacts")
    page.get_by_role("link", name=re.compile(DRAFT_KEY)).click()
    expect(page).to_have_url(re.compile(f"/artifacts/key/{DRAFT_KEY}"))
    [artifact] = server.post(
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": [DRAFT_KEY]}}},
    )
    # the key's page lists its versions by short id, newest first
    page.get_by_role("link", name=artifact["id"][:8]).click()
    expect(page).to_have_url(re.compile(artifact["id"]))
    table = page.get_by_role("table")
    for column in ("index", "zh-Hans", "en", "qc"):
        expect(table.get_by_role("columnheader", name=column, exact=True)).to_be_visible()
    rows = json.loads(artifact["data"])
    first = table.get_by_role("row").nth(1)
    expect(first.get_by_role("cell").first).to_have_text("1")
    expect(first).to_contain_text(rows[0]["time"])
    _publish(shots.take(page, "draft"), "review-draft.png")


def _approve_with_edit(page: Page, server: UIServer, run_id: str, shots: Screenshots) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(FORM_VIEWPORT)
    page.goto(f"{server.url}/v2/runs/flow-run/{run_id}")
    expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
    shots.take(page, "paused-run")
    # the V2 UI puts Resume in the run's menu (V1 had a button next to Cancel)
    page.get_by_role("button", name="Open menu").click()
    page.get_by_role("menuitem", name="Resume").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Review of episode")).to_be_visible()

    decision = dialog.get_by_role("button", name="Select Decision")
    decision.click()
    shots.take(page, "decision-dropdown")
    page.get_by_role("option", name="approve", exact=True).click()
    expect(decision).to_have_text("approve")
    dialog.get_by_label("Reviewer").fill(REVIEWER)
    dialog.get_by_label("Notes").fill("Line 1 reworded.")
    dialog.get_by_label("Edits").fill(f"1 | {EDIT}")
    _publish(shots.take(page, "review-form"), "review-form.png")

    dialog.get_by_role("button", name="Resume", exact=True).click()
    expect(page.get_by_text("Flow run resumed")).to_be_visible()
    expect(dialog).to_be_hidden()
    shots.take(page, "resumed")


def _expect_completed_in_ui(page: Page) -> None:
    from playwright.sync_api import expect

    page.reload()
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible()


# ---------------------------------------------------------------------------- helpers
def _paused_run(server: UIServer, flow: subprocess.Popen[bytes], log: Path) -> str | None:
    if flow.poll() is not None:
        raise AssertionError(
            f"the flow exited ({flow.returncode}) before pausing:\n{log_tail(log)}"
        )
    runs: list[dict[str, Any]] = server.flow_runs_in("PAUSED")
    return str(runs[0]["id"]) if runs else None


def _finished(
    server: UIServer, run_id: str, flow: subprocess.Popen[bytes], log: Path
) -> bool | None:
    state = server.state_of(run_id)
    if state == "COMPLETED":
        return True
    if state in {"FAILED", "CRASHED", "CANCELLED"} or flow.poll() not in (None, 0):
        raise AssertionError(f"the flow run ended {state}:\n{log_tail(log)}")
    return None


def _publish(shot: Path, name: str) -> None:
    """Copy a screenshot into the translator's guide when asked to refresh its images."""
    if os.environ.get("LOCALIZE_UPDATE_DOCS_IMAGES") != "1":
        return
    size = shot.stat().st_size
    assert size < MAX_DOC_IMAGE_BYTES, f"{shot.name} is {size} bytes, too big for the docs"
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS_IMAGES / name)
