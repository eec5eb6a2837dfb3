"""Viewer renditions of an episode: one multi-track MP4 and an HLS package.

Both are :data:`~localize.package.ExtraWriter` factories for
:func:`~localize.package.publish_episode`: each returns a function that writes its files
into the staging folder and returns their manifest entries. They are pure functions
of their inputs and never re-encode the video (``-c:v copy``), so packaging an episode
takes well under a second per rendition.

Conventions (decided here, relied upon by players and tests):

- Languages: BCP 47 in our API and in HLS (``LANGUAGE="pt-BR"``); the MP4 carries
  ISO 639-2/B codes, the bibliographic set that ffmpeg and QuickTime use
  (``chi``, ``eng``, ``fre``, ``ger``...). Unknown languages become ``und``.
- MP4 track order: video, original audio (``default``), one audio per dub in the
  order given, then one ``mov_text`` subtitle per language with the original language
  first. The ``default`` subtitle track is the first *target* language (the first
  key of ``subtitles`` that is not the original): micro-dramas carry burned-in Chinese
  captions, so a default Chinese track would double them, and ffmpeg's MP4 muxer
  cannot leave every subtitle track disabled (it enables the first one of a type
  when none is marked default). With only the original language, it is the default.
- Titles go into each track's ``udta/name`` box (QuickTime/VLC/mpv read it) and its
  handler name (what ffprobe shows as ``handler_name``).
- Tracks are titled "Chinese (original)", "English (dub)", "English subtitles".
- HLS: MPEG-TS segments. The video variant is video-only; every audio track (original
  first, ``DEFAULT=YES``; dubs ``DEFAULT=NO``) is an ``EXT-X-MEDIA:TYPE=AUDIO`` rendition
  in group ``"aud"`` with its own playlist, and every subtitle language an
  ``EXT-X-MEDIA:TYPE=SUBTITLES`` rendition in group ``"subs"`` whose WebVTT segments
  follow the video's segment boundaries and start with
  ``X-TIMESTAMP-MAP=MPEGTS:<first video PTS>,LOCAL:00:00:00.000``.
  All outputs share one timeline (``-copyts -output_ts_offset 1``): media time 0 is
  PTS 216000 (1 s + ffmpeg's 1.4 s MPEG-TS offset) in video and audio alike, so dubs
  stay in sync with the picture (left alone, ffmpeg shifts each output separately, by
  the video's B-frame delay or the AAC priming: ~60 ms of skew). The value written to
  ``X-TIMESTAMP-MAP`` is measured from the first video segment with ffprobe.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localize.domain import Cue, CueTrack
from localize.errors import MediaError
from localize.languages import display_name as language_name
from localize.languages import iso639_2
from localize.package import ExtraWriter
from localize.subtitles import format_vtt, write_subtitles
from localize.tools import file_arg, run_tool

__all__ = [
    "hls_writer",
    "iso639_2",
    "language_name",
    "mp4_writer",
]

_TS_HZ = 90_000
_FFMPEG_TIMEOUT = 600.0


# ------------------------------------------------------------------------ probing
@dataclass(frozen=True)
class _Source:
    duration_s: float
    video_start_s: float
    video_codec: str
    avc_codecs: str  # "avc1.64001f"
    audio_codec: str | None  # the first audio stream's codec, None without audio
    audio_codecs: str  # "mp4a.40.2"
    size: tuple[int, int]


def _ffprobe_json(path: Path, *extra: str) -> dict[str, Any]:
    proc = run_tool(
        ["ffprobe", "-v", "error", "-print_format", "json", *extra, file_arg(path)],
        timeout=60.0,
        what=f"probing {path.name}",
    )
    data: dict[str, Any] = json.loads(proc.stdout or b"{}")
    return data


def _extradata(hexdump: str) -> bytes:
    """Bytes of ffprobe's ``extradata`` hex dump ("00000000: 0164 001f ...  .d..")."""
    out = bytearray()
    for line in hexdump.splitlines():
        if ":" not in line:
            continue
        groups = line.split(":", 1)[1].strip().split("  ")[0]
        out += bytes.fromhex(groups.replace(" ", ""))
    return bytes(out)


