"""The episode flow's picture option: a clean master and burned-in renditions published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localize.sample import SampleEpisode

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]


def test_clean_and_burn_publish_videos(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a font that lacks the language's letters (a Thai font for English) that
    language is not burned and QC says why (missing-glyph); with a font that has the
    characters it is published."""
    import localize.picture.burn as burn
    from flows.episode import localize_episode
    from flows.params import EpisodeParams
    from localize.media import probe
    from tests.media_helpers import cut_clip

    clip = cut_clip(episode.video, tmp_path / "ep09.mp4", 10)
    out = tmp_path / "out"
    params = EpisodeParams(
        video=str(clip),
        series="ceo-contract-bride",
        targets=["en"],
        review=False,
        out_dir=str(out),
        mt_backend="fake",
        on_qc_errors="publish",  # the fake translator's lines are QC errors
        source="ocr",
        clean="box",
        burn=["en"],
    )
    # a font without Latin letters: English cannot be burned with it
    monkeypatch.setitem(burn.DEFAULT_FONTS, "*", ("Noto Sans Thai",))
    localize_episode(params)
    files = {f["path"]: f for f in json.loads((out / "manifest.json").read_text())["files"]}
    assert files["ep09.clean.mp4"]["kind"] == "video"
    assert "ep09.en.burned.mp4" not in files
    qc = json.loads((out / "qc.json").read_text())
    assert "missing-glyph" in json.dumps(qc)

    monkeypatch.setitem(burn.DEFAULT_FONTS, "*", ("WenQuanYi Zen Hei",))
    localize_episode(params)
    files = {f["path"]: f for f in json.loads((out / "manifest.json").read_text())["files"]}
    assert files["ep09.en.burned.mp4"]["kind"] == "video"
    assert files["ep09.en.burned.mp4"]["language"] == "en"
    # the manifest says how each picture was made: the burn style chosen for the language
    made = {
        p["file"]: p["made"] for p in json.loads((out / "manifest.json").read_text())["pictures"]
    }
    assert made["ep09.en.burned.mp4"].startswith(("outline (auto", "box (auto"))
    assert made["ep09.clean.mp4"].startswith("box, x264 CRF ")
    # read back with OCR: the box leaves no Chinese caption readable
    assert "residual-caption" not in (out / "qc.json").read_text()
    for name in ("ep09.clean.mp4", "ep09.en.burned.mp4"):
        info = probe(out / name)
        assert info.has_audio and abs(info.duration_ms - probe(clip).duration_ms) < 100


def test_burn_languages_must_be_targets() -> None:
    from pydantic import ValidationError

    from flows.params import EpisodeParams

    with pytest.raises(ValidationError, match="burn languages"):
        EpisodeParams(video="v.mp4", series="s", targets=["en"], burn=["es"])
