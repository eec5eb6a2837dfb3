"""The MT benchmark's reference set and scoring, without a real model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench.mt_quality import (
    DEFAULT_DATA,
    ReferencePair,
    load_pairs,
    main,
    run_benchmark,
    score,
)
from localize.translate.fake import FakeTranslator


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3134F


@pytest.fixture(scope="module")
def pairs() -> list[ReferencePair]:
    return load_pairs(DEFAULT_DATA)


def test_reference_set_is_large_enough_with_unique_ids(pairs: list[ReferencePair]) -> None:
    assert len(pairs) >= 100
    assert len({p.id for p in pairs}) == len(pairs)
    assert len({p.zh for p in pairs}) == len(pairs)


def test_chinese_on_the_left_english_on_the_right(pairs: list[ReferencePair]) -> None:
    for pair in pairs:
        han = sum(_is_han(c) for c in pair.zh)
        assert 6 <= han <= 40, pair
        assert not any(_is_han(c) for c in pair.en), pair
        assert any(c.isascii() and c.isalpha() for c in pair.en), pair


def test_chinese_side_is_simplified(pairs: list[ReferencePair]) -> None:
    import opencc

    converter = opencc.OpenCC("t2s")
    assert [p.zh for p in pairs] == [converter.convert(p.zh) for p in pairs]


def test_reference_file_is_small_and_documented() -> None:
    assert DEFAULT_DATA.stat().st_size < 100_000
    readme = (DEFAULT_DATA.parent / "README.md").read_text(encoding="utf-8")
    assert "CC BY 2.0 FR" in readme and "tatoeba.org" in readme


def test_identical_output_scores_100(pairs: list[ReferencePair]) -> None:
    references = [p.en for p in pairs]
    scores = score(references, references)
    assert scores.bleu == pytest.approx(100.0)
    assert scores.chrf == pytest.approx(100.0)
    assert "nrefs:1" in scores.bleu_signature


def test_shuffled_output_scores_low(pairs: list[ReferencePair]) -> None:
    references = [p.en for p in pairs]
    shuffled = references[:]
    random.Random(7).shuffle(shuffled)
    assert sum(a == b for a, b in zip(shuffled, references, strict=True)) < 5
    scores = score(shuffled, references)
    assert scores.bleu < 15
    assert scores.chrf < 30


def test_score_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        score(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        score([], [])


def test_run_benchmark_with_the_fake_translator(pairs: list[ReferencePair]) -> None:
    subset = pairs[:12]
    fake = FakeTranslator()
    result = run_benchmark(fake, subset, backend="fake")
    assert fake.calls and len(fake.calls) == 1  # the whole set goes in one call
    assert fake.calls[0].lines == tuple(p.zh for p in subset)
    assert result.pairs == 12 and result.model_id == "fake"
    assert 0 <= result.bleu < 20  # word-for-word from a tiny dictionary is poor
    assert [s.reference for s in result.samples] == [p.en for p in subset]


def test_run_benchmark_with_a_perfect_translator(pairs: list[ReferencePair]) -> None:
    subset = pairs[:20]
    oracle = FakeTranslator({p.zh: p.en for p in subset})
    result = run_benchmark(oracle, subset)
    assert result.bleu == pytest.approx(100.0)
    assert result.chrf == pytest.approx(100.0)


def test_run_benchmark_rejects_a_short_batch(pairs: list[ReferencePair]) -> None:
    with pytest.raises(ValueError):
        run_benchmark(FakeTranslator(drop_line_at=0), pairs[:5])


def test_load_pairs_limit_and_malformed_files(tmp_path: Path) -> None:
    assert len(load_pairs(DEFAULT_DATA, limit=3)) == 3
    bad_header = tmp_path / "bad.tsv"
    bad_header.write_text("zh\ten\n你好\thello\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_pairs(bad_header)
    bad_row = tmp_path / "row.tsv"
    bad_row.write_text("id\tzh\ten\nx\t你好\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_pairs(bad_row)


def test_cli_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results" / "mt.json"
    assert main(["--backend", "fake", "--limit", "8", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["pairs"] == 8 and report["model_id"] == "fake"
    assert {"bleu", "chrf", "seconds", "lines_per_second", "samples"} <= report.keys()
    printed = capsys.readouterr().out
    assert "BLEU" in printed and "chrF" in printed
