"""The QC precision benchmark on the sample episode, with real OCR and real Whisper."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from localize.sample import SampleEpisode


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    import bench.qc_precision as qc_precision

    monkeypatch.setattr(qc_precision, "WORK", tmp_path / "work")
    return qc_precision


def test_sample_meets_the_qc_targets_and_whisper_echoes_no_prompt(
    episode: SampleEpisode, bench: Any
) -> None:
    """`localize demo`'s episode: Whisper used to echo 苏曼、陈秘书、顾总。 from its prompt at
    0:40, and QC flagged 5 of 18 clear captions `source-conflict`."""
    from localize.pipeline import asr_options
    from localize.transcribe import is_prompt_echo, prompt_terms

    _, speech = bench._recognise(episode.video, "whisper-base", "ceo-contract-bride")
    from localize.glossary import load_glossary
    from localize.series import resolve_glossary_path

    prompt = asr_options(load_glossary(resolve_glossary_path("ceo-contract-bride"))).initial_prompt
    terms = prompt_terms(prompt)
    assert not [c.text for c in speech[0].cues if is_prompt_echo(c.text, terms)]
    name_lists = [f"{a}、{b}" for a, b in permutations(terms, 2)]
    assert not [c.text for c in speech[0].cues if any(n in c.text for n in name_lists)]

    row = bench.run_episode(episode.directory, series="ceo-contract-bride", split_every=3)
    assert row["cer_fused"] <= row["cer_ocr"]
    assert bench.targets([row]) == dict.fromkeys(bench.targets([row]), True)
    on = row["runs"]["on"]
    assert on["source_conflicts"] == 0 and on["repairs"] > 0  # the split captions joined
    refused = bench.run_episode(episode.directory, series="ceo-contract-bride", asr="none")
    assert refused["runs"]["on"]["source_conflicts"] == 0
