"""``localize demo``: the whole subtitle job on the bundled sample episode, review off."""

from __future__ import annotations

from pathlib import Path

from flows.episode import EpisodeResult, localize_episode
from flows.params import EpisodeParams
from flows.results import with_guarded_results
from localize import progress
from localize.sample import build_sample_episode

SAMPLE_SERIES = "ceo-contract-bride"


def run_demo(
    out: Path, *, mt_backend: str = "llm", dub: bool = False, pictures: bool = True
) -> EpisodeResult:
    """Generate the sample episode under ``out/sample`` and localize it into English.

    With ``dub`` the English track is also dubbed (piper) over the sample's music stem.
    With ``pictures`` (default) it also publishes the picture without the burned-in
    Chinese captions (``episode.clean.mp4``) and with the English burned in.
    """
    with progress.stage("sample", job="demo"):
        sample = build_sample_episode(out / "sample")
    params = EpisodeParams(
        video=str(sample.video),
        series=SAMPLE_SERIES,
        targets=["en"],
        review=False,
        out_dir=str(out / "episode"),
        mt_backend=mt_backend,  # type: ignore[arg-type]
        dub=["en"] if dub else [],
        music_stem=str(sample.music) if dub else None,
        clean="inpaint" if pictures else "none",
        burn=["en"] if pictures else [],
        # a showcase, not a delivery: its outputs (report.html included) are for looking
        # at, so QC errors do not hold it (docs/robustness.md, "Trust: the QC gate")
        on_qc_errors="publish",
    )
    with progress.job("demo"):  # the episode's stages follow the sample's on one bar
        progress.begin("start", until_next=True)  # Prefect, until the flow's first stage
        return with_guarded_results(localize_episode)(params)
