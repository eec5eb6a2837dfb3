"""First paint of the translator's review page for a 3-minute, 60-cue, 2-language episode.

    nice -n 5 .venv/bin/python -m bench.review_page [--runs 5] [--out FILE.json]

Builds a synthetic paused review (a 180 s vertical test video, 60 cues in Chinese with
English and Spanish drafts, QC flags from the real checks), serves it with the page
server ``localize serve`` runs (auth on, a stand-in for Prefect), and opens it in
headless Chromium: first contentful paint, the moment every cue row is in the table,
and the page's bytes. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from localize.domain import Cue, CueTrack
from localize.glossary import load_glossary
from localize.qc import build_report
from localize.review_page import PageBackend, ReviewDraft, ReviewPageServer, save_draft

REPO = Path(__file__).resolve().parents[1]
GLOSSARY = REPO / "glossaries" / "ceo-contract-bride.toml"
AUTH = "localize:bench-secret"
_ZH = ["顾总，林小姐来了。", "合同已经签好了。", "你到底想要什么？", "我不会离开你的。"]
_EN = [
    "Mr. Gu, Miss Lin is here.",
    "The contract is signed.",
    "What do you want?",
    "I won't leave.",
]
_ES = [
    "Señor Gu, la señorita Lin llegó.",
    "El contrato está firmado.",
    "¿Qué quieres?",
    "No me iré.",
]


def test_video(out: Path, seconds: float) -> Path:
    """A vertical 360x640 H.264/AAC MP4 (test pattern and a tone), moov first."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=360x640:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-shortest", str(out)],
        check=True,
    )  # fmt: skip
    return out


def synthetic_draft(
    video: Path | None,
    *,
    cues: int = 60,
    targets: tuple[str, ...] = ("en", "es"),
    cue_ms: int = 3000,
    texts: dict[str, list[str]] | None = None,
    run_id: str | None = None,
) -> ReviewDraft:
    """A review draft as a paused run writes it: ``cues`` cues of ``cue_ms`` each; every
    7th English line keeps its Chinese (a real ``source-script``/``untranslated`` flag)."""
    lines = {"zh-Hans": _ZH, "en": _EN, "es": _ES, **(texts or {})}
    zh = CueTrack(
        "zh-Hans",
        tuple(
            Cue(i * cue_ms, i * cue_ms + cue_ms - 400, lines["zh-Hans"][i % len(lines["zh-Hans"])])
            for i in range(cues)
        ),
    )
    tracks = {"zh-Hans": zh}
    for lang in targets:
        own = lines.get(lang, _EN)
        tracks[lang] = CueTrack(
            lang,
            tuple(
                c.with_text(c.text if lang == "en" and i % 7 == 6 else own[i % len(own)])
                for i, c in enumerate(zh.cues)
            ),
        )
    glossary = load_glossary(GLOSSARY)
    report = build_report(tracks, source=zh, glossary=glossary, episode="ep01")
    return ReviewDraft(
        run_id=run_id or str(uuid.uuid4()),
        episode="ep01",
        video=str(video) if video else None,
        glossary=str(GLOSSARY),
        round=1,
        error="",
        report=report,
        source_language="zh-Hans",
        targets=targets,
    )


@contextmanager
def page_server(folder: Path, backend: PageBackend | None = None) -> Iterator[str]:
    """The page server on a free port with a stand-in backend (always "Paused")."""
    backend = backend or PageBackend(folder, lambda run, data: None, lambda run: "Paused", AUTH)
    with ReviewPageServer(("127.0.0.1", 0), backend).running() as url:
        yield url


def measure(url: str, runs: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    from tests.flows.ui_helpers import CHROMIUM, CHROMIUM_ARGS

    user, _, password = AUTH.partition(":")
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(
                    http_credentials={"username": user, "password": password},
                    viewport={"width": 1400, "height": 900},
                )
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("#cue-60")
                out.append(
                    page.evaluate(
                        """() => {
                        const paint = performance.getEntriesByName('first-contentful-paint')[0];
                        const nav = performance.getEntriesByType('navigation')[0];
                        return {fcp_ms: paint ? paint.startTime : NaN,
                                dom_ms: nav.domContentLoadedEventEnd,
                                html_bytes: nav.transferSize};
                    }"""
                    )
                )
                context.close()
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "review_page.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = test_video(folder / "ep01.mp4", 180)
        draft = synthetic_draft(video)
        save_draft(folder / "reviews", draft)
        with page_server(folder / "reviews") as base:
            samples = measure(f"{base}/review/{draft.run_id}", args.runs)
    fcp = [s["fcp_ms"] for s in samples]
    dom = [s["dom_ms"] for s in samples]
    result: dict[str, Any] = {
        "cues": 60,
        "languages": 2,
        "video_s": 180,
        "runs": args.runs,
        "first_paint_ms": {"median": statistics.median(fcp), "max": max(fcp)},
        "dom_ready_ms": {"median": statistics.median(dom), "max": max(dom)},
        "samples": samples,
    }
    print("| measure | median ms | max ms |\n|---|---:|---:|")
    print(f"| first contentful paint | {statistics.median(fcp):.0f} | {max(fcp):.0f} |")
    print(f"| DOM ready (60 rows built) | {statistics.median(dom):.0f} | {max(dom):.0f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
