"""QC reports rendered for people: the Markdown summary the Prefect UI shows.

(The episode's HTML report, with the reading-speed chart and the cast, is
:mod:`localize.report`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localize.domain import format_clock
from localize.markdown import escape_markdown
from localize.timing import describe_repairs

if TYPE_CHECKING:
    from localize.qc.flags import Flag
    from localize.qc.report import QCReport


def report_markdown(report: QCReport, *, top: int = 10) -> str:
    """A summary for the Prefect UI: an overview table, then per language a table of
    counts by check and the ``top`` most flagged cues (errors first)."""
    verdict = "✅ **Pass**" if report.ok else "❌ **Fail**"
    title = f"## QC report: {_cell(report.episode)}" if report.episode else "## QC report"
    out = [
        title,
        "",
        f"{verdict}: {report.error_count} errors, {report.warning_count} warnings in "
        f"{report.cue_count} cues across {len(report.languages)} "
        f"language{'s' if len(report.languages) != 1 else ''}"
        + (f", after {describe_repairs(report.timing_repairs)}." if report.timing_repairs else "."),
        "",
        "| Language | Cues | Errors | Warnings | Flagged cues | Glossary adherence | Result |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in report.languages:
        adherence = "–" if r.glossary_adherence is None else f"{r.glossary_adherence:.1%}"
        result = "✅ pass" if r.ok else "❌ fail"
        out.append(
            f"| {r.language} | {r.cue_count} | {r.error_count} | {r.warning_count} | "
            f"{r.flagged_cues} | {adherence} | {result} |"
        )
    for r in report.languages:
        out += ["", f"### {r.language}", ""]
        counts = r.counts()
        if not counts:
            out.append(f"No flags in {r.cue_count} cues.")
            continue
        out += ["| Check | Errors | Warnings |", "|---|--:|--:|"]
        out += [f"| {code} | {c['error']} | {c['warning']} |" for code, c in counts.items()]
        by_cue = r.flags_by_cue()

        def weight(item: tuple[int, list[Flag]]) -> tuple[int, int, int]:
            index, flags = item
            errors = sum(f.severity == "error" for f in flags)
            return (-errors, -(len(flags) - errors), index)

        worst = sorted(by_cue.items(), key=weight)[:top]
        out += [
            "",
            f"**Top flagged cues** ({len(worst)} of {len(by_cue)}):",
            "",
            "| # | Time | Text | Flags |",
            "|--:|---|---|---|",
        ]
        for index, flags in worst:
            cue = r.cues[index - 1] if index <= len(r.cues) else None
            when = f"{format_clock(cue.start_ms)}–{format_clock(cue.end_ms)}" if cue else ""
            text = _cell(cue.text) if cue else ""
            labels = _cell("; ".join(f.label for f in flags))
            out.append(f"| {index} | {when} | {text} | {labels} |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: shown as itself, never as a link or HTML."""
    return escape_markdown(text)
