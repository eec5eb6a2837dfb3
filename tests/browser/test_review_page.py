"""The review page in headless Chromium without Prefect: escaping and the live re-check.

A synthetic paused review (bench.review_page) is served by the page server ``localize
serve`` runs, with a stand-in for Prefect that records what would be sent to the run.
The whole flow (a real paused run, resumed from the page) is tested in
tests/flows/test_review_page_flow.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bench.review_page import AUTH, page_server, synthetic_draft
from localize.review_page import PageBackend, save_draft
from tests.flows.ui_helpers import CHROMIUM, CHROMIUM_ARGS, require_browser

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HOSTILE_ZH = '</script><script>window.pwned = "zh"</script><img src=x onerror="window.pwned=1">'
HOSTILE_EN = '<b>bold</b> <img src=x onerror="window.pwned=2"> & <i>it</i>'


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, list[Any]]]:
    sent: list[Any] = []
    draft = synthetic_draft(
        None,
        cues=6,
        texts={"zh-Hans": [HOSTILE_ZH, "合同已经签好了。"], "en": [HOSTILE_EN, "Fine."]},
    )
    folder = tmp_path / "reviews"
    save_draft(folder, draft)
    backend = PageBackend(folder, lambda run, data: sent.append(data), lambda run: "Paused", AUTH)
    with page_server(folder, backend) as base:
        yield f"{base}/review/{draft.run_id}", draft.run_id, sent


@pytest.fixture
def page(served: tuple[str, str, list[Any]]) -> Iterator[Page]:
    require_browser()
    from playwright.sync_api import sync_playwright

    user, _, password = AUTH.partition(":")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(http_credentials={"username": user, "password": password})
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(served[0])
            page.wait_for_selector("#cue-6")
            yield page
        finally:
            browser.close()


def test_cue_text_with_html_and_script_renders_as_text(page: Page) -> None:
    assert page.evaluate("window.pwned") is None
    assert page.locator("#rows img, #rows b, #rows i").count() == 0
    assert page.locator("#cue-1 td.source").text_content() == HOSTILE_ZH
    assert page.locator("#cue-1 textarea[data-lang=en]").input_value() == HOSTILE_EN
    assert "line-length" in (page.locator("#cue-1 td.qc").text_content() or "")
    # the subtitle track under the video shows the tags as text as well
    vtt = page.evaluate("fetch(location.pathname + '/en.vtt').then((r) => r.text())")
    assert "&lt;img src=x" in vtt and "<img" not in vtt


def test_an_edit_is_rechecked_live_against_the_style_profile(page: Page) -> None:
    area = page.locator("#cue-2 textarea[data-lang=en]")
    area.fill("This English line is much too long to be read in the time the cue is shown")
    live = page.locator("#cue-2 .live[data-lang=en]")
    live.get_by_text("reading-speed").wait_for()
    assert "line-length" in (live.text_content() or "")
    area.fill("Contract signed, 合同.")
    live.get_by_text("source-script").wait_for()
    area.fill("The contract is signed.")
    live.get_by_text("fits the style profile").wait_for()


def test_submitting_sends_the_forms_input_and_shows_the_flows_error(
    page: Page, served: tuple[str, str, list[Any]]
) -> None:
    sent = served[2]
    page.locator("#cue-3 textarea[data-lang=es]").fill("")
    page.locator("input[name=decision][value=approve]").check()
    page.locator("#submit").click()
    error = page.locator("#message .error")
    error.wait_for()
    assert "the new text for cue 3 is empty" in (error.text_content() or "")
    assert sent == []  # nothing reached the run
    page.locator("#cue-3 textarea[data-lang=es]").fill("¿Qué quieres, Gu?")
    page.locator("#cue-3 .nudges button").nth(3).click()  # end +100 ms
    page.locator("#cue-3 td.note input").fill("check the name on the phone")
    page.locator("input[name=reviewer]").fill("Ana")
    page.locator("#submit").click()
    page.locator("#message .sent").wait_for()
    assert sent == [
        {
            "decision": "approve",
            "reviewer": "Ana",
            "notes": "cue 3: check the name on the phone",
            "edits": "es:3 | ¿Qué quieres, Gu?\n3 @ 00:06.000 --> 00:08.700",
        }
    ]


def test_the_page_asks_for_the_apis_credentials(served: tuple[str, str, list[Any]]) -> None:
    url = served[0]
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("localize", "wrong")).status_code == 401
    user, _, password = AUTH.partition(":")
    assert httpx.get(url, auth=(user, password)).status_code == 200
    # another site cannot make the browser post a review
    refused = httpx.post(
        f"{url}/submit",
        json={"decision": "approve"},
        auth=(user, password),
        headers={"Origin": "http://evil.example"},
    )
    assert refused.status_code == 403 and served[2] == []


@pytest.mark.parametrize(("state", "status"), [("Suspended", 200), ("Completed", 409)])
def test_a_review_is_sent_only_to_a_run_that_waits_for_one(
    tmp_path: Path, state: str, status: int
) -> None:
    """A suspended run (a deployment's review that takes days) takes the review; a run
    approved meanwhile in the Prefect form does not, and nothing is sent."""
    sent: list[Any] = []
    draft = synthetic_draft(None, cues=3)
    save_draft(tmp_path, draft)
    backend = PageBackend(tmp_path, lambda run, data: sent.append(data), lambda run: state, AUTH)
    user, _, password = AUTH.partition(":")
    with page_server(tmp_path, backend) as base:
        answer = httpx.post(
            f"{base}/review/{draft.run_id}/submit",
            json={"decision": "approve", "reviewer": "Ana"},
            auth=(user, password),
        )
    assert answer.status_code == status
    if status == 200:
        assert sent == [{"decision": "approve", "reviewer": "Ana", "notes": "", "edits": ""}]
    else:
        assert sent == [] and "not waiting for a review (it is Completed)" in answer.json()["error"]
