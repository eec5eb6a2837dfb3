"""Quality checks over every cue of every language, and the report built from them.

:func:`check_track` measures one track against its :class:`~localize.segment.StyleProfile`
(and, for a translation, against its source and the series glossary) and returns
:class:`Flag` objects; :func:`build_report` runs it over all languages of an episode
and returns a :class:`QCReport` that saves to JSON next to the outputs, renders a
Markdown summary for the Prefect UI and gives rows for a table artifact.

Modules: :mod:`~localize.qc.flags` (``Flag``, the codes and severities),
:mod:`~localize.qc.checks` (the checks and ``build_report``; the table of flag codes),
:mod:`~localize.qc.report` (``QCReport``: totals, table rows, JSON),
:mod:`~localize.qc.render` (the Markdown summary).
"""

from localize.qc.checks import build_report, check_track, glossary_adherence
from localize.qc.flags import FLAG_CODES, Flag, Severity
from localize.qc.report import REPORT_FORMAT, LanguageReport, QCReport

__all__ = [
    "FLAG_CODES",
    "REPORT_FORMAT",
    "Flag",
    "LanguageReport",
    "QCReport",
    "Severity",
    "build_report",
    "check_track",
    "glossary_adherence",
]