def avc_codecs_string(extradata: bytes, profile: str = "", level: int = 0) -> str:
    """RFC 6381 ``avc1.PPCCLL`` from H.264 extradata (avcC or Annex B SPS).

    Falls back to ffprobe's profile name and level (constraint flags then 0).
    """
    sps: bytes | None = None
    if len(extradata) >= 4 and extradata[0] == 1:  # avcC: version, profile, compat, level
        sps = extradata[1:4]
    else:
        i = extradata.find(b"\x00\x00\x01")
        while i != -1 and i + 6 <= len(extradata):
            if extradata[i + 3] & 0x1F == 7:
                sps = extradata[i + 4 : i + 7]
                break
            i = extradata.find(b"\x00\x00\x01", i + 3)
    if sps is not None and len(sps) == 3:
        return f"avc1.{sps.hex()}"
    profiles = {"baseline": 66, "constrained baseline": 66, "main": 77, "extended": 88}
    profiles.update({"high": 100, "high 10": 110, "high 4:2:2": 122, "high 4:4:4": 244})
    idc = profiles.get(profile.lower(), 100)
    flags = 0x40 if profile.lower() == "constrained baseline" else 0
    return f"avc1.{idc:02x}{flags:02x}{max(level, 0):02x}"


def _aac_codecs_string(profile: str) -> str:
    low = profile.lower()
    if "he-aacv2" in low:
        return "mp4a.40.29"
    if "he-aac" in low:
        return "mp4a.40.5"
    return "mp4a.40.2"


def _probe_source(video: Path) -> _Source:
    if not video.is_file() or video.stat().st_size == 0:
        raise MediaError(f"video not found or empty: {video}", "check the path", path=str(video))
    data = _ffprobe_json(video, "-show_format", "-show_streams", "-show_data")
    streams = data.get("streams") or []
    vstreams = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not vstreams:
        raise MediaError(
            f"{video.name} has no video stream", "pass the episode video", path=str(video)
        )
    v = vstreams[0]
    if v.get("codec_name") != "h264":
        raise MediaError(
            f"{video.name}: video codec is {v.get('codec_name')}, renditions copy H.264 only",
            "re-encode the episode to H.264 first (e.g. ffmpeg -c:v libx264)",
            path=str(video),
        )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = float(v.get("duration") or (data.get("format") or {}).get("duration") or 0)
    return _Source(
        duration_s=duration,
        video_start_s=float(v.get("start_time") or 0.0),
        video_codec=str(v.get("codec_name")),
        avc_codecs=avc_codecs_string(
            _extradata(str(v.get("extradata") or "")),
            str(v.get("profile") or ""),
            int(v.get("level") or 0),
        ),
        audio_codec=str(audio.get("codec_name")) if audio else None,
        audio_codecs=_aac_codecs_string(str(audio.get("profile") or "")) if audio else "",
        size=(int(v.get("width") or 0), int(v.get("height") or 0)),
    )


def _check_dubs(dubs: Mapping[str, Path]) -> None:
    for lang, path in dubs.items():
        if not Path(path).is_file():
            raise MediaError(
                f"dub audio for {lang} not found: {path}",
                "run the dubbing step first, or leave that language out",
                path=str(path),
            )


def _ordered_subtitles(
    subtitles: Mapping[str, CueTrack], original_language: str
) -> list[tuple[str, CueTrack]]:
    """Original language first, then the others in the given order."""
    items = list(subtitles.items())
    return sorted(items, key=lambda kv: kv[0] != original_language)


def _fmt_time(seconds: float) -> str:
    return f"{seconds:.3f}"


