"""Benchmark inputs: sample episodes per seed, trimmed cuts and long concatenations.

Everything is generated (``localize sample`` with a seed: same script, different timings)
and cached under the benchmark's work folder, so a re-run does not regenerate it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from localize.errors import LocalizeError


class BenchInputError(LocalizeError):
    """A benchmark input could not be generated."""


def sample_dir(work: Path, seed: int) -> Path:
    return work / "samples" / f"seed-{seed}"


def sample_episode(work: Path, seed: int) -> Path:
    """The sample episode generated with ``seed`` (built once, then reused)."""
    folder = sample_dir(work, seed)
    video = folder / "episode.mp4"
    if not (video.is_file() and (folder / "ground_truth.json").is_file()):
        from localize.sample import build_sample_episode

        build_sample_episode(folder, seed=seed)
    return video


def duration_s(video: Path) -> float:
    """Container duration in seconds (ffprobe)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(video)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        return round(float(json.loads(out.stdout)["format"]["duration"]), 2)
    except (KeyError, ValueError, json.JSONDecodeError):
        raise BenchInputError(
            f"cannot read the duration of {video}: {out.stderr.strip()[:300]}",
            "delete the benchmark work folder's inputs and run again",
        ) from None


def _ffmpeg(args: list[str], what: str) -> None:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchInputError(
            f"ffmpeg failed {what}: {proc.stderr.strip()[-500:]}",
            "check that ffmpeg is installed (scripts/setup.sh) and the disk is not full",
        )


def trimmed(video: Path, seconds: float, out: Path) -> Path:
    """The first ``seconds`` of ``video`` (streams copied, so cut at a packet)."""
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.mp4")
    _ffmpeg(["-i", str(video), "-t", f"{seconds:.3f}", "-c", "copy", str(tmp)], f"cutting {video}")
    tmp.replace(out)
    return out


def concatenated(videos: list[Path], seconds: float, out: Path) -> Path:
    """``videos`` one after another (same codecs: streams copied), cut to ``seconds``."""
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    listing = out.with_name(f".{out.stem}.ffconcat")
    lines = ["ffconcat version 1.0"]
    for video in videos:
        escaped = str(video.resolve()).replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp = out.with_name(f".{out.name}.tmp.mp4")
    _ffmpeg(
        ["-f", "concat", "-safe", "0", "-i", str(listing), "-t", f"{seconds:.3f}",
         "-c", "copy", "-movflags", "+faststart", str(tmp)],
        f"concatenating {len(videos)} episodes",
    )  # fmt: skip
    tmp.replace(out)
    listing.unlink()
    return out


class LanguageScreen:
    """Would the episode flow's spoken-language check refuse a video?

    The sample's voices are espeak-ng's synthetic Mandarin, which Whisper's language
    detector sometimes takes for Thai with high confidence; the flow then refuses the
    episode (rightly, for real input). Screening finds those seeds before a run, with the
    flow's own check, so every benchmark episode is one the flow accepts. Verdicts are
    cached in ``cache`` by path, size and modification time.
    """

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self._verdicts: dict[str, str] = (
            json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
        )
        self._transcriber: Any = None

    def refusal(self, video: Path) -> str:
        """The flow's reason to refuse ``video``, or "" if it would accept it."""
        st = video.stat()
        key = f"{video.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        if key not in self._verdicts:
            from localize.errors import TranscriptionError
            from localize.media import load_audio
            from localize.transcribe import FasterWhisperTranscriber, check_language

            if self._transcriber is None:
                self._transcriber = FasterWhisperTranscriber("whisper-base")
            probabilities = self._transcriber.language_probabilities(load_audio(video))
            try:
                check_language(probabilities, "zh", video)
                self._verdicts[key] = ""
            except TranscriptionError as exc:
                self._verdicts[key] = exc.message
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            self.cache.write_text(json.dumps(self._verdicts, indent=1), encoding="utf-8")
        return self._verdicts[key]


def episode_inputs(
    work: Path,
    count: int,
    input_seconds: float | None,
    screen: LanguageScreen | None = None,
) -> tuple[list[Path], dict[int, str]]:
    """``count`` distinct episodes (seeds 0, 1, 2...), optionally cut short.

    With ``screen``, seeds the episode flow would refuse are skipped (returned with the
    reason) and the next seeds are used instead.
    """
    videos: list[Path] = []
    skipped: dict[int, str] = {}
    seed = 0
    while len(videos) < count:
        if len(skipped) > 20:
            raise BenchInputError(
                f"{len(skipped)} sample seeds were refused by the language check",
                "run with --no-screen to see the flow refuse them, or check the ASR model",
            )
        video = sample_episode(work, seed)
        if input_seconds:
            cut = work / "cuts" / f"seed-{seed}-{input_seconds:g}s.mp4"
            video = trimmed(video, input_seconds, cut)
        reason = screen.refusal(video) if screen else ""
        if reason:
            skipped[seed] = reason
        else:
            videos.append(video)
        seed += 1
    return videos, skipped


def long_input(work: Path, minutes: float) -> Path:
    """An episode ``minutes`` long: sample episodes of successive seeds end to end."""
    seconds = minutes * 60
    first = sample_episode(work, 0)
    one = duration_s(first)
    if seconds <= one:
        return trimmed(first, seconds, work / "long" / f"{minutes:g}min.mp4")
    count = int(seconds // one) + 1
    videos = [sample_episode(work, seed) for seed in range(count)]
    return concatenated(videos, seconds, work / "long" / f"{minutes:g}min.mp4")


def glossary_copy(glossary: Path, series_id: str, out: Path) -> Path:
    """The glossary with its own series id: its own translation memory and cache keys."""
    text = glossary.read_text(encoding="utf-8")
    marker = '\nid = "'
    at = text.find(marker)
    if at < 0:
        raise BenchInputError(
            f"{glossary} has no [series] id line",
            'the benchmark rewrites the line id = "..." to give each episode its own series',
        )
    end = text.index('"', at + len(marker))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text[: at + len(marker)] + series_id + text[end:], encoding="utf-8")
    return out


def reset(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
