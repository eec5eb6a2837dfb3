"""The translator's review page: the draft episode playing next to its cues.

A paused (or suspended) episode run writes its draft as a :class:`ReviewDraft` (JSON under
``LOCALIZE_HOME/reviews/<flow run id>.json``); ``localize serve`` serves one page per such
run (:class:`ReviewPageServer`, bound to 127.0.0.1, behind the API's credentials). The
page plays the episode with the draft subtitles as text tracks, lists every cue (time,
Chinese, each translation, speaker, QC flags), lets the translator edit, retime and
annotate cues with a live re-check against the style profile, and submits the same
typed input as the Prefect form: ``decision``, ``reviewer``, ``notes`` and ``edits``
(``LANG:INDEX | text`` and ``INDEX @ START --> END`` lines, see :mod:`localize.review`).

Nothing here imports Prefect: resuming the run and reading its state are callables
given to the server.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import html
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from localize.domain import CueTrack
from localize.errors import LocalizeError
from localize.glossary import Glossary, load_glossary
from localize.qc import QCReport, check_track
from localize.review import DECISIONS, ReviewInputError, clock, parse_corrections
from localize.segment import load_style_profile
from localize.subtitles import format_vtt

STATIC = Path(__file__).with_name("data") / "review_page"
#: the longest request body the page sends (a whole episode's edits fit easily)
MAX_BODY = 2_000_000


class ReviewPageError(LocalizeError):
    """The review page cannot show or take a review for this run."""


@dataclass(frozen=True)
class ReviewDraft:
    """What the page shows for one paused run: the QC report carries every track."""

    run_id: str
    episode: str
    video: str | None
    glossary: str
    round: int
    error: str
    report: QCReport
    source_language: str
    targets: tuple[str, ...]

    def tracks(self) -> dict[str, CueTrack]:
        """The target-language drafts, first language first (as the flow holds them)."""
        return {lang: self.track(lang) for lang in self.targets}

    def track(self, language: str) -> CueTrack:
        return CueTrack(language, self.report.language(language).cues)

    def to_json(self) -> str:
        data = {
            "run_id": self.run_id,
            "episode": self.episode,
            "video": self.video,
            "glossary": self.glossary,
            "round": self.round,
            "error": self.error,
            "source_language": self.source_language,
            "targets": list(self.targets),
            "report": json.loads(self.report.to_json()),
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReviewDraft:
        data = json.loads(text)
        return cls(
            run_id=str(data["run_id"]),
            episode=str(data["episode"]),
            video=data["video"],
            glossary=str(data["glossary"]),
            round=int(data["round"]),
            error=str(data["error"]),
            report=QCReport.from_json(json.dumps(data["report"])),
            source_language=str(data["source_language"]),
            targets=tuple(data["targets"]),
        )


def draft_path(folder: Path, run_id: str) -> Path:
    """Where a run's draft is kept; ``run_id`` must be a UUID (no path tricks)."""
    try:
        name = str(uuid.UUID(run_id))
    except ValueError:
        raise ReviewPageError(
            f"{run_id!r} is not a flow run id",
            "open the link from the paused run's description or artifacts",
        ) from None
    return folder / f"{name}.json"


def save_draft(folder: Path, draft: ReviewDraft) -> Path:
    """Write the draft atomically (the page may be reading the previous round)."""
    path = draft_path(folder, draft.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".json.part")
    scratch.write_text(draft.to_json(), encoding="utf-8")
    os.replace(scratch, path)
    return path


def load_draft(folder: Path, run_id: str) -> ReviewDraft:
    path = draft_path(folder, run_id)
    try:
        return ReviewDraft.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReviewPageError(
            f"no review is waiting for run {run_id} on this machine",
            "the run may not have paused yet, or it runs on another machine: open the "
            "link in its pause description (or resume it with the Prefect form)",
        ) from None