# ------------------------------------------------------------------------ MP4
def mp4_writer(
    video: Path,
    *,
    episode: str,
    original_language: str = "zh-Hans",
    subtitles: Mapping[str, CueTrack],
    dubs: Mapping[str, Path],
) -> ExtraWriter:
    """Writer of ``{episode}.mp4``: the video copied, original + dubbed audio, mov_text subs.

    ``subtitles`` maps BCP 47 tags to tracks (include the original language's track to
    get Chinese subtitles; it is placed first). Tracks without cues are left out. Dubs
    are AAC files (copied); the original audio is copied when AAC, else encoded to AAC.
    The output is cut to the video's duration. Returns one ``("…mp4", "video", None,
    duration_ms)`` entry.
    """
    video = Path(video)
    subs = [(lang, t) for lang, t in _ordered_subtitles(subtitles, original_language) if t.cues]
    dub_items = [(lang, Path(p)) for lang, p in dubs.items()]

    def write(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        src = _probe_source(video)
        _check_dubs(dubs)
        rel = f"{episode}.mp4"
        out = staging / rel
        with tempfile.TemporaryDirectory(prefix="localize-mp4-") as tmp:
            args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", file_arg(video)]
            for _, path in dub_items:
                args += ["-i", file_arg(path)]
            for i, (lang, track) in enumerate(subs):
                srt = Path(tmp) / f"{i:02d}.srt"
                write_subtitles(CueTrack(lang, track.cues), srt)
                args += ["-i", file_arg(srt)]
            args += ["-map", "0:v:0"]
            audio_meta: list[tuple[str, str]] = []  # (language, title)
            codec_args: list[str] = ["-c:v", "copy"]
            if src.audio_codec is not None:
                args += ["-map", "0:a:0"]
                if src.audio_codec == "aac":
                    codec_args += ["-c:a:0", "copy"]
                else:
                    codec_args += ["-c:a:0", "aac", "-b:a:0", "160k", "-ar:a:0", "48000"]
                name = language_name(original_language)
                audio_meta.append((original_language, f"{name} (original)"))
            for k, (lang, _) in enumerate(dub_items, start=1):
                args += ["-map", f"{k}:a:0"]
                codec_args += [f"-c:a:{len(audio_meta)}", "copy"]
                audio_meta.append((lang, f"{language_name(lang)} (dub)"))
            first_sub_input = 1 + len(dub_items)
            for i in range(len(subs)):
                args += ["-map", f"{first_sub_input + i}:s:0"]
            args += [*codec_args, "-c:s", "mov_text", "-map_metadata", "-1", "-map_chapters", "-1"]
            args += ["-metadata:s:v:0", "language=und", "-disposition:v:0", "default"]
            for i, (lang, title) in enumerate(audio_meta):
                args += [
                    f"-metadata:s:a:{i}",
                    f"language={iso639_2(lang)}",
                    f"-metadata:s:a:{i}",
                    f"title={title}",
                    f"-metadata:s:a:{i}",
                    f"handler_name={title}",
                    f"-disposition:a:{i}",
                    "default" if i == 0 else "0",
                ]
            default_sub = next(
                (i for i, (lang, _) in enumerate(subs) if lang != original_language), 0
            )
            for i, (lang, _) in enumerate(subs):
                title = f"{language_name(lang)} subtitles"
                args += [
                    f"-metadata:s:s:{i}",
                    f"language={iso639_2(lang)}",
                    f"-metadata:s:s:{i}",
                    f"title={title}",
                    f"-metadata:s:s:{i}",
                    f"handler_name={title}",
                    f"-disposition:s:{i}",
                    "default" if i == default_sub else "0",
                ]
            args += ["-t", _fmt_time(src.duration_s), "-movflags", "+faststart", file_arg(out)]
            run_tool(args, timeout=_FFMPEG_TIMEOUT, what=f"writing {rel}")
        return [(rel, "video", None, round(src.duration_s * 1000))]

    return write


# ------------------------------------------------------------------------ HLS
@dataclass(frozen=True)
class _Playlist:
    segments: tuple[tuple[str, float], ...]  # (uri, duration s)
    target_duration: int


def _read_media_playlist(path: Path) -> _Playlist:
    segments: list[tuple[str, float]] = []
    target = 0
    duration: float | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return _Playlist(tuple(segments), target)


def _rates(folder: Path, playlist: _Playlist) -> tuple[float, float]:
    """(peak, average) bits per second over a playlist's segments."""
    total_bits = 0.0
    total_s = 0.0
    peak = 0.0
    for uri, dur in playlist.segments:
        bits = (folder / uri).stat().st_size * 8.0
        total_bits += bits
        total_s += dur
        if dur > 0:
            peak = max(peak, bits / dur)
    return peak, (total_bits / total_s if total_s else 0.0)


def _first_video_pts(segment: Path) -> int:
    data = _ffprobe_json(segment, "-select_streams", "v:0", "-show_entries", "stream=start_pts")
    streams = data.get("streams") or []
    if not streams or streams[0].get("start_pts") is None:
        raise MediaError(f"cannot read the first PTS of {segment.name}", path=str(segment))
    return int(streams[0]["start_pts"])


def _vtt_segment(cues: Sequence[Cue], mpegts: int) -> str:
    text = format_vtt(cues)
    head, _, rest = text.partition("\n")
    return f"{head}\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n{rest}"


def _quote(value: str) -> str:
    return value.replace('"', "'").replace("\n", " ")


def _hls_output(folder: Path, segment_seconds: int) -> list[str]:
    return [
        "-f",
        "hls",
        "-hls_time",
        str(segment_seconds),
        "-hls_playlist_type",
        "vod",
        "-hls_list_size",
        "0",
        "-hls_segment_type",
        "mpegts",
        # shift every output by the same 1 s so none has negative timestamps: the muxer
        # then shifts none of them on its own (which it would do per output, by the
        # video's B-frame delay or the AAC priming, putting dubs out of sync)
        "-output_ts_offset",
        "1",
        "-hls_segment_filename",
        file_arg(folder / "seg_%05d.ts"),
        file_arg(folder / "index.m3u8"),
    ]


def _write_subtitle_renditions(
    root: Path, subs: list[tuple[str, CueTrack]], vlist: _Playlist, mpegts: int
) -> list[tuple[str, Path]]:
    """``subs/<lang>/``: WebVTT segments on the video's segment boundaries, a playlist each."""
    sub_dirs: list[tuple[str, Path]] = []
    for lang, track in subs:
        sdir = root / "subs" / lang
        sdir.mkdir(parents=True, exist_ok=True)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{vlist.target_duration}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
        ]
        start = 0.0
        for n, (_, dur) in enumerate(vlist.segments):
            lo, hi = round(start * 1000), round((start + dur) * 1000)
            last = n == len(vlist.segments) - 1
            cues = [c for c in track.cues if c.end_ms > lo and (c.start_ms < hi or last)]
            name = f"seg_{n:05d}.vtt"
            (sdir / name).write_text(_vtt_segment(cues, mpegts), encoding="utf-8")
            lines += [f"#EXTINF:{dur:.6f},", name]
            start += dur
        lines.append("#EXT-X-ENDLIST")
        (sdir / "index.m3u8").write_text("\n".join(lines) + "\n", encoding="utf-8")
        sub_dirs.append((lang, sdir))
    return sub_dirs


