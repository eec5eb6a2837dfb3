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


def make_catalog(
    root: Path, episodes: dict[str, Path], *, series: str = "ceo", run: str = ""
) -> Path:
    """A catalog of one series; ``run`` adds lines to its series.toml [run] table."""
    folder = root / series
    (folder / "episodes").mkdir(parents=True)
    shutil.copyfile(GLOSSARY, folder / "glossary.toml")
    # the fake translator leaves Chinese in place, which QC flags: publish anyway (the
    # QC gate's own tests hold)
    settings = '[run]\ntargets = ["en"]\nsource = "asr"\non_qc_errors = "publish"\n'
    (folder / "series.toml").write_text(settings + run)
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


def spoken_text(out: Path, episode: str, series: str = "ceo") -> str:
    """The published Chinese subtitles of one episode as one string."""
    from localize.subtitles import read_subtitles

    track = read_subtitles(out / series / episode / f"{episode}.zh-Hans.srt", language="zh-Hans")
    return "".join(cue.text for cue in track.cues)


class EnergyTranscriber:
    """A stand-in for Whisper whose output is the same on every CPU, thread count and
    process: one numbered line per loud stretch of the audio (100 ms frames). Built like
    the real backend (``model``, ``store``, ``device``, ``cpu_threads``), so the model pool
    and the manifest's numerics treat it the same way."""

    model_id = "energy"

    def __init__(self, model: str = "", *, cpu_threads: int = 2, **_: object) -> None:
        self.numerics = self.plan_numerics(cpu_threads)

    @staticmethod
    def plan_numerics(threads: int = 2, device: str = "auto") -> Any:
        from localize.numerics import Numerics

        return Numerics(threads, "cpu", "energy")

    def language_probabilities(self, audio: Any) -> dict[str, float]:
        return {"zh": 1.0}

    def transcribe(self, audio: Any, options: Any) -> Any:
        import numpy as np

        from localize.domain import Segment, Transcript

        frames = audio[: audio.size // 1600 * 1600].reshape(-1, 1600)
        loud = (np.sqrt(np.mean(frames * frames, axis=1)) > 0.02).astype(np.int8)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], loud, [0]))))
        segments = tuple(
            Segment(int(a) * 100, int(b) * 100, f"第{i + 1}句台词。")
            for i, (a, b) in enumerate(zip(edges[::2], edges[1::2], strict=True))
            if b - a >= 3  # at least 300 ms
        )
        return Transcript("zh-Hans", round(audio.size / 16), segments, self.model_id)


def use_energy_transcriber() -> None:
    """In this process (a test's, or a Dask worker's via ``client.run``), episode flows
    recognise speech with :class:`EnergyTranscriber` from a fresh model pool."""
    from flows import episode
    from localize.transcribe import TRANSCRIBERS

    TRANSCRIBERS["faster-whisper"] = EnergyTranscriber
    episode._pool.cache_clear()