# ----------------------------------------------------------------- the page's input
def compose_input(draft: ReviewDraft, submission: Mapping[str, Any]) -> dict[str, str]:
    """The page's submission as the Prefect form's input (decision, reviewer, notes,
    edits), checked with the flow's own parser: an error here is the flow's message."""
    decision = submission.get("decision")
    if decision not in DECISIONS:
        raise ReviewInputError(
            f"choose a decision ({', '.join(DECISIONS)})", "pick one and submit again"
        )
    lines: list[str] = []
    for item in _items(submission, "texts"):
        text = str(item.get("text", "")).replace("\r", "").replace("\n", "\\n")
        lines.append(f"{item.get('lang')}:{item.get('index')} | {text}")
    for item in _items(submission, "timings"):
        start, end = _ms(item.get("start_ms")), _ms(item.get("end_ms"))
        lines.append(f"{item.get('index')} @ {clock(start)} --> {clock(end)}")
    edits = "\n".join(lines)
    parse_corrections(edits, draft.tracks())  # the flow's own check, before resuming
    notes = [str(submission.get("notes", "")).strip()]
    for item in _items(submission, "cue_notes"):
        note = " ".join(str(item.get("note", "")).split())
        if note:
            notes.append(f"cue {item.get('index')}: {note}")
    return {
        "decision": str(decision),
        "reviewer": str(submission.get("reviewer", "")).strip(),
        "notes": "\n".join(n for n in notes if n),
        "edits": edits,
    }