def _master_playlist(
    root: Path,
    src: _Source,
    vdir: Path,
    vlist: _Playlist,
    audio: list[tuple[str, str, Path]],
    sub_dirs: list[tuple[str, Path]],
    *,
    dubbed: bool,
) -> list[str]:
    """The lines of ``master.m3u8``: the audio and subtitle renditions, the video variant."""
    vpeak, vavg = _rates(vdir, vlist)
    apeak = aavg = 0.0
    for _, _, adir in audio:
        peak, avg = _rates(adir, _read_media_playlist(adir / "index.m3u8"))
        apeak, aavg = max(apeak, peak), max(aavg, avg)
    # the original is copied when AAC (keep its profile), else encoded to AAC-LC; dubs
    # are AAC-LC
    audio_codecs = {src.audio_codecs if src.audio_codec == "aac" else "mp4a.40.2"}
    if dubbed:
        audio_codecs.add("mp4a.40.2")
    codecs = ",".join([src.avc_codecs, *sorted(audio_codecs)] if audio else [src.avc_codecs])
    master = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-INDEPENDENT-SEGMENTS", ""]
    for i, (lang, name, adir) in enumerate(audio):
        default = "YES" if i == 0 else "NO"
        master.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="{lang}",'
            f'NAME="{_quote(name)}",DEFAULT={default},AUTOSELECT=YES,CHANNELS="2",'
            f'URI="{adir.relative_to(root).as_posix()}/index.m3u8"'
        )
    for lang, sdir in sub_dirs:
        master.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="{lang}",'
            f'NAME="{_quote(language_name(lang))}",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,'
            f'URI="{sdir.relative_to(root).as_posix()}/index.m3u8"'
        )
    width, height = src.size
    inf = (
        f"#EXT-X-STREAM-INF:BANDWIDTH={math.ceil(vpeak + apeak)},"
        f"AVERAGE-BANDWIDTH={math.ceil(vavg + aavg)},"
        f'CODECS="{codecs}",RESOLUTION={width}x{height}'
    )
    if audio:
        inf += ',AUDIO="aud"'
    if sub_dirs:
        inf += ',SUBTITLES="subs"'
    master += ["", inf, "video/index.m3u8"]
    return master


