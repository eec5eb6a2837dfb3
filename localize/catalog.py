"""The catalog: series folders of episodes, what is done, what changed, what failed.

Layout (see docs/catalog.md)::

    CATALOG/<series-id>/glossary.toml      the series glossary (required)
    CATALOG/<series-id>/series.toml        optional run settings: [run] targets, dub, source...
    CATALOG/<series-id>/episodes/*.mp4     the episodes (natural order: ep2 < ep10)

Outputs go to ``OUT/<series-id>/<episode>/`` (published atomically by
:mod:`localize.package`); the catalog state lives in ``OUT/.catalog/state.json``: content
hashes cached by size + mtime (a nightly run does not re-read 80 videos) and, per episode
and language, the fingerprint of the last run (video hash, glossary version, model ids,
settings) with its outcome.

Pure library code: no Prefect, no global state.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localize.errors import LocalizeError
from localize.fsutil import atomic_write_json, sha256_file
from localize.gate import HELD_SUFFIX, PUBLISH
from localize.numerics import DEFAULT_COMPUTE_THREADS
from localize.package import sweep_unpublished
from localize.paths import UnsafePathError, is_within
from localize.settings import DEFAULT_RUN, RUN_KEYS, check_run_settings

GLOSSARY_FILE = "glossary.toml"
SETTINGS_FILE = "series.toml"
EPISODES_DIR = "episodes"
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".m4v", ".webm")
STATE_DIR = ".catalog"
STATE_FILE = "state.json"
LOCK_FILE = "lock"
OWNER_FILE = "lock.owner"
#: Prefect result storage (cached stage results) of a catalog: on the same shared storage
#: as the outputs, so every worker and the flow agree
RESULTS_DIR = "results"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # fullmatch: "$" lets "x\n" in

# statuses of one episode in one language
NEW = "new"
DONE = "done"
CHANGED = "changed"
FAILED = "failed"
REVIEW = "waiting-for-review"
#: recorded as waiting for a review, but the run that waited has ended: run it again
INTERRUPTED = "interrupted"

#: given the flow run id recorded with a waiting-for-review entry, why that run can no
#: longer deliver the review ("" while it still can)
StaleReview = Callable[[str], str]
#: QC found errors in an unattended run: draft in <out>.held, nothing published (gate.py)
HELD = "held"


class CatalogError(LocalizeError):
    """The catalog folder, a series in it, or its state cannot be used."""


class UnsafeNameError(CatalogError, UnsafePathError):
    """A series or episode name would place output outside the output root."""


def check_name(name: str, what: str) -> str:
    """Return ``name`` if it is safe as one path component of the output, else raise.

    Accepts letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit (so
    never ``..``, a hidden name, an absolute path or a path with separators).
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or os.path.isabs(name):
        reason = (
            "it is a path, not a name" if name not in ("", ".", "..") else "it is empty or dots"
        )
        raise UnsafeNameError(
            f"unsafe {what} {name!r}: {reason}",
            "names become output folders; use letters, digits, '.', '_' and '-' only",
        )
    if not _SAFE_NAME.fullmatch(name):
        raise UnsafeNameError(
            f"unsafe {what} {name!r}: only letters, digits, '.', '_' and '-' are allowed, "
            "starting with a letter or digit",
            "rename it; names become output folders and must stay inside the output root",
        )
    return name


def inside(root: Path, *parts: str) -> Path:
    """``root/parts`` after checking each part and that the result stays under ``root``."""
    path = root
    for part in parts:
        path = path / check_name(part, "path component")
    if not is_within(path, root):
        raise UnsafeNameError(
            f"{path} resolves to {path.resolve()}, outside {root.resolve()}",
            "a symlink in the output folder points elsewhere; remove it",
        )
    return path


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key where digit runs compare as numbers: ep2 < ep10."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


@dataclass(frozen=True)
class Episode:
    series: str
    name: str  # file stem: the episode id in outputs
    video: Path

    @property
    def key(self) -> str:
        return f"{self.series}/{self.name}"


@dataclass(frozen=True)
class Series:
    id: str
    folder: Path
    glossary: Path
    settings: Mapping[str, Any]
    episodes: tuple[Episode, ...]


