"""Untrusted text in Markdown renders as text: no link, image or HTML."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from localize.domain import Cue, CueTrack
from localize.markdown import code_span, escape_markdown
from localize.qc import build_report

#: a subtitle line (or an episode name, an error) written to attack the reviewer's browser
HOSTILE = (
    "[Open](javascript:alert(1)) ![x](http://example.invalid/b.png) <img src=x onerror=alert(1)>"
)


def render(markdown: str) -> str:
    """HTML as a CommonMark renderer with tables and raw HTML on (as the UI's) makes it."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def assert_inert(html: str) -> None:
    """No link, image or raw HTML element came out of the hostile text; its words did."""
    for element in ("<a", "<img", "<script", "<iframe"):
        assert element not in html, html
    assert "javascript:alert(1)" in html  # shown as text, not dropped
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    "where",
    ["{}", "# {}", "- {}", "| a |\n|---|\n| {} |", "**Reason:** {}"],
    ids=["paragraph", "heading", "list", "table-cell", "after-bold"],
)
def test_escaped_text_renders_as_text_everywhere(where: str) -> None:
    assert_inert(render(where.format(escape_markdown(HOSTILE))))


@pytest.mark.parametrize(
    "text",
    [
        "www.example.invalid",
        "mail@example.invalid",
        "<http://example.invalid>",
        "&lt;b&gt;",
        "line one\n\n<script>x</script>",
        "`code` **bold** _it_ ~~del~~ | pipe",
    ],
)
def test_other_markdown_stays_literal(text: str) -> None:
    html = render(f"| a |\n|---|\n| {escape_markdown(text)} |")
    assert "<a" not in html and "<script" not in html and "<code" not in html
    assert "<strong" not in html and "<em" not in html
    assert "&amp;lt;b&amp;gt;" in html or "&lt;b&gt;" not in text  # entities stay literal


def test_line_breaks_cannot_leave_the_cell() -> None:
    cell = escape_markdown("one\n\n# two\n| x |")
    html = render(f"| a |\n|---|\n| {cell} |")
    assert "<h1" not in html and html.count("<td>") == 1


def test_qc_report_markdown_escapes_cue_text_and_episode() -> None:
    zh = CueTrack("zh-Hans", (Cue(0, 2000, "你好。"),))
    # an English line still in Chinese is flagged, so it appears in "Top flagged cues"
    en = CueTrack("en", (Cue(0, 2000, "你好 " + HOSTILE, source="你好。"),))
    report = build_report({"zh-Hans": zh, "en": en}, source=zh, episode=HOSTILE)
    html = render(report.to_markdown())
    assert html.count("javascript:alert(1)") >= 2  # the episode and the cue, as text
    assert_inert(html)


@pytest.mark.parametrize("path", ["/out/ep1/report.html", "/out/a`b``c/<img src=x>/report.html"])
def test_code_span_shows_a_path_verbatim(path: str) -> None:
    html = render(f"Episode report: {code_span(path)}")
    assert html.count("<code>") == 1 and "<img" not in html
    assert path.replace("<", "&lt;").replace(">", "&gt;") in html
