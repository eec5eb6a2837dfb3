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


def test_one_extreme_cue_does_not_flatten_the_reading_speed_plot() -> None:
    """The 60 ms prompt echo of the sample read at ~300 chars/s: every other bar was a
    sliver. The axis stops at twice the limit and the outlier says what it really is."""
    track = CueTrack(
        "en",
        (
            Cue(0, 2000, "Mr. Gu, Miss Lin is waiting."),  # 14 chars/s
            Cue(2500, 2560, "Su Man, Secretary Chen."),  # hundreds of chars/s
            Cue(4000, 6000, "I signed the contract."),
        ),
    )
    svg = ET.fromstring(reading_speed_svg(track, {2}, duration_ms=8000))
    bars = [r for r in svg.iter(f"{SVG}rect") if "cue" in r.get("class", "")]
    full = 180 - 2 * 30  # the plot's inner height
    assert float(bars[0].get("height", 0)) > 0.25 * full  # readable, not a sliver
    assert "outlier" in bars[1].get("class", "") and "outlier" not in bars[0].get("class", "")
    assert float(bars[1].get("height", 0)) <= full
    labels = [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == "outlier-label"]
    assert len(labels) == 1 and "#2" in labels[0] and "chars/s" in labels[0]