@dataclass(frozen=True)
class Rejected:
    """Something in the catalog that was skipped, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Catalog:
    root: Path
    series: tuple[Series, ...]
    rejected: tuple[Rejected, ...] = ()

    @property
    def episodes(self) -> tuple[Episode, ...]:
        return tuple(e for s in self.series for e in s.episodes)


def _rejection(path: Path, name: str, what: str, root: Path) -> str | None:
    """Why a series folder or episode file cannot be used, or None if it can."""
    try:
        check_name(name, what)
    except UnsafeNameError as exc:
        return exc.message
    if not is_within(path, root):
        return f"symlink to {path.resolve()}, outside the catalog"
    if what == "episode name" and name.endswith(HELD_SUFFIX):
        return f"names ending in {HELD_SUFFIX} are kept for held drafts; rename the file"
    return None


def load_settings(path: Path) -> dict[str, Any]:
    """The ``[run]`` table of a series.toml (unknown keys are an error)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}", "fix the TOML syntax") from None
    run = data.get("run", {})
    if not isinstance(run, dict):
        raise CatalogError(
            f"{path}: run = {run!r} is not a table",
            f"write a [run] table with any of: {', '.join(RUN_KEYS)}",
        )
    extra = sorted(set(data) - {"run"}) + sorted(set(run) - set(RUN_KEYS))
    if extra:
        raise CatalogError(
            f"{path}: unknown settings {extra}",
            f"series.toml holds a [run] table with any of: {', '.join(RUN_KEYS)}",
        )
    return dict(run)


def discover(root: Path) -> Catalog:
    """Series (folders with a glossary.toml) and their episodes, in natural order.

    Unsafe names and symlinks leading outside the catalog are rejected with a reason
    rather than raising, so one bad entry does not hide the rest.
    """
    root = Path(root)
    if not root.is_dir():
        raise CatalogError(f"catalog folder not found: {root}", "pass the folder holding series")
    real_root = root.resolve()
    series: list[Series] = []
    rejected: list[Rejected] = []
    for folder in sorted(root.iterdir(), key=lambda p: natural_key(p.name)):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        reason = _rejection(folder, folder.name, "series id", real_root)
        if reason:
            rejected.append(Rejected(str(folder), reason))
            continue
        glossary = folder / GLOSSARY_FILE
        if not glossary.is_file():
            rejected.append(Rejected(str(folder), f"no {GLOSSARY_FILE}: not a series folder"))
            continue
        episodes: list[Episode] = []
        ep_dir = folder / EPISODES_DIR
        files = (
            sorted(ep_dir.iterdir(), key=lambda p: natural_key(p.name)) if ep_dir.is_dir() else []
        )
        for video in files:
            if video.suffix.lower() not in VIDEO_SUFFIXES or video.name.startswith("."):
                continue
            reason = _rejection(video, video.stem, "episode name", real_root)
            if reason:
                rejected.append(Rejected(str(video), reason))
                continue
            if not video.is_file():
                rejected.append(Rejected(str(video), "not a regular file"))
                continue
            episodes.append(Episode(folder.name, video.stem, video))
        names = [e.name for e in episodes]
        dupes = {n for n in names if names.count(n) > 1}
        for dup in sorted(dupes):
            rejected.append(
                Rejected(f"{folder}/{EPISODES_DIR}/{dup}.*", "two videos share this episode name")
            )
        episodes = [e for e in episodes if e.name not in dupes]
        try:
            settings = load_settings(folder / SETTINGS_FILE)
        except CatalogError as exc:
            rejected.append(Rejected(str(folder / SETTINGS_FILE), exc.message))
            continue
        series.append(Series(folder.name, folder, glossary, settings, tuple(episodes)))
    return Catalog(root, tuple(series), tuple(rejected))


