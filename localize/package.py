"""Publishing an episode's renditions atomically, with a checksummed manifest.

Everything is written into a fresh version folder next to the output, then the output
path (a symlink) is switched to it with one ``os.replace``: a reader, or a crash, never
sees a half-written rendition. Publishing identical content again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from localize.domain import CueTrack
from localize.errors import LocalizeError
from localize.models import sha256_file
from localize.paths import safe_child, safe_name
from localize.subtitles import write_subtitles

MANIFEST = "manifest.json"
_VERSIONS = ".versions"


class PublishError(LocalizeError, OSError):
    """Writing the outputs failed (disk full, permissions); nothing was switched.

    Also an OSError, so callers that handled the raw I/O error keep working.
    """


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # relative to the episode folder
    kind: str  # "subtitles", "qc-report", "review", "audio", "video", "hls"
    language: str | None
    size: int
    sha256: str
    duration_ms: int | None = None


@dataclass(frozen=True)
class Manifest:
    series: str
    episode: str
    files: tuple[ManifestEntry, ...]
    extra: Mapping[str, object]

    def to_json(self) -> str:
        return json.dumps(
            {
                "series": self.series,
                "episode": self.episode,
                "files": [asdict(f) for f in self.files],
                **self.extra,
            },
            ensure_ascii=False,
            indent=2,
        )

    @property
    def content_id(self) -> str:
        """Identifies the published content (file names and checksums)."""
        blob = "\n".join(f"{f.path} {f.sha256}" for f in sorted(self.files, key=lambda f: f.path))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: a step that writes more files into the staging folder and returns their entries
ExtraWriter = Callable[[Path], list[tuple[str, str, str | None, int | None]]]


def publish_episode(
    out_dir: Path,
    *,
    series: str,
    episode: str,
    source: CueTrack,
    targets: Mapping[str, CueTrack],
    qc_json: str | None = None,
    review_json: str | None = None,
    extra_writers: tuple[ExtraWriter, ...] = (),
    extra: Mapping[str, object] | None = None,
) -> Manifest:
    """Write subtitles (SRT + WebVTT per language), reports and a manifest; switch atomically.

    ``out_dir`` becomes a symlink to ``<parent>/.versions/<name>-<content id>``. Returns
    the manifest of what is published.
    """
    out_dir = Path(out_dir)
    safe_name(episode, "episode name")  # it becomes part of every file name below
    parent = out_dir.parent
    versions = parent / _VERSIONS
    try:
        versions.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(
            f"cannot create the output folder {parent}: {exc.strerror or exc}",
            "choose an output folder you may write to (--out)",
        ) from exc
    if out_dir.exists() and not out_dir.is_symlink():
        raise LocalizeError(
            f"{out_dir} exists and was not created by localize",
            "choose another output folder, or move that one aside; it is never overwritten",
        )
    staging = versions / f".staging-{out_dir.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        entries: list[ManifestEntry] = []

        def add(rel: str, kind: str, language: str | None, duration: int | None = None) -> None:
            path = safe_child(staging, rel)
            entries.append(
                ManifestEntry(rel, kind, language, path.stat().st_size, sha256_file(path), duration)
            )

        for track in (source, *targets.values()):
            for ext in ("srt", "vtt"):
                rel = f"{episode}.{safe_name(track.language, 'language tag')}.{ext}"
                write_subtitles(track, staging / rel)
                end = track.cues[-1].end_ms if track.cues else 0
                add(rel, "subtitles", track.language, end)
        if qc_json is not None:
            (staging / "qc.json").write_text(qc_json, encoding="utf-8")
            add("qc.json", "qc-report", None)
        if review_json is not None:
            (staging / "review.json").write_text(review_json, encoding="utf-8")
            add("review.json", "review", None)
        for writer in extra_writers:
            for rel, kind, language, duration in writer(staging):
                add(rel, kind, language, duration)
        manifest = Manifest(series, episode, tuple(entries), dict(extra or {}))
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")

        final = versions / f"{out_dir.name}-{manifest.content_id}"
        if out_dir.is_symlink() and out_dir.resolve() == final.resolve() and final.is_dir():
            shutil.rmtree(staging)  # identical content is already published: a no-op
            return manifest
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        previous = out_dir.resolve() if out_dir.is_symlink() else None
        link_tmp = parent / f".{out_dir.name}.link-{os.getpid()}"
        if link_tmp.is_symlink():
            link_tmp.unlink()
        link_tmp.symlink_to(os.path.relpath(final, parent))
        os.replace(link_tmp, out_dir)  # the one step that publishes
        if previous is not None and previous != final.resolve() and previous.parent == versions:
            shutil.rmtree(previous, ignore_errors=True)
        return manifest
    except OSError as exc:  # disk full, permissions...: nothing was switched
        raise PublishError(
            f"cannot publish {out_dir}: {exc.strerror or exc}",
            "free disk space or fix the folder's permissions and run again; the "
            "previously published version (if any) is unchanged",
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
