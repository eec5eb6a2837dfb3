"""The HLS package plays in hls.js (headless Debian Chromium through Playwright).

hls.js comes from npm (``scripts/fetch-hlsjs.sh``, run by ``scripts/setup.sh --dev``)
into ``.localize/hlsjs``; ``LOCALIZE_HLSJS`` may point at another ``hls.min.js``.
Debian's Chromium may lack H.264 decoding: the test always asserts what hls.js itself
does (manifest parsed with every rendition, audio switch, English cues loaded into
the text track) and asserts playback progress only when ``MediaSource`` supports H.264.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localize.domain import Cue, CueTrack
from localize.renditions import hls_writer
from localize.sample import SampleEpisode
from tests.flows.ui_helpers import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.media_helpers import cut_clip, tone_track

pytestmark = [pytest.mark.integration, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
HLSJS = Path(
    os.environ.get("LOCALIZE_HLSJS", REPO / ".localize/hlsjs/node_modules/hls.js/dist/hls.min.js")
)
PAGE = Path(__file__).with_name("player.html")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".m3u8": "application/vnd.apple.mpegurl",
        ".ts": "video/mp2t",
        ".vtt": "text/vtt",
        ".js": "text/javascript",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(episode: SampleEpisode, tmp_path: Path) -> Iterator[str]:
    if not HLSJS.is_file():
        pytest.fail(
            f"hls.js is missing ({HLSJS}): run scripts/setup.sh --dev (or scripts/fetch-hlsjs.sh)",
            pytrace=False,
        )
    root = tmp_path / "site"
    root.mkdir()
    dub = tone_track(tmp_path / "en.m4a", 440, 20)
    clip = cut_clip(episode.video, tmp_path / "clip.mp4", 20)
    zh = CueTrack("zh-Hans", tuple(c for c in episode.lines if c.end_ms <= 20_000))
    en = CueTrack(
        "en", tuple(Cue(c.start_ms, c.end_ms, f"English line {i}") for i, c in enumerate(zh.cues))
    )
    hls_writer(clip, episode="ep01", subtitles={"zh-Hans": zh, "en": en}, dubs={"en": dub})(root)
    shutil.copy(PAGE, root / "index.html")
    shutil.copy(HLSJS, root / "hls.min.js")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_hls_js_loads_switches_audio_and_shows_english_cues(site: str) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(site)

            def events(name: str) -> list[dict[str, Any]]:
                found: list[dict[str, Any]] = page.evaluate(
                    "(n) => window.events.filter((e) => e.name === n)", name
                )
                return found

            page.wait_for_function(
                "window.events.some((e) => ['MANIFEST_PARSED', 'unsupported'].includes(e.name))",
                timeout=15_000,
            )
            assert not events("unsupported"), "hls.js reports MediaSource unsupported"
            parsed = events("MANIFEST_PARSED")[0]["data"]
            assert parsed["levels"] == 1
            assert [(t["lang"], t["name"], t["default"]) for t in parsed["audio"]] == [
                ("zh-Hans", "Chinese", True),
                ("en", "English (dub)", False),
            ]
            assert [t["lang"] for t in parsed["subtitles"]] == ["zh-Hans", "en"]

            # switch to the English dub
            page.evaluate("window.hls.audioTrack = 1")
            page.wait_for_function(
                "window.events.some((e) => e.name === 'AUDIO_TRACK_SWITCHED' && e.data.id === 1)",
                timeout=15_000,
            )
            # enable English subtitles: the VTT playlist loads and cues reach the text track
            page.evaluate("window.hls.subtitleTrack = 1; window.hls.subtitleDisplay = true")
            page.wait_for_function(
                "window.events.some((e) => e.name === 'SUBTITLE_TRACK_LOADED' && e.data.id === 1)",
                timeout=15_000,
            )
            h264 = bool(page.evaluate("window.h264"))
            if h264:
                page.evaluate("document.getElementById('video').play()")
                page.wait_for_function(
                    "document.getElementById('video').currentTime > 1.5", timeout=20_000
                )
            page.wait_for_function(
                "window.cueTexts().some((t) => t.lang === 'en' && t.cues.length > 0)",
                timeout=20_000,
            )
            tracks = page.evaluate("window.cueTexts()")
            en = next(t for t in tracks if t["lang"] == "en")
            assert en["cues"][0]["text"] == "English line 0"
            # X-TIMESTAMP-MAP aligns the cue clock with the video: the first cue is at 1.0 s
            assert abs(en["cues"][0]["start"] - 1.0) < 0.05, en["cues"][0]
            fatal = [e for e in events("ERROR") if e["data"]["fatal"]]
            assert not fatal, fatal
            print(f"H.264 in MediaSource: {h264}; played: {h264}")
        finally:
            browser.close()