# ---------------------------------------------------------------------------- state
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class CatalogState:
    """The JSON state under ``OUT/.catalog/``: hash cache and per-language outcomes."""

    path: Path
    hashes: dict[str, dict[str, Any]] = field(default_factory=dict)
    episodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    hashed: int = 0  # files actually read by this process (for tests and logs)

    @classmethod
    def load(cls, out_root: Path) -> CatalogState:
        path = Path(out_root) / STATE_DIR / STATE_FILE
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CatalogError(
                f"catalog state {path} is unreadable: {exc}",
                "delete it: hashes are recomputed and published episodes re-checked",
            ) from None
        return cls(path, dict(data.get("hashes", {})), dict(data.get("episodes", {})))

    def save(self) -> None:
        """Write atomically (temp file + rename): a crash leaves the old or the new state."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        blob = {"hashes": self.hashes, "episodes": self.episodes}
        atomic_write_json(self.path, blob, indent=1, sort_keys=True)

    def content_hash(self, video: Path) -> str:
        """sha256 of the file, reused while its size and mtime are unchanged."""
        st = video.stat()
        key = str(video.resolve())
        known = self.hashes.get(key)
        if known and known["size"] == st.st_size and known["mtime_ns"] == st.st_mtime_ns:
            return str(known["sha256"])
        digest = sha256_file(video)
        self.hashed += 1
        self.hashes[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        return digest

    def record(
        self,
        episode: Episode,
        languages: Iterable[str],
        status: str,
        fingerprint: Mapping[str, Any],
        *,
        error: str = "",
        manifest: str = "",
        seconds: float | None = None,
        worker: str = "",
        run: str = "",
    ) -> None:
        """``run``: the id of the flow run that will record the outcome (for a review)."""
        entry = self.episodes.setdefault(episode.key, {})
        for lang in languages:
            entry[lang] = {
                "status": status,
                "fingerprint": dict(fingerprint),
                "error": error,
                "manifest": manifest,
                "seconds": seconds,
                "worker": worker,
                "run": run,
                "updated": _now(),
            }


def fingerprint(
    content_hash: str, glossary_version: str, settings: Mapping[str, Any], language: str
) -> dict[str, Any]:
    """Everything that decides one language's output of one episode."""
    dub = settings.get("dub") or []
    return {
        "video": content_hash,
        "glossary": glossary_version,
        "source": settings.get("source"),
        "asr_model": settings.get("asr_model"),
        "mt_backend": settings.get("mt_backend"),
        "mt_model": settings.get("mt_model"),
        "caption_band": settings.get("caption_band"),
        "dub": language in dub,
        "tts": settings.get("tts") if language in dub else None,
        # only when off: fingerprints recorded before this setting existed stay equal
        **({"language_check": False} if settings.get("language_check") is False else {}),
        **({"timing_repairs": False} if settings.get("timing_repairs") is False else {}),
        **({"speakers": False} if language in dub and settings.get("speakers") is False else {}),
        # only when not the default, likewise; other threads may round differently
        **(
            {"compute_threads": threads}
            if (threads := settings.get("compute_threads", DEFAULT_COMPUTE_THREADS))
            != DEFAULT_COMPUTE_THREADS
            else {}
        ),
        # pictures, likewise only when asked for: a clean master or this language burned in
        **({"clean": settings["clean"]} if settings.get("clean") not in (None, "none") else {}),
        **({"burn": True} if language in (settings.get("burn") or []) else {}),
        **(
            {"burn_style": style}
            if language in (settings.get("burn") or []) and (style := settings.get("burn_style"))
            else {}
        ),
    }


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def manifest_id(manifest: Mapping[str, Any], language: str | None = None) -> str:
    """Same as :attr:`localize.package.Manifest.content_id`, from the JSON; with
    ``language``, of that language's files only (what a language's record compares
    against: publishing another language keeps these files and so this id)."""
    import hashlib

    files = sorted(
        (f for f in manifest.get("files", []) if language is None or f.get("language") == language),
        key=lambda f: f["path"],
    )
    blob = "\n".join(f"{f['path']} {f['sha256']}" for f in files)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_published(out_dir: Path) -> list[str]:
    """What is wrong with a published episode folder: [] when its manifest is readable
    and every file it lists is there with the recorded size and sha256."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        return [f"{out_dir}: no readable manifest.json"]
    problems = []
    for entry in manifest.get("files", []):
        path = out_dir / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: size or sha256 differs from the manifest")
    return problems


# --------------------------------------------------------------- lock and crash recovery
class CatalogBusyError(CatalogError):
    """Another catalog run holds the output folder's state lock."""


def _owner(out_root: Path) -> str:
    try:
        data = json.loads((out_root / STATE_DIR / OWNER_FILE).read_text(encoding="utf-8"))
        return f"pid {data['pid']} on {data['host']}, started {data['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "owner unknown"


