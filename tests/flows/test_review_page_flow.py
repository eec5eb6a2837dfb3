"""A translator reviews a paused episode run on the review page, without the Prefect form.

The session's Prefect test server; the episode flow (review on, fake MT) in a thread until
it pauses; the review pages served as ``localize serve`` serves them (a thread, 127.0.0.1,
HTTP Basic with an auth string). Headless Chromium opens the page the run links to,
plays the draft, jumps to a flagged cue, edits its English line, nudges its end, approves;
the flow completes and the published SRT, review.json and the series memory carry it.

With LOCALIZE_UPDATE_DOCS_IMAGES=1 the screenshots refresh the translator's guide images
docs/images/review-page*.png (each must stay under 200 KB).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles
from localize.translate.memory import TranslationMemory, series_memory_path
from tests.flows.test_episode_flow import _params, _wait_for_paused
from tests.flows.ui_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    Screenshots,
    require_browser,
    wait_until,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.timeout(600),
]

AUTH = "localize:review-page-test"
EDIT = "Edited on the review page."
DOCS_IMAGES = REPO / "docs" / "images"
MAX_DOC_IMAGE_BYTES = 200_000


@contextlib.contextmanager
def browser_page() -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    user, _, password = AUTH.partition(":")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                http_credentials={"username": user, "password": password},
                viewport={"width": 1200, "height": 720},
                device_scale_factor=1,
            )
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def _page_link(run_id: Any) -> str:
    """The review page's address, as the run's link artifact gives it (Prefect stores a
    link artifact as Markdown: ``[text](url)``)."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    body = {
        "artifacts": {"flow_run_id": {"any_": [str(run_id)]}, "type": {"any_": ["markdown"]}},
        "limit": 20,
    }
    response = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", json=body, timeout=30)
    response.raise_for_status()
    links = [str(a["data"]) for a in response.json() if "/review/" in str(a["data"])]
    assert links, "the paused run links no review page"
    return links[0][links[0].index("](") + 2 : -1]


def test_translator_reviews_a_paused_run_on_the_review_page(
    episode: SampleEpisode,
    tmp_path: Path,
    localize_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_browser()
    from prefect.flow_runs import resume_flow_run

    from flows.episode import localize_episode
    from flows.review_page import REVIEW_URL_ENV, review_pages

    out = tmp_path / "out"
    shots = Screenshots(tmp_path / "screenshots")
    print(f"screenshots: {shots.folder}")
    box: dict[str, Any] = {}
    with review_pages(0, auth=AUTH) as pages:
        monkeypatch.setenv(REVIEW_URL_ENV, pages)
        params = _params(episode, out, review=True, source="ocr")
        worker = threading.Thread(
            target=lambda: box.update(state=localize_episode(params, return_state=True))
        )
        worker.start()
        run_id = _wait_for_paused()
        try:
            url = _page_link(run_id)
            assert url == f"{pages}/review/{run_id}"
            with browser_page() as page:
                try:
                    edited, old_end = _review(page, url, shots)
                except Exception:
                    with contextlib.suppress(Exception):
                        shots.take(page, "failure")
                    raise
        except Exception:
            with contextlib.suppress(Exception):  # let the paused flow end
                resume_flow_run(run_id, run_input={"decision": "reject", "notes": "test failed"})
            raise
        finally:
            worker.join(timeout=300)
    result = box["state"].result()
    assert result.review == "approved"

    en = read_subtitles(out / "episode.en.srt")
    cue = en.cues[edited - 1]
    assert cue.text.replace("\n", " ") == EDIT
    assert cue.end_ms == old_end - 100
    review = json.loads((out / "review.json").read_text())
    last = review[-1]
    assert (last["decision"], last["reviewer"]) == ("approve", "Ana Lima")
    assert f"cue {edited}: the name on the phone reads Gu Yan" in last["notes"]
    assert {(e["index"], e["after"], e["kind"]) for e in last["edits"]} >= {(edited, EDIT, "text")}
    assert any(e["kind"] == "timing" and e["index"] == edited for e in last["edits"])
    zh = read_subtitles(out / "episode.zh-Hans.srt")
    hit = TranslationMemory(series_memory_path("ceo-contract-bride")).lookup(
        zh.cues[edited - 1].text, "en"
    )
    assert hit is not None and hit.origin == "approved"
    assert (hit.translation, hit.who) == (EDIT, "Ana Lima")
    _keep_for_docs(shots)


def _review(page: Page, url: str, shots: Screenshots) -> tuple[int, int]:
    """Play, jump to a flagged cue, edit and retime it, approve. Returns the cue's index
    and its end before the nudge."""
    page.goto(url)
    page.wait_for_selector("#rows tr")
    _until(page, "document.getElementById('video').readyState >= 1", "the video to load")

    # play: the video's current time moves
    page.locator("body").press(" ")
    _until(page, "document.getElementById('video').currentTime > 0.5", "the video to play")
    page.locator("body").press("k")
    assert page.evaluate("document.getElementById('video').paused")
    shots.take(page, "review-page")

    # jump to the next flagged cue: it is highlighted and the video is at its start
    page.locator("body").press("f")
    active = page.locator("#rows tr.active")
    active.wait_for()
    assert "flagged" in (active.get_attribute("class") or "")
    index = int(active.get_attribute("data-index") or 0)
    start = _cue_start(page, index)
    now = page.evaluate("document.getElementById('video').currentTime")
    assert abs(now - start / 1000) < 0.05

    # edit its English line (re-checked live), nudge its end -100 ms, note it
    row = page.locator(f"#cue-{index}")
    row.locator("textarea[data-lang=en]").fill(EDIT)
    live = row.locator(".live[data-lang=en]")
    live.locator("span, ul").first.wait_for()  # the re-check answered
    assert "source-script" not in (live.text_content() or "")  # no Chinese left
    old_end = _cue_end(page, index)
    row.locator(".nudges button").nth(2).click()  # end -100 ms
    row.locator("td.note input").fill("the name on the phone reads Gu Yan")
    shots.take(page, "review-page-edit")

    # approve
    page.locator("input[name=decision][value=approve]").check()
    page.locator("input[name=reviewer]").fill("Ana Lima")
    page.locator("#submit").click()
    page.locator("#message .sent").wait_for()
    page.locator("#state", has_text="Completed").wait_for(timeout=240_000)
    shots.take(page, "review-page-sent")
    return index, old_end


def _until(page: Page, expression: str, what: str) -> None:
    """Poll a JS expression (the page's CSP forbids the eval wait_for_function uses)."""
    wait_until(lambda: page.evaluate(expression) or None, timeout=60, what=what, interval=0.2)


def _cue_start(page: Page, index: int) -> int:
    start: int = page.evaluate(
        "(i) => JSON.parse(document.getElementById('draft').textContent).cues[i - 1].start_ms",
        index,
    )
    return start


def _cue_end(page: Page, index: int) -> int:
    end: int = page.evaluate(
        "(i) => JSON.parse(document.getElementById('draft').textContent).cues[i - 1].timing.en[1]",
        index,
    )
    return end


def _keep_for_docs(shots: Screenshots) -> None:
    if os.environ.get("LOCALIZE_UPDATE_DOCS_IMAGES") != "1":
        return
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    for shot in sorted(shots.folder.glob("*-review-page*.png")):
        size = shot.stat().st_size
        assert size < MAX_DOC_IMAGE_BYTES, f"{shot.name} is {size} bytes, too big for the docs"
        shutil.copyfile(shot, DOCS_IMAGES / shot.name.split("-", 1)[1])
