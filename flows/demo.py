"""``localize demo``: the whole subtitle job on the bundled sample episode, review off."""

from __future__ import annotations

from pathlib import Path

from flows.episode import EpisodeResult, localize_episode
from flows.params import EpisodeParams
from localize.sample import build_sample_episode

SAMPLE_SERIES = "ceo-contract-bride"


def run_demo(out: Path, *, mt_backend: str = "llm") -> EpisodeResult:
    """Generate the sample episode under ``out/sample`` and localize it into English."""
    sample = build_sample_episode(out / "sample")
    params = EpisodeParams(
        video=str(sample.video),
        series=SAMPLE_SERIES,
        targets=["en"],
        review=False,
        out_dir=str(out / "episode"),
        mt_backend=mt_backend,  # type: ignore[arg-type]
    )
    return localize_episode(params)