def hls_writer(
    video: Path,
    *,
    episode: str,
    subtitles: Mapping[str, CueTrack],
    dubs: Mapping[str, Path],
    original_language: str = "zh-Hans",
    segment_seconds: int = 4,
) -> ExtraWriter:
    """Writer of ``hls/``: master playlist, video variant, audio and WebVTT renditions.

    Layout: ``hls/master.m3u8``, ``hls/video/``, ``hls/audio/<lang>/``,
    ``hls/subs/<lang>/`` (each with ``index.m3u8`` and segments). Video segments are cut
    at key frames nearest ``segment_seconds``; subtitle segments use the same
    boundaries. ``BANDWIDTH``/``AVERAGE-BANDWIDTH`` are the video's peak/average
    segment bit rate plus the largest audio rendition's. Returns one ``"hls"`` entry per
    file (language set on rendition files, duration on playlists).
    """
    if segment_seconds < 1:
        raise ValueError("segment_seconds must be at least 1")
    video = Path(video)
    subs = _ordered_subtitles(subtitles, original_language)
    dub_items = [(lang, Path(p)) for lang, p in dubs.items()]

    def write(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        src = _probe_source(video)
        _check_dubs(dubs)
        root = staging / "hls"
        vdir = root / "video"
        vdir.mkdir(parents=True, exist_ok=True)
        audio: list[tuple[str, str, Path]] = []  # (language, name, folder)
        args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-copyts", "-i", file_arg(video)]
        for _, path in dub_items:
            args += ["-i", file_arg(path)]
        args += ["-map", "0:v:0", "-c", "copy", "-t", _fmt_time(src.duration_s)]
        args += _hls_output(vdir, segment_seconds)
        if src.audio_codec is not None:
            adir = root / "audio" / original_language
            adir.mkdir(parents=True, exist_ok=True)
            codec = ["copy"] if src.audio_codec == "aac" else ["aac", "-b:a", "160k"]
            args += ["-map", "0:a:0", "-c:a", *codec, "-t", _fmt_time(src.duration_s)]
            args += _hls_output(adir, segment_seconds)
            audio.append((original_language, f"{language_name(original_language)}", adir))
        for k, (lang, _) in enumerate(dub_items, start=1):
            adir = root / "audio" / lang
            if adir.exists():
                raise ValueError(f"dub language {lang} is the original language")
            adir.mkdir(parents=True)
            args += ["-map", f"{k}:a:0", "-c:a", "copy", "-t", _fmt_time(src.duration_s)]
            args += _hls_output(adir, segment_seconds)
            audio.append((lang, f"{language_name(lang)} (dub)", adir))
        run_tool(args, timeout=_FFMPEG_TIMEOUT, what=f"packaging HLS for {episode}")

        vlist = _read_media_playlist(vdir / "index.m3u8")
        if not vlist.segments:
            raise MediaError(f"ffmpeg wrote no HLS segments for {video.name}", path=str(video))
        # media time 0 of the episode (the cue clock) as a 90 kHz MPEG-TS timestamp
        mpegts = _first_video_pts(vdir / vlist.segments[0][0]) - round(src.video_start_s * _TS_HZ)

        sub_dirs = _write_subtitle_renditions(root, subs, vlist, mpegts)
        master = _master_playlist(root, src, vdir, vlist, audio, sub_dirs, dubbed=bool(dub_items))
        (root / "master.m3u8").write_text("\n".join(master) + "\n", encoding="utf-8")

        duration_ms = round(src.duration_s * 1000)
        langs = {adir: lang for lang, _, adir in audio} | {sdir: lang for lang, sdir in sub_dirs}
        entries: list[tuple[str, str, str | None, int | None]] = []
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(staging).as_posix()
            is_playlist = path.suffix == ".m3u8"
            entries.append(
                (rel, "hls", langs.get(path.parent), duration_ms if is_playlist else None)
            )
        return entries

    return write
