"""The HTML episode report: valid SVG plots with the flagged cues marked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from localize.domain import Cue, CueTrack
from localize.qc import build_report
from localize.report import DubLine, reading_speed_svg, render_html

EN = CueTrack(
    "en",
    (
        Cue(0, 2000, "Hello."),
        Cue(2500, 3000, "This line is far too long to be read in half a second."),
        Cue(4000, 6000, "Goodbye."),
    ),
)
SVG = "{http://www.w3.org/2000/svg}"


def test_timeline_has_a_bar_per_cue_and_marks_the_flagged_ones() -> None:
    svg = ET.fromstring(reading_speed_svg(EN, {2}, duration_ms=8000))
    bars = [r for r in svg.iter(f"{SVG}rect") if "cue" in r.get("class", "")]
    assert len(bars) == 3
    assert [("flagged" in b.get("class", "")) for b in bars] == [False, True, False]
    # the slow line is short, the crammed one tall
    assert float(bars[1].get("height", 0)) > 5 * float(bars[0].get("height", 0))


def test_html_report_has_summary_plots_flags_and_dub_fit() -> None:
    report = build_report({"en": EN})
    page = render_html(
        report,
        title="ep01",
        duration_ms=8000,
        dubs={"en": [DubLine(2, "This line...", 1.25, 0, 420)]},
    )
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 1
    assert "reading-speed" in page and "420" in page and "1.25x" in page
    flagged = {f.index for f in report.language("en").flags}
    assert 2 in flagged