@contextmanager
def state_lock(out_root: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold ``OUT/.catalog/lock`` (an OS file lock) for the duration of a catalog run.

    A second run on the same ``OUT`` waits up to ``wait`` seconds, then raises
    :class:`CatalogBusyError` naming the holder. The kernel drops the lock when its
    process dies (even by SIGKILL), so a crash never leaves a stale lock behind.
    """
    from filelock import FileLock, Timeout

    folder = Path(out_root) / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # no soft-lock fallback: a lock file that outlives a killed process would block
    # every later run; a file system without OS locks is reported instead
    lock = FileLock(folder / LOCK_FILE, timeout=wait, fallback_to_soft=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise CatalogBusyError(
            f"another catalog run is writing {out_root} ({_owner(Path(out_root))})",
            "wait for it to finish (localize catalog run --wait SECONDS waits for it), or "
            "use another --out; two runs on one output folder would overwrite each other",
        ) from None
    except OSError as exc:
        raise CatalogError(
            f"cannot lock {folder / LOCK_FILE}: {exc}",
            "put the output folder on a file system with file locks (local disk, NFSv4)",
        ) from None
    try:
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
        (folder / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
        yield
    finally:
        (folder / OWNER_FILE).unlink(missing_ok=True)
        lock.release()


def save_hash_cache(state: CatalogState, out_root: Path) -> bool:
    """Merge ``state``'s hash cache into the saved state, unless a run holds the lock.

    For read-mostly commands (``catalog status``): they must never write back a state
    they read before a running catalog recorded newer outcomes. Returns whether saved.
    """
    try:
        with state_lock(out_root, wait=0):
            fresh = CatalogState.load(out_root)
            fresh.hashes.update(state.hashes)
            fresh.save()
    except CatalogBusyError:
        return False
    return True


def sweep_stale(out_root: Path) -> list[str]:
    """Remove what a killed run left half-written under ``OUT``; return what was removed.

    Publishing (:func:`localize.package.publish_episode`) writes a hidden staging folder,
    renames it to a version folder, then switches the episode's symlink; a kill between
    those steps leaves a ``.staging-*`` folder, a ``.<episode>.link-*`` temp link or a
    version folder no symlink points to. None of them is visible as published output,
    but they hold disk space. Call only while holding :func:`state_lock`: then no writer
    of this catalog is active, so whatever is in flight is stale.
    """
    out_root = Path(out_root)
    removed: list[str] = []
    if not out_root.is_dir():
        return removed
    for tmp in (out_root / STATE_DIR).glob(f".{STATE_FILE}.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed.append(str(tmp.relative_to(out_root)))
    for series_dir in sorted(out_root.iterdir()):
        if series_dir.name.startswith(".") or series_dir.is_symlink() or not series_dir.is_dir():
            continue
        gone = sweep_unpublished(series_dir, idle=True)  # idle: we hold the run lock
        removed += [str(path.relative_to(out_root)) for path in gone]
    return removed


def review_ended(_run: str) -> str:
    """A :data:`StaleReview` for a caller holding :func:`state_lock`: a catalog run holds
    that lock while it waits for its reviews, so none of them is awaited any more."""
    return "the catalog run that waited for this review has ended; it runs again"


@dataclass(frozen=True)
class LanguageStatus:
    episode: Episode
    language: str
    status: str
    detail: str = ""

    @property
    def needs_run(self) -> bool:
        return self.status in (NEW, CHANGED, FAILED, INTERRUPTED)


_LABELS = {
    "video": "video content",
    "glossary": "glossary",
    "source": "source mode",
    "asr_model": "speech model",
    "mt_backend": "translation backend",
    "mt_model": "translation model",
    "caption_band": "caption band",
    "dub": "dub choice",
    "tts": "voice synthesis",
    "language_check": "language check",
    "timing_repairs": "timing repairs",
    "speakers": "speaker attribution",
    "compute_threads": "compute threads",
}


def language_status(
    state: CatalogState,
    episode: Episode,
    language: str,
    current: Mapping[str, Any],
    out_dir: Path,
    stale_review: StaleReview | None = None,
) -> LanguageStatus:
    """new / done / changed (what) / failed (last error) / waiting-for-review, or
    interrupted when ``stale_review`` says the run that waited for the review is gone."""
    record = state.episodes.get(episode.key, {}).get(language)
    if record is None:
        return LanguageStatus(episode, language, NEW)
    old = record.get("fingerprint", {})
    diff = [
        _LABELS.get(k, k) for k in sorted(set(old) | set(current)) if old.get(k) != current.get(k)
    ]
    status = record.get("status")
    if diff:
        return LanguageStatus(episode, language, CHANGED, ", ".join(diff) + " changed")
    if status == FAILED:
        return LanguageStatus(episode, language, FAILED, str(record.get("error", "")))
    if status == REVIEW:
        gone = stale_review(str(record.get("run") or "")) if stale_review else ""
        if gone:
            return LanguageStatus(episode, language, INTERRUPTED, gone)
        return LanguageStatus(episode, language, REVIEW, str(record.get("error", "")))
    if status == HELD:
        return LanguageStatus(episode, language, HELD, str(record.get("error", "")))
    manifest = read_manifest(out_dir)
    if manifest is None:
        return LanguageStatus(episode, language, CHANGED, "published output is missing")
    # records before 0.2 hold the whole manifest's id, later ones the language's own
    if record.get("manifest") not in (manifest_id(manifest, language), manifest_id(manifest)):
        return LanguageStatus(episode, language, CHANGED, "published output was replaced")
    paths = {f["path"] for f in manifest.get("files", [])}
    if f"{episode.name}.{language}.srt" not in paths:
        return LanguageStatus(episode, language, CHANGED, f"no {language} subtitles published")
    return LanguageStatus(episode, language, DONE)


def format_table(rows: Iterable[LanguageStatus]) -> str:
    """A plain-text table: series, episode, language, status, detail."""
    items = [(r.episode.series, r.episode.name, r.language, r.status, r.detail) for r in rows]
    head = ("SERIES", "EPISODE", "LANG", "STATUS", "DETAIL")
    widths = [max(len(x[i]) for x in [head, *items]) for i in range(4)]
    lines = []
    for row in [head, *items]:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plan
def run_settings(
    series: Series,
    overrides: Mapping[str, Any] | None = None,
    *,
    glossary_targets: Sequence[str] = (),
) -> dict[str, Any]:
    """Defaults (targets: the glossary's), then the series' [run] table, then the run's
    overrides (None = unset), checked by the episode flow's rules
    (:class:`localize.settings.SettingsError`)."""
    settings = {**DEFAULT_RUN, **series.settings}
    if glossary_targets and not settings.get("targets"):
        settings["targets"] = list(glossary_targets)
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return check_run_settings(settings, str(series.folder / SETTINGS_FILE))


def held_detail(qc_errors: int, draft: Path | str) -> str:
    """What ``catalog status`` says after ``held``: ``(5 QC errors) draft at PATH``."""
    return f"({qc_errors} QC errors) draft at {draft}"


def rerun_held(settings: Mapping[str, Any], *, review: bool) -> bool:
    """A held episode is run again (unchanged) only by a run that would publish it: with
    review, or with ``on_qc_errors = "publish"``. Otherwise it stays held (and notifies
    once), until its inputs change."""
    return review or settings.get("on_qc_errors") == PUBLISH


@dataclass(frozen=True)
class EpisodePlan:
    episode: Episode
    glossary: Path
    glossary_version: str
    settings: Mapping[str, Any]
    content_hash: str
    out_dir: Path
    languages: tuple[LanguageStatus, ...]

    @property
    def needs_run(self) -> bool:
        return any(s.needs_run for s in self.languages)

    def fingerprint(self, language: str) -> dict[str, Any]:
        return fingerprint(self.content_hash, self.glossary_version, self.settings, language)


def plan(
    catalog: Catalog,
    state: CatalogState,
    out_root: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    stale_review: StaleReview | None = None,
) -> tuple[list[EpisodePlan], list[Rejected]]:
    """Every episode with its per-language status. Series whose glossary or settings do
    not load are returned as rejected (with the reason). ``stale_review`` decides whether
    a waiting-for-review entry is still awaited (see :func:`review_ended`)."""
    from localize.glossary import load_glossary

    plans: list[EpisodePlan] = []
    rejected = list(catalog.rejected)
    for series in catalog.series:
        try:
            glossary = load_glossary(series.glossary)
        except LocalizeError as exc:
            rejected.append(Rejected(str(series.glossary), exc.message))
            continue
        version = glossary.version
        try:
            settings = run_settings(series, overrides, glossary_targets=glossary.series.targets)
        except LocalizeError as exc:  # one bad series.toml: the other series still run
            rejected.append(Rejected(str(series.folder / SETTINGS_FILE), exc.message))
            continue
        for episode in series.episodes:
            out_dir = inside(Path(out_root), episode.series, episode.name)
            digest = state.content_hash(episode.video)
            statuses = tuple(
                language_status(
                    state,
                    episode,
                    lang,
                    fingerprint(digest, version, settings, lang),
                    out_dir,
                    stale_review,
                )
                for lang in settings["targets"]
            )
            plans.append(
                EpisodePlan(episode, series.glossary, version, settings, digest, out_dir, statuses)
            )
    return plans, rejected


def default_out(catalog_root: Path) -> Path:
    """Where outputs go when no --out is given: the output root
    (:func:`localize.models.output_root`) / <catalog name>."""
    from localize.models import output_root

    return output_root() / check_name(Path(catalog_root).resolve().name, "catalog")