def _items(submission: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = submission.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ReviewInputError(f"{key} must be a list of objects", "reload the page")
    return items


def _ms(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ReviewInputError(
            f"a cue time must be a whole number of milliseconds >= 0, not {value!r}",
            "reload the page and nudge the cue again",
        )
    return value


def check_cue(
    draft: ReviewDraft, language: str, index: int, text: str, start_ms: int, end_ms: int
) -> list[dict[str, str]]:
    """QC of one edited cue as it would be after submitting: reading speed, line length
    and count, durations, gaps, leftover source script, glossary."""
    if language not in draft.targets:
        raise ReviewPageError(f"no {language!r} translation in this run", "reload the page")
    track = draft.track(language)
    if not 1 <= index <= len(track.cues):
        raise ReviewPageError(f"there is no cue {index}", "reload the page")
    cues = list(track.cues)
    cues[index - 1] = replace(
        cues[index - 1], text=text.replace("\r", ""), start_ms=start_ms, end_ms=end_ms
    )
    source = draft.track(draft.source_language)
    flags = check_track(
        replace(track, cues=tuple(cues)),
        load_style_profile(language),
        source=source,
        glossary=_glossary(draft.glossary),
    )
    return [
        {"code": f.code, "severity": f.severity, "message": f.message}
        for f in flags
        if f.index == index
    ]


@lru_cache(maxsize=8)
def _glossary(path: str) -> Glossary | None:
    try:
        return load_glossary(Path(path))
    except (LocalizeError, OSError):
        return None


# --------------------------------------------------------------------------- render
def page_data(draft: ReviewDraft, state: str) -> dict[str, Any]:
    """Everything the page script needs, as JSON."""
    source = draft.track(draft.source_language).cues
    by_lang = {lang: draft.report.language(lang) for lang in draft.targets}
    flags = {
        lang: {
            str(i): [[f.code, f.severity, f.message] for f in fs]
            for i, fs in report.flags_by_cue().items()
        }
        for lang, report in {
            draft.source_language: draft.report.language(draft.source_language),
            **by_lang,
        }.items()
    }
    cues = []
    for i, cue in enumerate(source, 1):
        targets = {lang: by_lang[lang].cues[i - 1] for lang in draft.targets}
        speaker = cue.speaker or next((c.speaker for c in targets.values() if c.speaker), None)
        cues.append(
            {
                "index": i,
                "start_ms": cue.start_ms,
                "end_ms": cue.end_ms,
                "source": cue.text,
                "speaker": speaker,
                "text": {lang: c.text for lang, c in targets.items()},
                "timing": {lang: [c.start_ms, c.end_ms] for lang, c in targets.items()},
            }
        )
    return {
        "run_id": draft.run_id,
        "episode": draft.episode,
        "round": draft.round,
        "error": draft.error,
        "state": state,
        "source_language": draft.source_language,
        "targets": list(draft.targets),
        "decisions": list(DECISIONS),
        "video": bool(draft.video),
        "cues": cues,
        "flags": flags,
    }


def _json_for_html(data: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` block: no ``</script>``."""
    text = json.dumps(data, ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def render_page(draft: ReviewDraft, state: str) -> str:
    """The page's HTML: a shell the script fills from the embedded JSON (text is set
    with ``textContent`` and ``value`` only: cue text never becomes markup)."""
    base = f"/review/{draft.run_id}"
    tracks = "\n".join(
        f'<track kind="subtitles" srclang="{html.escape(lang)}" label="{html.escape(lang)}" '
        f'src="{base}/{html.escape(lang)}.vtt"{" default" if i == 0 else ""}>'
        for i, lang in enumerate(draft.targets)
    )
    video = (
        f'<video id="video" controls preload="auto" src="{base}/video">{tracks}</video>'
        if draft.video
        else '<p class="novideo">This run has no picture to play.</p>'
    )
    title = html.escape(f"Review: {draft.episode} (round {draft.round})")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/review/static/review.css">
<script type="application/json" id="draft">{_json_for_html(page_data(draft, state))}</script>
<script src="/review/static/review.js" defer></script>
</head><body>
<header><h1>{title}</h1><span id="state"></span></header>
<main>
<section id="player">{video}
<p class="keys">Keys (outside a text box): <kbd>Space</kbd>/<kbd>K</kbd> play/pause,
<kbd>J</kbd> previous cue, <kbd>L</kbd> next cue, <kbd>F</kbd> next flagged cue,
<kbd>Esc</kbd> leaves a text box.</p>
<form id="decision"></form>
</section>
<section id="cues"><table><thead id="head"></thead><tbody id="rows"></tbody></table></section>
</main></body></html>
"""


def draft_vtt(draft: ReviewDraft, language: str) -> str:
    if language not in draft.targets:
        raise ReviewPageError(f"no {language!r} translation in this run", "reload the page")
    return format_vtt(draft.track(language).cues)


# --------------------------------------------------------------------------- server
@dataclass(frozen=True)
class PageBackend:
    """What the page needs from the orchestrator (Prefect, in ``localize serve``)."""

    folder: Path
    #: resume the paused run with this input; raises ReviewInputError when refused
    resume: Callable[[str, dict[str, str]], None]
    #: the run's state name ("Paused", "Suspended", "Completed"...)
    state: Callable[[str], str]
    #: ``user:password`` the API wants (HTTP Basic); None: no credentials asked
    auth: str | None = None


def authorized(header: str | None, auth: str | None) -> bool:
    """HTTP Basic credentials carrying the API's auth string (``user:password``; a
    string without a colon is the password, any user name)."""
    if auth is None:
        return True
    if not header or not header.startswith("Basic "):
        return False
    try:
        given = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    password = given.partition(":")[2]
    return hmac.compare_digest(given, auth) or hmac.compare_digest(password, auth)


_ROUTE = re.compile(r"^/review/(?P<run>[0-9a-fA-F-]{36})(?:/(?P<what>[\w.-]+))?$")
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


class ReviewPageServer(ThreadingHTTPServer):
    """The review pages on one local port (``serve_forever`` in a thread)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: PageBackend) -> None:
        super().__init__(address, _Handler)
        self.backend = backend

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve in a daemon thread while the block runs; yield the address."""
        thread = threading.Thread(target=self.serve_forever, name="review-pages", daemon=True)
        thread.start()
        try:
            yield self.url
        finally:
            self.shutdown()
            self.server_close()
            thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: ReviewPageServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing
    def _send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")

    def _error(self, status: int, exc: LocalizeError) -> None:
        if self.path.endswith(("/check", "/submit", "/status")):
            self._json(status, {"error": exc.message, "hint": exc.hint})
            return
        body = (
            f"<!doctype html><meta charset='utf-8'><title>Review</title>"
            f"<p>{html.escape(exc.message)}</p><p>{html.escape(exc.hint)}</p>"
        )
        self._send(status, body.encode(), "text/html; charset=utf-8")

    def _allowed(self) -> bool:
        if authorized(self.headers.get("Authorization"), self.server.backend.auth):
            return True
        self._send(
            HTTPStatus.UNAUTHORIZED,
            b"the Prefect API's auth string is needed\n",
            "text/plain",
            WWW_Authenticate='Basic realm="localize review"',
        )
        return False

    # -- GET
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._allowed():
            return
        path = self.path.split("?", 1)[0]
        try:
            if path.startswith("/review/static/"):
                self._static(path.rsplit("/", 1)[1])
                return
            match = _ROUTE.match(path)
            if path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
                return
            if path in ("/", "/review", "/review/"):
                self._index()
                return
            if not match:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
                return
            backend = self.server.backend
            draft = load_draft(backend.folder, match["run"])
            what = match["what"]
            if what is None:
                body = render_page(draft, backend.state(draft.run_id)).encode()
                self._send(HTTPStatus.OK, body, "text/html; charset=utf-8")
            elif what == "video" and draft.video:
                self._file(Path(draft.video))
            elif what == "status":
                self._json(
                    HTTPStatus.OK,
                    {
                        "state": backend.state(draft.run_id),
                        "round": draft.round,
                        "error": draft.error,
                    },
                )
            elif what.endswith(".vtt"):
                body = draft_vtt(draft, what.removesuffix(".vtt")).encode()
                self._send(HTTPStatus.OK, body, "text/vtt; charset=utf-8")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
        except ReviewPageError as exc:
            self._error(HTTPStatus.NOT_FOUND, exc)

    def _index(self) -> None:
        folder = self.server.backend.folder
        items = []
        for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
            try:
                draft = ReviewDraft.from_json(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError, LocalizeError):
                continue
            items.append(
                f'<li><a href="/review/{html.escape(draft.run_id)}">'
                f"{html.escape(draft.episode)}</a> (round {draft.round})</li>"
            )
        body = (
            "<!doctype html><meta charset='utf-8'><title>Reviews</title>"
            "<h1>Reviews on this machine</h1><ul>" + "".join(items) + "</ul>"
        )
        self._send(HTTPStatus.OK, body.encode(), "text/html; charset=utf-8")

    def _static(self, name: str) -> None:
        path = STATIC / name
        if path.suffix not in _STATIC_TYPES or not path.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
            return
        self._send(HTTPStatus.OK, path.read_bytes(), _STATIC_TYPES[path.suffix])

    def _file(self, path: Path) -> None:
        """The video, with byte ranges (browsers seek with them)."""
        try:
            size = path.stat().st_size
        except OSError:
            raise ReviewPageError(f"the video {path} is gone", "run the episode again") from None
        start, end = 0, size - 1
        status = HTTPStatus.OK
        ranged = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if ranged and (ranged[1] or ranged[2]):
            if ranged[1]:
                start = int(ranged[1])
                end = min(int(ranged[2]), size - 1) if ranged[2] else size - 1
            else:
                start = max(0, size - int(ranged[2]))
            if start > end:
                self._send(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                    b"",
                    "text/plain",
                    Content_Range=f"bytes */{size}",
                )
                return
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        ctype = "video/mp4" if path.suffix.lower() in (".mp4", ".m4v", ".mov") else "video/webm"
        self.send_header("Content-Type", ctype)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with path.open("rb") as video:
            video.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = video.read(min(left, 256 * 1024))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser seeked elsewhere

    # -- POST
    def do_POST(self) -> None:
        if not self._allowed():
            return
        match = _ROUTE.match(self.path)
        origin = self.headers.get("Origin")
        host = self.headers.get("Host", "")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            self._json(HTTPStatus.FORBIDDEN, {"error": "requests from other sites are refused"})
            return
        if not match or match["what"] not in ("check", "submit"):
            self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send JSON"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 <= length <= MAX_BODY:
                raise ValueError(length)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError(body)
        except ValueError:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "the request is not a JSON object"})
            return
        try:
            draft = load_draft(self.server.backend.folder, match["run"])
            if match["what"] == "check":
                self._check(draft, body)
            else:
                self._submit(draft, body)
        except ReviewInputError as exc:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": exc.message, "hint": exc.hint})
        except ReviewPageError as exc:
            self._json(HTTPStatus.CONFLICT, {"error": exc.message, "hint": exc.hint})

    def _check(self, draft: ReviewDraft, body: dict[str, Any]) -> None:
        try:
            flags = check_cue(
                draft,
                str(body["lang"]),
                int(body["index"]),
                str(body["text"]),
                _ms(body["start_ms"]),
                _ms(body["end_ms"]),
            )
        except (KeyError, TypeError, ValueError):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "lang, index, text, start_ms, end_ms"})
            return
        self._json(HTTPStatus.OK, {"flags": flags})

    def _submit(self, draft: ReviewDraft, body: dict[str, Any]) -> None:
        backend = self.server.backend
        state = backend.state(draft.run_id)
        if state not in ("Paused", "Suspended"):
            raise ReviewPageError(
                f"this run is not waiting for a review (it is {state})",
                "nothing was sent; open the run in the Prefect UI to see what happened",
            )
        run_input = compose_input(draft, body)
        backend.resume(draft.run_id, run_input)
        self._json(HTTPStatus.OK, {"sent": run_input})
