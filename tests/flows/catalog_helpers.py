"""Shared by the catalog scale-out, resume and PostgreSQL tests: short generated episodes,
a catalog folder of them, and a comparable snapshot of what a run published."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from localize.catalog import check_published, read_manifest
from localize.sample import SampleEpisode

GLOSSARY = Path(__file__).resolve().parents[2] / "glossaries" / "ceo-contract-bride.toml"
#: (name, start s, length s): three scenes of the sample, each with one line that whisper
#: hears as Mandarin (some 5 s cuts of espeak speech pass for Thai), short enough that a
#: catalog run with speech recognition and the fake translator takes seconds
CUTS = (("ep1", 0.0, 6.0), ("ep2", 11.0, 5.0), ("ep3", 31.5, 4.0))


def cut_clips(
    video: Path, folder: Path, cuts: tuple[tuple[str, float, float], ...] = CUTS
) -> dict[str, Path]:
    """Re-encoded cuts of ``video`` (stream copy would snap to keyframes)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, start, length in cuts:
        path = folder / f"{name}.mp4"
        subprocess.run(
            [
                "ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(length),
                "-i", str(video), "-c:v", "libx264", "-preset", "ultrafast",
                "-c:a", "aac", "-b:a", "96k", str(path),
            ],
            check=True,
        )  # fmt: skip
        out[name] = path
    return out


@pytest.fixture(scope="session")
def catalog_clips(
    episode: SampleEpisode, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    return cut_clips(episode.video, tmp_path_factory.mktemp("catalog-clips"))


def make_catalog(root: Path, episodes: dict[str, Path], *, series: str = "ceo") -> Path:
    folder = root / series
    (folder / "episodes").mkdir(parents=True)
    shutil.copyfile(GLOSSARY, folder / "glossary.toml")
    # the fake translator leaves Chinese in place, which QC flags: publish anyway (the
    # QC gate's own tests hold)
    settings = '[run]\ntargets = ["en"]\nsource = "asr"\non_qc_errors = "publish"\n'
    (folder / "series.toml").write_text(settings)
    for name, clip in episodes.items():
        shutil.copyfile(clip, folder / "episodes" / f"{name}.mp4")
    return root


def published(out: Path, series: str = "ceo") -> dict[str, dict[str, Any]]:
    """Per published episode: the version folder (named by the content id: every file's
    sha256), the whole manifest, and the exact text of every subtitle file. Checks on the
    way that every file matches its manifest."""
    snapshot: dict[str, dict[str, Any]] = {}
    folder = out / series
    for link in sorted(folder.iterdir()) if folder.is_dir() else []:
        if link.name.startswith("."):
            continue
        assert link.is_symlink(), f"{link} is visible but not a published (switched) folder"
        assert check_published(link) == [], f"{link} is half-written: {check_published(link)}"
        manifest = read_manifest(link)
        assert manifest is not None
        files = sorted((f["path"], f["kind"], f["language"]) for f in manifest["files"])
        subtitles = {
            f["path"]: (link / f["path"]).read_text(encoding="utf-8")
            for f in manifest["files"]
            if f["kind"] == "subtitles"
        }
        snapshot[link.name] = {
            "version": link.resolve().name,
            "manifest": manifest,
            "files": files,
            "subtitles": subtitles,
        }
    return snapshot


def state_records(out: Path) -> dict[str, Any]:
    path = out / ".catalog" / "state.json"
    if not path.is_file():
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:  # never half-written (atomic rename), but be safe while polling
        return {}
    return dict(data.get("episodes", {}))
