"""The QC report of an episode: per language the cues checked and their flags.

:class:`QCReport` totals the flags, gives rows for a table artifact, and saves to JSON next
to the outputs (:meth:`QCReport.to_json`, read back by :meth:`QCReport.from_json`); its
Markdown summary for the Prefect UI is rendered by :mod:`localize.qc.render`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final, cast

from localize.domain import Cue, format_clock
from localize.errors import LocalizeError
from localize.qc.flags import _SEVERITIES, FLAG_CODES, Flag, Severity, _one_line
from localize.qc.render import report_markdown
from localize.timing import TimingRepair, repair_from_dict

#: bumped when the JSON layout changes incompatibly
REPORT_FORMAT: Final = 1


@dataclass(frozen=True)
class LanguageReport:
    """QC of one language: the cues checked and their flags.

    ``glossary_adherence`` is the fraction of required renderings honoured (see
    :func:`glossary_adherence`), ``None`` when no glossary applied (no glossary, or the
    source-language track).
    """

    language: str
    cues: tuple[Cue, ...] = ()
    flags: tuple[Flag, ...] = ()
    glossary_adherence: float | None = None

    @property
    def cue_count(self) -> int:
        return len(self.cues)

    @property
    def error_count(self) -> int:
        return sum(f.severity == "error" for f in self.flags)

    @property
    def warning_count(self) -> int:
        return sum(f.severity == "warning" for f in self.flags)

    @property
    def ok(self) -> bool:
        """True when no cue has an error (warnings do not fail a language)."""
        return self.error_count == 0

    @property
    def flagged_cues(self) -> int:
        """How many cues have at least one flag."""
        return len({f.index for f in self.flags})

    def counts(self) -> dict[str, dict[str, int]]:
        """``{code: {"error": n, "warning": m}}`` for the codes that occur, in
        :data:`FLAG_CODES` order."""
        tally: Counter[tuple[str, str]] = Counter((f.code, f.severity) for f in self.flags)
        return {
            code: {sev: tally[(code, sev)] for sev in _SEVERITIES}
            for code in FLAG_CODES
            if any(tally[(code, sev)] for sev in _SEVERITIES)
        }

    def flags_by_cue(self) -> dict[int, list[Flag]]:
        """Flags grouped by 1-based cue index, in index order."""
        grouped: dict[int, list[Flag]] = {}
        for f in sorted(self.flags, key=Flag._sort_key):
            grouped.setdefault(f.index, []).append(f)
        return grouped


@dataclass(frozen=True)
class QCReport:
    """QC of an episode: one :class:`LanguageReport` per language, in the order checked.

    Saved with :meth:`to_json` next to the outputs and reloaded with :meth:`from_json`
    (equal report, identical JSON). ``ok`` is true when no language has an error.
    """

    languages: tuple[LanguageReport, ...] = ()
    episode: str = ""
    #: what :mod:`localize.timing` fixed before QC ran (the flags are what remains)
    timing_repairs: tuple[TimingRepair, ...] = ()

    # -- totals -----------------------------------------------------------------------

    def language(self, language: str) -> LanguageReport:
        """The report for one language. Raises KeyError naming the languages present."""
        for report in self.languages:
            if report.language == language:
                return report
        known = ", ".join(self.language_codes) or "none"
        raise KeyError(f"no QC for language {language!r}; the report has {known}")

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(r.language for r in self.languages)

    @property
    def flags(self) -> tuple[Flag, ...]:
        """All flags of all languages."""
        return tuple(f for r in self.languages for f in r.flags)

    @property
    def cue_count(self) -> int:
        return sum(r.cue_count for r in self.languages)

    @property
    def error_count(self) -> int:
        return sum(r.error_count for r in self.languages)

    @property
    def warning_count(self) -> int:
        return sum(r.warning_count for r in self.languages)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.languages)

    def flags_by_cue(self, language: str | None = None) -> dict[int, list[str]]:
        """Flag labels by 1-based cue index, for one language or all of them.

        Across languages each label starts with its language (``en reading-speed: ...``),
        so one table column can show every language's flags for a cue.
        """
        reports = self.languages if language is None else (self.language(language),)
        grouped: dict[int, list[str]] = {}
        for report in reports:
            for index, flags in report.flags_by_cue().items():
                prefix = f"{report.language} " if language is None else ""
                grouped.setdefault(index, []).extend(prefix + f.label for f in flags)
        return dict(sorted(grouped.items()))

    def flag_rows(self, language: str, *, all_cues: bool = False) -> list[dict[str, str | int]]:
        """Rows for a table artifact: ``index, start, end, source, text, flags``.

        Only flagged cues unless ``all_cues``. Times are ``MM:SS.mmm``; line breaks show
        as `` / ``; ``flags`` joins the labels with ``; ``.
        """
        report = self.language(language)
        by_cue = report.flags_by_cue()
        rows: list[dict[str, str | int]] = []
        for index, cue in enumerate(report.cues, 1):
            flags = by_cue.get(index, [])
            if not flags and not all_cues:
                continue
            rows.append(
                {
                    "index": index,
                    "start": format_clock(cue.start_ms),
                    "end": format_clock(cue.end_ms),
                    "source": _one_line(cue.source or ""),
                    "text": _one_line(cue.text),
                    "flags": "; ".join(f.label for f in flags),
                }
            )
        return rows

    # -- serialisation ----------------------------------------------------------------

    def to_json(self) -> str:
        """The report as JSON (UTF-8 text, readable Chinese).

        Counts and ``ok`` are included for other readers (dashboards, jq); they are
        derived from the flags and ignored by :meth:`from_json`.
        """
        data = {
            "format": REPORT_FORMAT,
            "episode": self.episode,
            "ok": self.ok,
            "cue_count": self.cue_count,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "timing_repairs": [r.as_dict() for r in self.timing_repairs],
            "languages": [
                {
                    "language": r.language,
                    "ok": r.ok,
                    "cue_count": r.cue_count,
                    "error_count": r.error_count,
                    "warning_count": r.warning_count,
                    "glossary_adherence": r.glossary_adherence,
                    "counts": r.counts(),
                    "flags": [_flag_dict(f) for f in r.flags],
                    "cues": [_cue_dict(c) for c in r.cues],
                }
                for r in self.languages
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> QCReport:
        """Read a report written by :meth:`to_json`.

        Raises:
            LocalizeError: the text is not a QC report (or one of a newer format).
        """
        try:
            data = json.loads(text)
            if data.get("format") != REPORT_FORMAT:
                raise LocalizeError(
                    f"QC report format {data.get('format')!r} is not supported "
                    f"(this version reads format {REPORT_FORMAT})",
                    "re-run QC with this version of localize to rebuild the report",
                )
            return cls(
                languages=tuple(
                    LanguageReport(
                        language=str(r["language"]),
                        cues=tuple(
                            Cue(
                                int(c["start_ms"]),
                                int(c["end_ms"]),
                                str(c["text"]),
                                speaker=c.get("speaker"),
                                source=c.get("source"),
                            )
                            for c in r["cues"]
                        ),
                        flags=tuple(
                            Flag(
                                code=str(f["code"]),
                                severity=cast(Severity, f["severity"]),
                                language=str(f["language"]),
                                index=int(f["index"]),
                                message=str(f["message"]),
                                value=f.get("value"),
                                limit=f.get("limit"),
                            )
                            for f in r["flags"]
                        ),
                        glossary_adherence=r.get("glossary_adherence"),
                    )
                    for r in data["languages"]
                ),
                episode=str(data.get("episode", "")),
                timing_repairs=tuple(map(repair_from_dict, data.get("timing_repairs", []))),
            )
        except LocalizeError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LocalizeError(
                f"not a QC report: {type(exc).__name__}: {exc}",
                "pass the qc.json written next to the episode's outputs, or re-run QC",
            ) from exc

    def to_markdown(self, *, top: int = 10) -> str:
        """A summary for the Prefect UI: an overview table, then per language a table of
        counts by check and the ``top`` most flagged cues (errors first)."""
        return report_markdown(self, top=top)


def _flag_dict(f: Flag) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "language": f.language,
        "index": f.index,
        "message": f.message,
        "value": f.value,
        "limit": f.limit,
    }


def _cue_dict(c: Cue) -> dict[str, Any]:
    return {
        "start_ms": c.start_ms,
        "end_ms": c.end_ms,
        "text": c.text,
        "speaker": c.speaker,
        "source": c.source,
    }
