"""Per-series translation memory (SQLite): exact matches skip the model.

Two kinds of entries per (source line, target language):

* ``approved``: a translator's correction or approval from review. Always wins.
* ``machine``: a model's output, reused only for the same model and glossary version,
  so changing either re-translates instead of serving stale lines.

SQLite gives atomic writes and safe concurrent readers for parallel episodes.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localize.errors import LocalizeError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tm (
    source      TEXT NOT NULL,
    target_lang TEXT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('approved', 'machine')),
    model_id    TEXT NOT NULL DEFAULT '',
    glossary    TEXT NOT NULL DEFAULT '',
    translation TEXT NOT NULL,
    who         TEXT NOT NULL DEFAULT '',
    episode     TEXT NOT NULL DEFAULT '',
    updated_at  REAL NOT NULL,
    PRIMARY KEY (source, target_lang, origin, model_id, glossary)
);
"""


def series_memory_path(series_id: str) -> Path:
    """The series' memory under the data directory (``LOCALIZE_DATA``).

    Memories used to live in the cache (``LOCALIZE_HOME/memory``), where a cache cleaner
    could delete reviewed work: one found there is moved here the first time it is used.
    """
    from localize.models import localize_data, localize_home
    from localize.paths import safe_name

    path = localize_data() / "series" / safe_name(series_id, "series id") / "memory.sqlite"
    legacy = localize_home() / "memory" / f"{series_id}.sqlite"
    if legacy.is_file() and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(legacy) as old:  # folds the WAL in: one complete file
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        old.close()
        shutil.move(legacy, path)
        for suffix in ("-wal", "-shm"):
            Path(f"{legacy}{suffix}").unlink(missing_ok=True)
        log.warning("moved the translation memory %s to %s (LOCALIZE_DATA)", legacy, path)
    return path


def normalise_source(text: str) -> str:
    """The key a line is remembered under: NFKC, line breaks and outer spaces removed."""
    return unicodedata.normalize("NFKC", text).replace("\n", "").strip()


@dataclass(frozen=True)
class MemoryHit:
    translation: str
    origin: str  # "approved" or "machine"
    who: str = ""


class TranslationMemory:
    """A series' memory in one SQLite file. Cheap to open; open one per task."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LocalizeError(
                f"the translation memory {self.path} is unreadable ({exc})",
                "restore it from a backup, or move it aside to start an empty memory",
            ) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # commits or rolls back
                yield db
        finally:
            db.close()

    def lookup(
        self, source: str, target_lang: str, *, model_id: str = "", glossary: str = ""
    ) -> MemoryHit | None:
        """Approved entry if any, else a machine entry for this model + glossary."""
        key = normalise_source(source)
        with self._connect() as db:
            row = db.execute(
                "SELECT translation, origin, who FROM tm WHERE source=? AND target_lang=? AND "
                "(origin='approved' OR (origin='machine' AND model_id=? AND glossary=?)) "
                "ORDER BY origin='approved' DESC, updated_at DESC LIMIT 1",
                (key, target_lang, model_id, glossary),
            ).fetchone()
        return MemoryHit(row[0], row[1], row[2]) if row else None

    def remember_machine(
        self,
        pairs: list[tuple[str, str]],
        target_lang: str,
        *,
        model_id: str,
        glossary: str = "",
        episode: str = "",
    ) -> None:
        now = time.time()
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO tm VALUES (?, ?, 'machine', ?, ?, ?, '', ?, ?)",
                [
                    (normalise_source(s), target_lang, model_id, glossary, t, episode, now)
                    for s, t in pairs
                    if s.strip() and t.strip()
                ],
            )

    def approve(
        self, pairs: list[tuple[str, str]], target_lang: str, *, who: str, episode: str = ""
    ) -> None:
        """Record reviewed translations; they take precedence from now on."""
        now = time.time()
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO tm VALUES (?, ?, 'approved', '', '', ?, ?, ?, ?)",
                [
                    (normalise_source(s), target_lang, t, who, episode, now)
                    for s, t in pairs
                    if s.strip() and t.strip()
                ],
            )

    def approved_digest(self, sources: list[str], target_lang: str) -> str:
        """A fingerprint of the approved entries for ``sources`` in ``target_lang``.

        Whatever caches a translation of these lines keys it on this too: a line a
        reviewer approves after the cache was filled changes the key, so the reviewer's
        text is never replaced by a cached machine translation.
        """
        keys = sorted({normalise_source(s) for s in sources if s.strip()})
        digest = hashlib.sha256()
        with self._connect() as db:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = keys[start : start + 500]
                rows = db.execute(
                    "SELECT source, translation FROM tm WHERE origin='approved' AND "
                    f"target_lang=? AND source IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY source",
                    (target_lang, *chunk),
                ).fetchall()
                for source, translation in rows:
                    digest.update(f"{source}\t{translation}\n".encode())
        return digest.hexdigest()[:16]

    def rows(self, origin: str | None = None) -> list[tuple[str, str, str, str, str, float]]:
        """Every entry as (source, target_lang, origin, translation, who, updated_at),
        approved first, for export. ``origin`` keeps only "approved" or "machine"."""
        where, args = ("WHERE origin=?", (origin,)) if origin else ("", ())
        with self._connect() as db:
            return [
                (str(a), str(b), str(c), str(d), str(e), float(f))
                for a, b, c, d, e, f in db.execute(
                    "SELECT source, target_lang, origin, translation, who, updated_at FROM tm "
                    f"{where} ORDER BY origin='approved' DESC, source, target_lang",
                    args,
                )
            ]

    def count(self, origin: str | None = None) -> int:
        with self._connect() as db:
            if origin is None:
                return int(db.execute("SELECT COUNT(*) FROM tm").fetchone()[0])
            return int(
                db.execute("SELECT COUNT(*) FROM tm WHERE origin=?", (origin,)).fetchone()[0]
            )
