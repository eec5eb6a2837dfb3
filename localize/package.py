"""Publishing an episode's renditions atomically, with a checksummed manifest.

Everything is written into a fresh version folder next to the output, then the output
path (a symlink) is switched to it with one ``os.replace``: a reader, or a crash, never
sees a half-written rendition. Publishing identical content again changes nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from localize.domain import CueTrack
from localize.errors import LocalizeError
from localize.fsutil import file_lock, sha256_file
from localize.paths import safe_child, safe_name
from localize.subtitles import write_subtitles

if TYPE_CHECKING:
    from localize.qc import QCReport
    from localize.review import ReviewHistory

MANIFEST = "manifest.json"
_VERSIONS = ".versions"
_STAGING = ".staging-"
#: in ``.versions``: held while a version is switched or litter is swept
_PUBLISH_LOCK = ".lock"
#: the temporary symlink a publish renames over the episode's link: .NAME.link-PID
_LINK_TEMP = re.compile(r"\..+\.link-(\d+)")

log = logging.getLogger(__name__)


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

#: the files of a language that a run for other languages keeps as they are; the MP4
#: and HLS hold every language and are rebuilt by each publish instead
CARRIED_KINDS = frozenset({"subtitles", "audio", "review"})


@dataclass(frozen=True)
class PublishedLanguages:
    """Languages already published for an episode that the current run does not produce.

    A run for Spanish must not lose the reviewed English: publishing copies these files
    byte for byte into the new version, keeps their per-language records (which run
    produced them, who approved them), and the MP4/HLS are rebuilt with them included.
    """

    folder: Path  # the published version they are copied from
    episode: str
    entries: tuple[ManifestEntry, ...]
    records: Mapping[str, Mapping[str, object]]  # manifest "languages", per language
    review_json: str | None = None  # the review file of the run that produced them

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({e.language for e in self.entries if e.language}))

    def track(self, language: str) -> CueTrack:
        from localize.subtitles import read_subtitles

        return read_subtitles(self.folder / f"{self.episode}.{language}.srt", language=language)

    def dub(self, language: str) -> Path | None:
        path = self.folder / f"{self.episode}.{language}.dub.m4a"
        return path if any(e.path == path.name for e in self.entries) else None


def published_languages(
    out_dir: Path, *, episode: str, produced: Collection[str], drop: Collection[str] = ()
) -> PublishedLanguages | None:
    """What the current version of ``out_dir`` holds in languages other than ``produced``
    (and not in ``drop``, which the manager asked to remove); None when there is none."""
    out_dir = Path(out_dir)
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    skip = set(produced) | set(drop)
    entries = tuple(
        ManifestEntry(**f)
        for f in data.get("files", [])
        if f.get("language") and f["language"] not in skip and f.get("kind") in CARRIED_KINDS
    )
    if not any(e.kind == "subtitles" for e in entries):
        return None
    kept = {e.language for e in entries}
    records = {k: v for k, v in (data.get("languages") or {}).items() if k in kept}
    review = out_dir / "review.json"
    return PublishedLanguages(
        out_dir.resolve(),
        episode,
        entries,
        records,
        review.read_text(encoding="utf-8") if review.is_file() else None,
    )


class DubFacts(Protocol):
    """What the manifest records of one dub (the flows' dub summaries have it)."""

    @property
    def language(self) -> str: ...
    @property
    def integrated_lufs(self) -> float: ...
    @property
    def true_peak_dbtp(self) -> float: ...
    @property
    def bed(self) -> str: ...
    @property
    def lines(self) -> Sequence[Any]: ...  # each with .index, .speaker, .voice


def manifest_extra(
    report: QCReport,
    review: ReviewHistory | None,
    *,
    numerics: Mapping[str, Any] | None = None,
    dubs: Sequence[DubFacts] = (),
) -> dict[str, Any]:
    """The manifest's account of an episode run beyond its files: the QC summary, the
    review's last decision, the numerics that made the text, each dub's loudness."""
    from localize import __version__

    last = review.rounds[-1] if review and review.rounds else None
    return {
        "qc": {
            "ok": report.ok,
            "errors": report.error_count,
            "warnings": report.warning_count,
            "cues": report.cue_count,
            "timing_repairs": len(report.timing_repairs),
        },
        "review": (
            {
                "decision": last.decision,
                "reviewer": last.reviewer,
                "at": last.at,
                "rounds": len(review.rounds),
                "edits": sum(len(r.edits) for r in review.rounds),
            }
            if review and last
            else None
        ),
        "qc_ok": report.ok,
        "localize_version": __version__,
        "numerics": numerics,
        "dubs": [
            {
                "language": d.language,
                "integrated_lufs": d.integrated_lufs,
                "true_peak_dbtp": d.true_peak_dbtp,
                "bed": d.bed,
                "lines": [
                    {"cue": line.index, "speaker": line.speaker, "voice": line.voice}
                    for line in d.lines
                ],
            }
            for d in dubs
        ],
    }


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
    languages: Mapping[str, Mapping[str, object]] | None = None,
    carried: PublishedLanguages | None = None,
) -> Manifest:
    """Write subtitles (SRT + WebVTT per language), reports and a manifest; switch atomically.

    ``languages`` records, per language this run produced, where it came from (run,
    review); ``carried`` are the other languages already published, kept byte for byte
    with their records. ``out_dir`` becomes a symlink to
    ``<parent>/.versions/<name>-<content id>``. Every file and folder is fsynced before
    the switch, and the switch (with the removal of the version it replaces) holds
    :func:`publish_lock` of the parent. Returns the manifest of what is published.
    """
    started = time.time()
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
    check_output_location(out_dir)
    sweep_unpublished(parent, older_than=started)
    staging = versions / f"{_STAGING}{out_dir.name}-{os.getpid()}-{threading.get_ident()}"
    with publish_lock(parent):  # a sweep must not take it for litter before it is locked
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        # held until this publish ends (a killed process releases it): tells a later
        # publish that this staging folder is alive and not litter
        lock = _lock(staging)
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
        records = dict(languages or {})
        if carried is not None:
            for entry in _carry(carried, staging):
                add(entry.path, entry.kind, entry.language, entry.duration_ms)
            records = {**carried.records, **records}
        manifest = Manifest(
            series, episode, tuple(entries), {**(extra or {}), "languages": records}
        )
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        _sync_tree(staging)  # on disk before any link points at it (power cuts)
        with publish_lock(parent):
            _switch(out_dir, staging, versions / f"{out_dir.name}-{manifest.content_id}")
        return manifest
    except OSError as exc:  # disk full, permissions...: nothing was switched
        raise PublishError(
            f"cannot publish {out_dir}: {exc.strerror or exc}",
            "free disk space or fix the folder's permissions and run again; the "
            "previously published version (if any) is unchanged",
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def _carry(carried: PublishedLanguages, staging: Path) -> list[ManifestEntry]:
    """Copy the carried languages' files into ``staging``, byte for byte. The review
    file that approved a carried language becomes ``review.<lang>.json``."""
    copied = []
    for entry in carried.entries:
        target = safe_child(staging, entry.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(safe_child(carried.folder, entry.path), target)
        copied.append(entry)
    have = {e.path for e in carried.entries}
    for language in carried.languages:
        rel = f"review.{safe_name(language, 'language tag')}.json"
        if (
            rel not in have
            and carried.review_json
            and carried.records.get(language, {}).get("review")
        ):
            (staging / rel).write_text(carried.review_json, encoding="utf-8")
            copied.append(ManifestEntry(rel, "review", language, 0, ""))
    return copied


def _switch(out_dir: Path, staging: Path, final: Path) -> None:
    """Make ``staging`` the version ``final`` and point ``out_dir`` at it, durably; then
    remove the version it replaces. Call holding :func:`publish_lock`."""
    parent, versions = out_dir.parent, final.parent
    if out_dir.is_symlink() and out_dir.resolve() == final.resolve() and final.is_dir():
        return  # identical content is already published: a no-op
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    _fsync_dir(versions)
    previous = out_dir.resolve() if out_dir.is_symlink() else None
    link_tmp = parent / f".{out_dir.name}.link-{os.getpid()}"
    if link_tmp.is_symlink():
        link_tmp.unlink()
    link_tmp.symlink_to(os.path.relpath(final, parent))
    if out_dir.is_dir() and not out_dir.is_symlink():
        out_dir.rmdir()  # the empty folder the user made for it (fails if not empty)
    os.replace(link_tmp, out_dir)  # the one step that publishes
    _fsync_dir(parent)
    # resolved on both sides: the output path may lead through a symlink
    if (
        previous is not None
        and previous != final.resolve()
        and previous.parent == versions.resolve()
    ):
        shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def publish_lock(parent: Path) -> Iterator[None]:
    """Hold the lock of ``parent``, a folder of published episodes.

    Every switch of a published version and every sweep of litter in ``parent`` holds
    it, so a catalog's sweep and a manual publish into the same folder (another
    process, or another thread) never remove each other's versions. An OS file lock
    on ``parent/.versions/.lock``: released when its holder dies, even by SIGKILL.
    """
    with file_lock(parent / _VERSIONS / _PUBLISH_LOCK):
        yield


def _sync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (folders after what they hold)."""
    for dirpath, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(folder: Path) -> None:
    """Make the names in ``folder`` (a rename, a new link) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_output_location(out_dir: Path) -> None:
    """Raise unless ``out_dir`` can become a published episode: absent, published by
    localize before (a symlink) or an empty folder. Cheap: runs call it before their first
    stage, so a foreign folder is refused before any work is done."""
    out_dir = Path(out_dir)
    if out_dir.is_symlink() or not out_dir.exists():
        return
    try:
        empty = out_dir.is_dir() and not any(out_dir.iterdir())
    except OSError:
        empty = False
    if not empty:
        raise LocalizeError(
            f"{out_dir} exists and was not created by localize",
            "choose another output folder, or move that one aside; it is never overwritten "
            "(an empty folder is fine)",
        )


def unpublish(link: Path) -> bool:
    """Remove a published folder: its symlink and the version folder it points to.

    For drafts that a later publish replaces (a held episode's ``<out>.held``). Returns
    whether there was one. Anything that is not a localize symlink is left alone.
    """
    link = Path(link)
    if not link.is_symlink():
        return False
    with publish_lock(link.parent):
        target = link.resolve()
        link.unlink(missing_ok=True)
        if target.parent == (link.parent / _VERSIONS).resolve():
            shutil.rmtree(target, ignore_errors=True)
    return True


def _lock(folder: Path) -> int | None:
    """An exclusive advisory lock on ``folder`` (released when its holder dies)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_staging(versions: Path, *, older_than: float) -> list[Path]:
    """Delete the hidden staging folders that killed publishes left in ``versions``.

    A publish killed with SIGKILL (or by a power cut) cannot remove its staging
    folder. One is litter when it was last changed before ``older_than`` (the start
    of the current publish) *and* no live process holds its lock: a publish running
    in parallel keeps its own. Only ``.staging-*`` folders are considered: published
    versions and anything else are never touched. Best effort: a folder that cannot
    be removed is left for the next time. Returns the folders removed.
    """
    removed: list[Path] = []
    try:
        entries = [e for e in versions.iterdir() if e.name.startswith(_STAGING)]
    except OSError:
        return removed
    for entry in entries:
        try:
            if entry.is_symlink() or not entry.is_dir() or entry.stat().st_mtime >= older_than:
                continue
        except OSError:
            continue
        lock = _lock(entry)
        if lock is None:  # a live publish is writing it (or it is not ours to open)
            continue
        try:
            shutil.rmtree(entry, ignore_errors=True)
        finally:
            os.close(lock)
        if not entry.exists():
            log.info("removed %s, left by a publish that was killed", entry)
            removed.append(entry)
    return removed


def sweep_unpublished(parent: Path, *, older_than: float = 0.0, idle: bool = False) -> list[Path]:
    """Remove what killed publishes left in ``parent`` (a folder of published episodes).

    By default only litter whose writer is provably gone: ``.NAME.link-PID`` temp links
    of dead processes and staging folders older than ``older_than`` that no live
    process has locked (what every publish does first). With ``idle=True`` the caller
    knows no catalog publish into ``parent`` is running (a catalog holding its run
    lock), so every unlocked staging folder goes, and so do version folders that no
    episode link points to (renamed into place by a publish killed before its switch).
    Holds :func:`publish_lock` of ``parent``: a publish switching a version in the
    meantime (a manual ``localize episode --out`` into the same tree) is waited for.
    Published versions are never touched. Returns what was removed.
    """
    if not (parent / _VERSIONS).is_dir():
        return []  # nothing was ever published here
    with publish_lock(parent):
        return _sweep(parent, older_than=math.inf if idle else older_than, idle=idle)


def _sweep(parent: Path, *, older_than: float, idle: bool) -> list[Path]:
    removed = remove_stale_staging(parent / _VERSIONS, older_than=older_than)
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _LINK_TEMP.fullmatch(entry.name)
        if match and entry.is_symlink() and (idle or not _alive(int(match.group(1)))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    versions = parent / _VERSIONS
    if idle and versions.is_dir():
        live = {e.resolve() for e in entries if e.is_symlink() and not e.name.startswith(".")}
        for version in sorted(versions.iterdir()):
            if version.is_dir() and not version.is_symlink() and version.resolve() not in live:
                shutil.rmtree(version, ignore_errors=True)
                removed.append(version)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
