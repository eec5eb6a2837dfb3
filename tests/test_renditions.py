"""Renditions: the multi-track MP4 and the HLS package (video copied, never re-encoded)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localize.domain import Cue, CueTrack
from localize.package import publish_episode
from localize.renditions import hls_writer, iso639_2, mp4_writer
from localize.sample import SampleEpisode
from localize.subtitles import parse_srt
from tests.media_helpers import cut_clip, tone_track

CLIP_MS = 12_000


def _ffprobe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *args, str(path)],
        check=True,
        capture_output=True,
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def _streams(path: Path) -> list[dict[str, Any]]:
    data = _ffprobe(path, "-count_frames", "-show_streams", "-show_format")
    streams: list[dict[str, Any]] = data["streams"]
    return streams


@dataclass(frozen=True)
class Inputs:
    video: Path
    dubs: dict[str, Path]
    subtitles: dict[str, CueTrack]


@pytest.fixture(scope="module")
def clip(episode: SampleEpisode, tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    tmp = tmp_path_factory.mktemp("renditions")
    video = cut_clip(episode.video, tmp / "clip.mp4", CLIP_MS / 1000)
    zh = CueTrack("zh-Hans", tuple(c for c in episode.lines if c.end_ms <= CLIP_MS))
    assert len(zh) >= 2
    en = CueTrack(
        "en",
        tuple(
            Cue(c.start_ms, c.end_ms, f"Line {i}, in English\nsecond line")
            for i, c in enumerate(zh.cues)
        ),
    )
    es = CueTrack(
        "es", tuple(Cue(c.start_ms, c.end_ms, f"Línea {i}") for i, c in enumerate(zh.cues))
    )
    return Inputs(
        video=video,
        dubs={
            "en": tone_track(tmp / "en.m4a", 440, 12.0),
            "es": tone_track(tmp / "es.m4a", 660, 12.0),
        },
        # targets first on purpose: the writer puts the original language first
        subtitles={"en": en, "es": es, "zh-Hans": zh},
    )


def test_iso639_codes_are_bibliographic() -> None:
    assert [iso639_2(t) for t in ("zh-Hans", "en", "pt-BR", "fr", "de", "id", "xx")] == [
        "chi",
        "eng",
        "por",
        "fre",
        "ger",
        "ind",
        "und",
    ]


def test_mp4_has_every_track_tagged_and_the_video_copied(clip: Inputs, tmp_path: Path) -> None:
    write = mp4_writer(clip.video, episode="ep01", subtitles=clip.subtitles, dubs=clip.dubs)
    entries = write(tmp_path)
    out = tmp_path / "ep01.mp4"
    assert entries == [("ep01.mp4", "video", None, entries[0][3])]
    src = _streams(clip.video)
    got = _streams(out)
    sv = next(s for s in src if s["codec_type"] == "video")
    video = [s for s in got if s["codec_type"] == "video"]
    audio = [s for s in got if s["codec_type"] == "audio"]
    subs = [s for s in got if s["codec_type"] == "subtitle"]
    assert len(video) == 1
    for key in ("codec_name", "profile", "level", "width", "height", "nb_read_frames"):
        assert video[0][key] == sv[key], key
    assert [(s["codec_name"], s["tags"]["language"], s["tags"]["handler_name"]) for s in audio] == [
        ("aac", "chi", "Chinese (original)"),
        ("aac", "eng", "English (dub)"),
        ("aac", "spa", "Spanish (dub)"),
    ]
    assert [a["disposition"]["default"] for a in audio] == [1, 0, 0]
    assert [(s["codec_name"], s["tags"]["language"], s["tags"]["handler_name"]) for s in subs] == [
        ("mov_text", "chi", "Chinese subtitles"),
        ("mov_text", "eng", "English subtitles"),
        ("mov_text", "spa", "Spanish subtitles"),
    ]
    # documented: the first target language is the default subtitle track
    assert [s["disposition"]["default"] for s in subs] == [0, 1, 0]
    # titles also live in each track's udta/name box
    data = out.read_bytes()
    for title in ("Chinese (original)", "English (dub)", "English subtitles"):
        assert b"name" + title.encode() in data
    # +faststart: the moov box comes before mdat
    assert data.find(b"moov") < data.find(b"mdat")
    duration = float(_ffprobe(out, "-show_format")["format"]["duration"])
    assert abs(duration - float(sv["duration"])) < 0.05
    assert entries[0][3] == round(float(sv["duration"]) * 1000)


def test_mp4_subtitles_extract_back_to_the_same_cues(clip: Inputs, tmp_path: Path) -> None:
    mp4_writer(clip.video, episode="ep01", subtitles=clip.subtitles, dubs=clip.dubs)(tmp_path)
    out = tmp_path / "ep01.mp4"
    order = ["zh-Hans", "en", "es"]
    for n, lang in enumerate(order):
        srt = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(out), "-map", f"0:s:{n}", "-f", "srt", "-"],
            check=True,
            capture_output=True,
        ).stdout.decode("utf-8")
        cues = [c for c in parse_srt(srt) if c.text.strip()]
        want = clip.subtitles[lang].cues
        assert [c.text for c in cues] == [c.text for c in want], lang
        for got, exp in zip(cues, want, strict=True):
            assert abs(got.start_ms - exp.start_ms) <= 1
            assert abs(got.end_ms - exp.end_ms) <= 1


# ------------------------------------------------------------------------ HLS
_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _attrs(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(line.split(":", 1)[1])}


def _parse_master(text: str) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    assert lines[0] == "#EXTM3U"
    media = [_attrs(ln) for ln in lines if ln.startswith("#EXT-X-MEDIA:")]
    variants = [
        (_attrs(ln), lines[i + 1])
        for i, ln in enumerate(lines)
        if ln.startswith("#EXT-X-STREAM-INF:")
    ]
    return media, variants


def _segments(playlist: Path) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    dur = None
    for ln in playlist.read_text().splitlines():
        if ln.startswith("#EXTINF:"):
            dur = float(ln[8:].split(",")[0])
        elif ln and not ln.startswith("#"):
            assert dur is not None
            out.append((dur, ln))
            dur = None
    assert "#EXT-X-ENDLIST" in playlist.read_text()
    return out


def test_hls_master_lists_every_rendition(clip: Inputs, tmp_path: Path) -> None:
    entries = hls_writer(clip.video, episode="ep01", subtitles=clip.subtitles, dubs=clip.dubs)(
        tmp_path
    )
    root = tmp_path / "hls"
    media, variants = _parse_master((root / "master.m3u8").read_text())
    audio = [m for m in media if m["TYPE"] == "AUDIO"]
    subs = [m for m in media if m["TYPE"] == "SUBTITLES"]
    assert [(m["LANGUAGE"], m["NAME"], m["DEFAULT"]) for m in audio] == [
        ("zh-Hans", "Chinese", "YES"),
        ("en", "English (dub)", "NO"),
        ("es", "Spanish (dub)", "NO"),
    ]
    assert {m["GROUP-ID"] for m in audio} == {"aud"}
    assert all(m["AUTOSELECT"] == "YES" for m in audio)
    assert [m["LANGUAGE"] for m in subs] == ["zh-Hans", "en", "es"]
    assert len(variants) == 1
    inf, uri = variants[0]
    assert uri == "video/index.m3u8"
    assert inf["AUDIO"] == "aud" and inf["SUBTITLES"] == "subs"
    assert inf["RESOLUTION"] == "720x1280"

    # CODECS from the stream: avc1.<profile><constraints><level> + AAC-LC
    sv = next(s for s in _streams(clip.video) if s["codec_type"] == "video")
    avc, aac = inf["CODECS"].split(",")
    assert aac == "mp4a.40.2"
    assert re.fullmatch(r"avc1\.[0-9a-f]{6}", avc)
    profile_idc = {"High": 100, "Main": 77, "Baseline": 66, "Constrained Baseline": 66}
    assert int(avc[5:7], 16) == profile_idc[sv["profile"]]
    assert int(avc[9:11], 16) == sv["level"]

    # BANDWIDTH = peak video segment rate + peak audio rendition rate (measured here too)
    def rates(playlist: Path) -> tuple[float, float]:
        segs = _segments(playlist)
        sizes = [(playlist.parent / u).stat().st_size * 8 for _, u in segs]
        peak = max(b / d for b, (d, _) in zip(sizes, segs, strict=True))
        return peak, sum(sizes) / sum(d for d, _ in segs)

    vpeak, vavg = rates(root / "video/index.m3u8")
    arates = [rates(root / m["URI"]) for m in audio]
    assert int(inf["BANDWIDTH"]) == pytest.approx(vpeak + max(p for p, _ in arates), abs=2)
    assert int(inf["AVERAGE-BANDWIDTH"]) == pytest.approx(vavg + max(a for _, a in arates), abs=2)
    assert int(inf["AVERAGE-BANDWIDTH"]) <= int(inf["BANDWIDTH"])

    # every file is in the manifest entries, with languages on rendition files
    files = sorted(p.relative_to(tmp_path).as_posix() for p in root.rglob("*") if p.is_file())
    assert sorted(e[0] for e in entries) == files
    assert all(e[1] == "hls" for e in entries)
    by_path = {e[0]: e for e in entries}
    assert by_path["hls/audio/en/index.m3u8"][2] == "en"
    assert by_path["hls/subs/zh-Hans/seg_00000.vtt"][2] == "zh-Hans"

    # the video is copied: same codec and frame count across the segments
    vsegs = _segments(root / "video/index.m3u8")
    frames = 0
    for _, uri in vsegs:
        (s,) = [s for s in _streams(root / "video" / uri) if s["codec_type"] == "video"]
        assert (s["codec_name"], s["width"], s["height"]) == ("h264", 720, 1280)
        frames += int(s["nb_read_frames"])
    assert frames == int(sv["nb_read_frames"])


def test_hls_vtt_segments_map_to_the_video_timeline(clip: Inputs, tmp_path: Path) -> None:
    hls_writer(clip.video, episode="ep01", subtitles=clip.subtitles, dubs=clip.dubs)(tmp_path)
    root = tmp_path / "hls"
    vsegs = _segments(root / "video/index.m3u8")
    first = _ffprobe(root / "video" / vsegs[0][1], "-show_entries", "stream=start_pts")
    video_pts = min(int(s["start_pts"]) for s in first["streams"])
    # audio renditions share the timeline: time 0 is the same PTS (AAC priming aside)
    for lang in ("zh-Hans", "en"):
        a = _segments(root / f"audio/{lang}/index.m3u8")[0][1]
        apts = int(
            _ffprobe(root / f"audio/{lang}" / a, "-show_entries", "stream=start_pts")["streams"][0][
                "start_pts"
            ]
        )
        assert 0 <= video_pts - apts <= 2 * 1024 * 90_000 // 48_000 + 1, lang
    for lang, track in clip.subtitles.items():
        segs = _segments(root / f"subs/{lang}/index.m3u8")
        assert [round(d, 3) for d, _ in segs] == [round(d, 3) for d, _ in vsegs]
        seen: list[str] = []
        for _, uri in segs:
            text = (root / f"subs/{lang}" / uri).read_text(encoding="utf-8")
            head = text.splitlines()[:2]
            assert head == ["WEBVTT", f"X-TIMESTAMP-MAP=MPEGTS:{video_pts},LOCAL:00:00:00.000"]
            seen += [ln for ln in text.splitlines() if "-->" in ln]
        want = {
            f"{c.start_ms // 3_600_000:02d}:{c.start_ms // 60_000 % 60:02d}:"
            f"{c.start_ms // 1000 % 60:02d}.{c.start_ms % 1000:03d}"
            for c in track.cues
        }
        assert {ln.split(" --> ")[0] for ln in seen} == want


def test_packaging_the_full_episode_is_deterministic(
    episode: SampleEpisode, tmp_path: Path
) -> None:
    """MP4 + HLS of the whole sample episode; the time is printed, not asserted (the
    machine is shared: README "Measured" has the number, 0.55 s)."""
    dub = tone_track(tmp_path / "en.m4a", 440, episode.duration_ms / 1000)
    zh = CueTrack("zh-Hans", episode.lines)
    en = CueTrack("en", tuple(Cue(c.start_ms, c.end_ms, "Hello") for c in episode.lines))
    kw: dict[str, Any] = {"episode": "ep01", "subtitles": {"zh-Hans": zh, "en": en}}
    writers = (
        mp4_writer(episode.video, dubs={"en": dub}, **kw),
        hls_writer(episode.video, dubs={"en": dub}, **kw),
    )
    start = time.perf_counter()
    manifest = publish_episode(
        tmp_path / "out",
        series="s",
        episode="ep01",
        source=zh,
        targets={"en": en},
        extra_writers=writers,
    )
    elapsed = time.perf_counter() - start
    print(
        f"published MP4 + HLS of the {episode.duration_ms / 1000:.1f} s episode in {elapsed:.2f} s"
    )
    kinds = {f.kind for f in manifest.files}
    assert {"video", "hls", "subtitles"} <= kinds
    assert (tmp_path / "out" / "hls" / "master.m3u8").is_file()
    # publishing the same inputs again is a no-op: the renditions are deterministic
    again = publish_episode(
        tmp_path / "out",
        series="s",
        episode="ep01",
        source=zh,
        targets={"en": en},
        extra_writers=writers,
    )
    assert again.content_id == manifest.content_id
