"""Seq2seq backends on tiny random Marian / M2M100 / NLLB checkpoints built by conftest.

The central check is parity: CTranslate2's greedy output equals transformers' greedy output
for the same checkpoint and lines. Random weights give gibberish, but identical gibberish
only if tokenisation, language tokens, decoding and the conversion all agree.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

from localize import seq2seq_convert
from localize.errors import ModelError, TranslationError
from localize.models import ModelStore
from localize.seq2seq_convert import CONVERSION_RECORD, checkpoint_hash
from localize.translate import create_translator
from localize.translate.seq2seq import (
    LANGUAGE_CODES,
    CT2Seq2SeqTranslator,
    ModelLanguages,
    Seq2SeqGlue,
    TransformersSeq2SeqTranslator,
    detect_family,
    model_language,
)

LINES = ["我是你的老公。", "总裁，我们离婚吧！", "", "顾言深\n林晚", "他们在家吗？"]
FAMILIES = ["marian", "m2m100", "nllb"]
#: greedy, short, and float32 end to end so the two runtimes compute the same numbers
PARITY: dict[str, Any] = {"beam_size": 1, "max_decoding_length": 12}


# ------------------------------------------------------------------------- language table

OURS = ["zh-Hans", "zh-Hant", "en", "es", "pt-BR", "id", "vi", "th", "ja", "ko"]
NLLB = ["zho_Hans", "zho_Hant", "eng_Latn", "spa_Latn", "por_Latn"]
NLLB += ["ind_Latn", "vie_Latn", "tha_Thai", "jpn_Jpan", "kor_Hang"]
M2M100 = ["zh", "zh", "en", "es", "pt", "id", "vi", "th", "ja", "ko"]
MARIAN = ["cmn_Hans", "cmn_Hant", "eng", "spa", "por", "ind", "vie", "tha", "jpn", "kor"]


TABLE_ROWS = list(zip(OURS, NLLB, M2M100, MARIAN, strict=True))


@pytest.mark.parametrize(("code", "nllb", "m2m100", "marian"), TABLE_ROWS)
def test_language_table_maps_each_of_our_codes(
    code: str, nllb: str, m2m100: str, marian: str
) -> None:
    assert model_language("nllb", code, set(NLLB)) == nllb
    assert model_language("m2m100", code, set(M2M100)) == m2m100
    assert model_language("marian", code, set(MARIAN)) == marian
    assert set(LANGUAGE_CODES[code]) == {"marian", "nllb", "m2m100"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh", "zho_Hans"),
        ("zh-CN", "zho_Hans"),
        ("zh-TW", "zho_Hant"),
        ("zh-Hant-HK", "zho_Hant"),
        ("pt", "por_Latn"),
        ("pt-PT", "por_Latn"),
        ("en-US", "eng_Latn"),
        ("es-419", "spa_Latn"),
        ("fra_Latn", "fra_Latn"),  # the model's own code passes through
    ],
)
def test_regional_variants_aliases_and_native_codes(code: str, expected: str) -> None:
    assert model_language("nllb", code, {*NLLB, "fra_Latn"}) == expected


def test_marian_prefers_the_most_specific_token() -> None:
    assert model_language("marian", "pt-BR", {"por", "pt_br"}) == "pt_br"
    assert model_language("marian", "pt-BR", {"por"}) == "por"
    assert model_language("marian", "zh-Hant", {"cmn_Hans", "cmn_Hant"}) == "cmn_Hant"


def test_unsupported_code_names_what_the_model_supports() -> None:
    with pytest.raises(TranslationError) as info:
        model_language("nllb", "tlh", {"eng_Latn", "spa_Latn"}, model="tiny", role="target")
    err = info.value
    assert "tiny" in err.message and "'tlh'" in err.message and "target" in err.message
    assert "en, es" in err.hint and "eng_Latn, spa_Latn" in err.hint
    assert pickle.loads(pickle.dumps(err)).hint == err.hint


def test_single_pair_marian_checks_recorded_languages() -> None:
    zh_en = ModelLanguages("marian", source="zh", target="en")
    assert zh_en.resolve("zh-Hans", "en") == (None, None)
    assert zh_en.resolve("zh-Hant", "en-GB") == (None, None)
    assert zh_en.ours() == ["en"]
    with pytest.raises(TranslationError, match="into 'en' only") as info:
        zh_en.resolve("zh-Hans", "es")
    assert "opus-mt-zh-es" in info.value.hint
    with pytest.raises(TranslationError, match="from 'zh'"):
        zh_en.resolve("ja", "en")


def test_marian_group_names_are_not_checked() -> None:
    # opus-mt-mul-en and friends record group names; only the tokens can be checked then
    assert ModelLanguages("marian", source="mul", target="en").resolve("th", "en") == (None, None)
    multi = ModelLanguages("marian", frozenset({"spa", "ind"}), source="zh", target="mul")
    assert multi.resolve("zh-Hans", "id") == (None, "ind")
    with pytest.raises(TranslationError) as info:
        multi.resolve("zh-Hans", "en")
    assert "es, id" in info.value.hint


# ----------------------------------------------------------------------------- families


@pytest.mark.parametrize("family", FAMILIES)
def test_detect_family(family: str, checkpoints: dict[str, Path]) -> None:
    assert detect_family(checkpoints[family]) == family


def test_detect_family_tells_nllb_from_m2m100_by_its_language_tokens(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "m2m_100"}))
    assert detect_family(tmp_path) == "m2m100"
    (tmp_path / "special_tokens_map.json").write_text(
        json.dumps({"additional_special_tokens": ["ace_Arab", "eng_Latn"]})
    )
    assert detect_family(tmp_path) == "nllb"


def test_detect_family_rejects_other_models(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelError, match="model_type 'bert'") as info:
        detect_family(tmp_path)
    assert "Marian" in info.value.hint


@pytest.mark.parametrize(
    ("family", "first_token", "target_token"),
    [("marian", ">>spa<<", None), ("m2m100", "__zh__", "__es__"), ("nllb", "zho_Hans", "spa_Latn")],
)
def test_glue_places_language_tokens(
    family: str, first_token: str, target_token: str | None, checkpoints: dict[str, Path]
) -> None:
    glue = Seq2SeqGlue.load(checkpoints[family], family)  # type: ignore[arg-type]
    plan = glue.plan("zh-Hans", "es")
    [tokens] = glue.source_tokens(glue.source_texts(["我是你的老公。"], plan))
    assert tokens[0] == first_token
    assert tokens[-1] == "</s>"
    assert "我" in "".join(tokens)
    assert plan.target_token == target_token


def test_glue_decode_drops_language_tokens(checkpoints: dict[str, Path]) -> None:
    glue = Seq2SeqGlue.load(checkpoints["m2m100"], "m2m100")
    ids = glue.tokenizer.convert_tokens_to_ids(["</s>", "__es__", "▁he"])
    assert glue.decode(ids) == "he"


# --------------------------------------------------------------------------- CTranslate2


def test_ct2_converts_once_then_reuses_the_cache(
    marian_checkpoint: Path, store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = CT2Seq2SeqTranslator(str(marian_checkpoint), store=store)
    cache = store.root.parent / "ct2-cache"
    assert first.converted
    assert first.model_dir.parent == cache
    assert first.model_dir.name.endswith("-int8")
    record = json.loads((first.model_dir / CONVERSION_RECORD).read_text())
    assert record["family"] == "marian" and record["quantization"] == "int8"
    assert record["checkpoint_sha256"] == checkpoint_hash(marian_checkpoint)
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == [
        first.model_dir.name
    ]  # no temporary folder left behind

    def no_second_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(seq2seq_convert, "_run_converter", no_second_conversion)
    second = CT2Seq2SeqTranslator(str(marian_checkpoint), store=store)
    assert not second.converted
    assert second.model_dir == first.model_dir
    line = ["我们离婚吧"]
    assert second.translate(line, source="zh-Hans", target="es") == first.translate(
        line, source="zh-Hans", target="es"
    )


def test_ct2_computes_on_the_runs_threads_not_the_cores(
    marian_checkpoint: Path, shared_store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 64-core worker loads the model with the run's thread count (default 2), so it
    computes like every other worker (see localize.numerics)."""
    import os

    import ctranslate2

    built: list[dict[str, Any]] = []
    real = ctranslate2.Translator

    def record(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr(ctranslate2, "Translator", record)
    default = CT2Seq2SeqTranslator(str(marian_checkpoint), store=shared_store)
    CT2Seq2SeqTranslator(str(marian_checkpoint), store=shared_store, threads=1)
    assert [(kw["intra_threads"], kw["inter_threads"]) for kw in built] == [(2, 1), (1, 1)]
    assert default.numerics.threads == 2 and default.numerics.compute_type == "int8"


@pytest.mark.parametrize("family", FAMILIES)
def test_ct2_returns_one_line_per_input_in_order(
    family: str, checkpoints: dict[str, Path], shared_store: ModelStore
) -> None:
    ref = str(checkpoints[family])
    translator = CT2Seq2SeqTranslator(ref, store=shared_store, beam_size=2)
    assert translator.model_id == f"ct2-seq2seq:{ref}:int8"
    assert translator.follows_instructions is False
    out = translator.translate(LINES, source="zh-Hans", target="es")
    assert len(out) == len(LINES)
    assert all(isinstance(text, str) for text in out)
    assert out[2] == ""
    backwards = translator.translate(LINES[::-1], source="zh-Hans", target="es")
    assert backwards == out[::-1]
    assert translator.translate([], source="zh-Hans", target="es") == []
    assert translator.translate(["", " "], source="zh-Hans", target="es") == ["", ""]


@pytest.mark.parametrize("target", ["es", "en"])
@pytest.mark.parametrize("family", FAMILIES)
def test_ct2_output_equals_transformers_greedy_output(
    family: str, target: str, checkpoints: dict[str, Path], shared_store: ModelStore
) -> None:
    ref = str(checkpoints[family])
    fast = CT2Seq2SeqTranslator(
        ref, store=shared_store, quantization="float32", compute_type="float32", **PARITY
    )
    reference = TransformersSeq2SeqTranslator(ref, store=shared_store, **PARITY)
    expected = reference.translate(LINES, source="zh-Hans", target=target)
    assert fast.translate(LINES, source="zh-Hans", target=target) == expected
    assert expected[2] == ""
    assert any(expected)  # something was decoded, not just special tokens


@pytest.mark.parametrize("family", FAMILIES)
def test_target_language_reaches_the_model(
    family: str, checkpoints: dict[str, Path], shared_store: ModelStore
) -> None:
    translator = CT2Seq2SeqTranslator(
        str(checkpoints[family]),
        store=shared_store,
        quantization="float32",
        compute_type="float32",
        **PARITY,
    )
    spanish = translator.translate(LINES, source="zh-Hans", target="es")
    english = translator.translate(LINES, source="zh-Hans", target="en")
    assert spanish != english


def test_a_ct2_folder_can_be_used_directly(
    nllb_checkpoint: Path, shared_store: ModelStore, tmp_path: Path
) -> None:
    kwargs: dict[str, Any] = {"quantization": "float32", "compute_type": "float32", **PARITY}
    converted = CT2Seq2SeqTranslator(str(nllb_checkpoint), store=shared_store, **kwargs)
    direct = CT2Seq2SeqTranslator(str(converted.model_dir), store=shared_store, **kwargs)
    assert not direct.converted and direct.family == "nllb"
    expected = converted.translate(LINES, source="zh-Hans", target="es")
    assert direct.translate(LINES, source="zh-Hans", target="es") == expected

    # a bare conversion (no record, no tokenizer files) needs the tokenizer pointed out
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("model.bin", "config.json", "shared_vocabulary.json"):
        shutil.copy(converted.model_dir / name, bare / name)
    with pytest.raises(ModelError, match="not a supported seq2seq"):
        CT2Seq2SeqTranslator(str(bare), store=shared_store, **kwargs)
    pointed = CT2Seq2SeqTranslator(
        str(bare), store=shared_store, tokenizer=str(nllb_checkpoint), **kwargs
    )
    assert pointed.translate(LINES, source="zh-Hans", target="es") == expected


def test_unsupported_pairs_raise_translation_errors(
    marian_checkpoint: Path, nllb_checkpoint: Path, shared_store: ModelStore
) -> None:
    marian = CT2Seq2SeqTranslator(str(marian_checkpoint), store=shared_store)
    with pytest.raises(TranslationError) as info:
        marian.translate(["你好"], source="zh-Hans", target="th")
    assert "'th'" in info.value.message
    assert "en, es, id" in info.value.hint
    with pytest.raises(TranslationError, match="from 'zh'"):
        marian.translate(["hello"], source="en", target="es")
    nllb = CT2Seq2SeqTranslator(str(nllb_checkpoint), store=shared_store)
    with pytest.raises(TranslationError, match="'tlh'") as info:
        nllb.translate(["你好"], source="zh-Hans", target="tlh")
    assert "zh-Hans, zh-Hant, en, es, pt-BR, id, vi, th, ja, ko" in info.value.hint


def test_registry_builds_both_backends(marian_checkpoint: Path, shared_store: ModelStore) -> None:
    ct2 = create_translator("ct2-seq2seq", model=str(marian_checkpoint), store=shared_store)
    hf = create_translator(
        "transformers-seq2seq", model=str(marian_checkpoint), store=shared_store, **PARITY
    )
    assert isinstance(ct2, CT2Seq2SeqTranslator)
    assert isinstance(hf, TransformersSeq2SeqTranslator)
    assert hf.model_id == f"transformers-seq2seq:{marian_checkpoint}:float32"
    assert hf.follows_instructions is False
    assert len(hf.translate(LINES, source="zh-Hans", target="id")) == len(LINES)


def test_model_reference_errors(
    marian_checkpoint: Path, shared_store: ModelStore, tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        CT2Seq2SeqTranslator(str(tmp_path / "missing"), store=shared_store)
    converted = CT2Seq2SeqTranslator(str(marian_checkpoint), store=shared_store)
    with pytest.raises(ModelError, match="CTranslate2 model") as info:
        TransformersSeq2SeqTranslator(str(converted.model_dir), store=shared_store)
    assert "ct2-seq2seq" in info.value.hint


def test_checkpoint_hash_follows_content(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights.bin").write_bytes(b"\x00" * 10)
    memo = tmp_path / "memo"
    first = checkpoint_hash(folder, memo_dir=memo)
    assert checkpoint_hash(folder, memo_dir=memo) == first == checkpoint_hash(folder)
    (folder / "weights.bin").write_bytes(b"\x01" * 11)
    assert checkpoint_hash(folder, memo_dir=memo) != first
