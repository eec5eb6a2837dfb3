"""The episode report people would rather look at than read: one self-contained HTML file.

It shows the QC summary, a reading-speed timeline per language (one bar per cue over
time, its height the reading speed, flagged cues in red, the profile's limit as a line),
the glossary-adherence table, and, when dubbed, how each line was fitted. The plots are
plain SVG written here, so the report needs no plotting library and opens anywhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from localize.domain import CueTrack
from localize.qc import QCReport
from localize.segment import load_style_profile, reading_speed_cps
from localize.timing import describe_repairs

_WIDTH, _HEIGHT, _PAD = 900, 180, 30
#: the reading-speed axis ends at this many times the language's limit
AXIS_CAP = 2.0


@dataclass(frozen=True)
class DubLine:
    """One dubbed line as the report shows it (1-based cue index)."""

    index: int
    text: str
    stretch: float
    borrowed_ms: int
    overrun_ms: int
    #: the character speaking (the cast's name for them; "" when unknown: the narrator)
    speaker: str = ""
    voice: str = ""


def _cast_rows(lines: Sequence[DubLine]) -> list[str]:
    """One row per character of a dub: the voice and the lines it spoke."""
    esc = html.escape
    voices: dict[str, set[str]] = {}
    indices: dict[str, list[int]] = {}
    for line in lines:
        who = line.speaker or "(unknown: narrator)"
        voices.setdefault(who, set()).add(line.voice)
        indices.setdefault(who, []).append(line.index)
    return [
        f"<tr><td>{esc(who)}</td><td>{esc(', '.join(sorted(voices[who])))}</td>"
        f"<td>{len(found)}</td><td>{', '.join(map(str, found))}</td></tr>"
        for who, found in indices.items()
    ]


def reading_speed_svg(track: CueTrack, flagged: set[int], *, duration_ms: int = 0) -> str:
    """An SVG timeline: a bar per cue (x = time on screen, height = chars/s).

    Bars of flagged cues (1-based indices in ``flagged``) are red and carry
    ``class="cue flagged"``; the others ``class="cue"``. A dashed line marks the
    language's maximum reading speed. The axis stops at ``AXIS_CAP`` times that limit,
    so one extreme cue (a 60 ms cue reads at hundreds of chars/s) cannot flatten every
    other bar: a bar above the cap is cut at the top, gets ``outlier`` in its class and
    a label with its real speed.
    """
    profile = load_style_profile(track.language)
    end = max([duration_ms, *(c.end_ms for c in track.cues)], default=1) or 1
    speeds = [reading_speed_cps(c, profile) for c in track.cues]
    cap = profile.max_cps * AXIS_CAP
    top = min(max([profile.max_cps * 1.3, *speeds], default=1.0), cap)
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD

    def x(ms: int) -> float:
        return _PAD + inner_w * ms / end

    def y(cps: float) -> float:
        return _PAD + inner_h * (1 - cps / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="reading speed of {html.escape(track.language)} cues over time">',
        f'<rect x="0" y="0" width="{_WIDTH}" height="{_HEIGHT}" fill="#fafafa"/>',
    ]
    for i, (cue, cps) in enumerate(zip(track.cues, speeds, strict=True), 1):
        bad = i in flagged
        left, right = x(cue.start_ms), max(x(cue.end_ms), x(cue.start_ms) + 1.5)
        text = html.escape(cue.text.replace("\n", " "))
        shown = min(cps, top)
        kind = "cue" + (" flagged" if bad else "") + (" outlier" if cps > top else "")
        parts.append(
            f'<rect class="{kind}" x="{left:.1f}" y="{y(shown):.1f}" '
            f'width="{right - left:.1f}" height="{_PAD + inner_h - y(shown):.1f}" '
            f'fill="{"#d62728" if bad else "#4c78a8"}">'
            f"<title>#{i} {cue.start_ms / 1000:.1f}s {cps:.1f} chars/s: {text}</title></rect>"
        )
        if cps > top:  # cut at the top of the axis: say how far off the scale it is
            parts.append(
                f'<text class="outlier-label" x="{left:.1f}" y="{_PAD - 4}" font-size="11" '
                f'fill="#d62728">\u25b2 #{i}: {cps:.0f} chars/s</text>'
            )
    limit = y(profile.max_cps)
    parts += [
        f'<line x1="{_PAD}" x2="{_WIDTH - _PAD}" y1="{limit:.1f}" y2="{limit:.1f}" '
        'stroke="#d62728" stroke-dasharray="4 3"/>',
        f'<text x="{_WIDTH - _PAD}" y="{limit - 4:.1f}" font-size="11" text-anchor="end" '
        f'fill="#d62728">limit {profile.max_cps:g} chars/s</text>',
        f'<line x1="{_PAD}" x2="{_WIDTH - _PAD}" y1="{_PAD + inner_h}" y2="{_PAD + inner_h}" '
        'stroke="#333"/>',
        f'<text x="{_PAD}" y="{_HEIGHT - 8}" font-size="11">0:00</text>',
        f'<text x="{_WIDTH - _PAD}" y="{_HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{end // 60000}:{end // 1000 % 60:02d}</text>",
        "</svg>",
    ]
    return "\n".join(parts)


def render_html(
    report: QCReport,
    *,
    title: str,
    duration_ms: int = 0,
    dubs: Mapping[str, Sequence[DubLine]] | None = None,
    mt_usage: Mapping[str, Mapping[str, int]] | None = None,
) -> str:
    """The whole report as one HTML page (inline CSS and SVG, no external assets).

    ``mt_usage``: per language, what a translation endpoint was asked (requests, retries,
    prompt and completion tokens), when the openai backend was used."""
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>"]
    verdict = "passes" if report.ok else "has errors"
    body.append(
        f'<p class="verdict {"ok" if report.ok else "bad"}">QC {verdict}: '
        f"{report.error_count} errors, {report.warning_count} warnings over "
        f"{report.cue_count} cues.</p>"
    )
    if report.timing_repairs:
        body.append(
            f'<p class="repairs">{esc(describe_repairs(report.timing_repairs))} made before '
            "QC: gaps, short cues and fragments the pipeline fixed itself (run with "
            "--no-timing-repairs to leave them to QC).</p>"
        )
    body.append(
        "<table><tr><th>language</th><th>cues</th><th>errors</th><th>warnings</th>"
        "<th>glossary adherence</th></tr>"
    )
    for lang in report.languages:
        adherence = "-" if lang.glossary_adherence is None else f"{lang.glossary_adherence:.0%}"
        body.append(
            f"<tr><td>{esc(lang.language)}</td><td>{lang.cue_count}</td>"
            f"<td>{lang.error_count}</td><td>{lang.warning_count}</td><td>{adherence}</td></tr>"
        )
    body.append("</table>")
    if mt_usage:
        body.append(
            "<h2>Translation endpoint usage</h2><table><tr><th>language</th><th>requests</th>"
            "<th>retries</th><th>prompt tokens</th><th>completion tokens</th></tr>"
        )
        for code, used in mt_usage.items():
            cells = "".join(
                f"<td>{used.get(k, 0)}</td>"
                for k in ("requests", "retries", "prompt_tokens", "completion_tokens")
            )
            body.append(f"<tr><td>{esc(code)}</td>{cells}</tr>")
        body.append("</table>")
    for lang in report.languages:
        track = CueTrack(lang.language, lang.cues)
        flagged = {f.index for f in lang.flags}
        body.append(f"<h2>{esc(lang.language)}: reading speed over time</h2>")
        body.append(reading_speed_svg(track, flagged, duration_ms=duration_ms))
        if lang.flags:
            body.append(
                "<table><tr><th>#</th><th>check</th><th>severity</th>"
                "<th>what to do</th><th>text</th></tr>"
            )
            for flag in lang.flags:
                cue = lang.cues[flag.index - 1] if 0 < flag.index <= len(lang.cues) else None
                text = esc(cue.text.replace("\n", " / ")) if cue else ""
                body.append(
                    f'<tr class="{flag.severity}"><td>{flag.index}</td><td>{esc(flag.code)}</td>'
                    f"<td>{flag.severity}</td><td>{esc(flag.message)}</td><td>{text}</td></tr>"
                )
            body.append("</table>")
    for dub_lang, lines in (dubs or {}).items():
        body.append(f"<h2>{esc(dub_lang)} dub: who speaks, with which voice</h2>")
        body.append(
            '<table class="cast"><tr><th>character</th><th>voice</th><th>lines</th>'
            "<th>cues</th></tr>"
        )
        body += _cast_rows(lines)
        body.append("</table>")
        body.append(f"<h2>{esc(dub_lang)} dub: how each line was fitted</h2>")
        body.append(
            "<table><tr><th>#</th><th>speaker</th><th>voice</th><th>stretch</th>"
            "<th>borrowed ms</th><th>overrun ms</th><th>text</th></tr>"
        )
        for line in lines:
            cls = ' class="error"' if line.overrun_ms else ""
            body.append(
                f"<tr{cls}><td>{line.index}</td><td>{esc(line.speaker)}</td>"
                f"<td>{esc(line.voice)}</td><td>{line.stretch:.2f}x</td>"
                f"<td>{line.borrowed_ms}</td><td>{line.overrun_ms}</td><td>{esc(line.text)}</td></tr>"
            )
        body.append("</table>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:960px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;"
        "text-align:left;font-size:14px}tr.error td{background:#fde2e2}"
        "tr.warning td{background:#fff4d6}.verdict.ok{color:#2b7a0b}.verdict.bad{color:#b00020}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
