"""Tiny, randomly initialised seq2seq checkpoints built at test time (no downloads).

Each family gets a real sentencepiece model trained on a few hundred generated lines, the
family's real transformers tokenizer class, and a 1-layer, 32-wide model saved with
``save_pretrained`` in the same layout as the published checkpoints. Translations are
gibberish, but the same gibberish from every runtime, which is what the tests compare.
"""

from __future__ import annotations

import json
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from localize.models import ModelStore

HAN = (
    "我你他她是的了不在有人这中大来上个们到说时要就出会可也好着天下过子得么能和对那都还里后"
    "以自之家生年看去而于事多为又想开手知理用心现成方前所日总裁婚约老公婆顾言深林晚"
)
EN = (
    "the a to of and is you I he she it we they not in on at for with this that be was are "
    "have do go come see know want love contract wife husband CEO marry"
)

#: what every tiny model shares; init_std is large so greedy choices are never near-ties
#: that float rounding could tip differently in the two runtimes
TINY: dict[str, Any] = {
    "d_model": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "max_position_embeddings": 128,
    "init_std": 0.3,
}


def _corpus() -> list[str]:
    rng = random.Random(0)
    words = EN.split()
    lines = []
    for _ in range(300):
        lines.append("".join(rng.choice(HAN) for _ in range(rng.randint(3, 12))) + "。")
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) + ".")
    return lines


def _train_spm(out: Path, name: str, **ids: Any) -> Path:
    import sentencepiece as spm

    prefix = out / "_spm"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus()),
        model_prefix=str(prefix),
        vocab_size=300,
        character_coverage=1.0,  # keep every Han character: Chinese has no spaces to lean on
        model_type="unigram",
        minloglevel=2,
        **ids,
    )
    target = out / name
    shutil.move(f"{prefix}.model", target)
    Path(f"{prefix}.vocab").unlink()
    return target


def _save(model: Any, out: Path) -> Path:
    model.eval()
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def marian_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multi-target opus-mt-style model: zh -> >>eng<< / >>spa<< / >>ind<<."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out = tmp_path_factory.mktemp("tiny-opus-mt-zh-mul")
    # opus-mt layout: </s>=0, <unk>=1, pieces, language tokens, <pad> last
    source = _train_spm(out, "source.spm", eos_id=0, unk_id=1, bos_id=-1, pad_id=-1)
    shutil.copy(source, out / "target.spm")
    sp = spm.SentencePieceProcessor(model_file=str(source))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    for token in (">>eng<<", ">>spa<<", ">>ind<<", "<pad>"):
        vocab[token] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with warnings.catch_warnings():  # "pip install sacremoses": not needed here
        warnings.simplefilter("ignore", UserWarning)
        tokenizer = MarianTokenizer(
            source_spm=str(source),
            target_spm=str(out / "target.spm"),
            vocab=str(out / "vocab.json"),
            source_lang="zh",
            target_lang="mul",
        )
    tokenizer.save_pretrained(out)
    pad = vocab["<pad>"]
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=len(vocab),
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        # transformers forces </s> at the length limit and CTranslate2 does not; random
        # weights always reach the limit, so leave the rule out of the comparison
        forced_eos_token_id=None,
        **TINY,
    )
    return _save(MarianMTModel(config), out)


@pytest.fixture(scope="session")
def m2m100_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An M2M100-style model: fairseq vocabulary, ``__zh__`` tokens, 8 made-up words."""
    import sentencepiece as spm
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    out = tmp_path_factory.mktemp("tiny-m2m100")
    model_file = _train_spm(out, "sentencepiece.bpe.model", unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(3, sp.get_piece_size()):
        vocab[sp.id_to_piece(i)] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(out / "vocab.json"), spm_file=str(model_file), src_lang="zh"
    )
    tokenizer.save_pretrained(out)
    torch.manual_seed(1)
    config = M2M100Config(
        vocab_size=len(vocab) + len(tokenizer.lang_code_to_id) + tokenizer.num_madeup_words,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **TINY,
    )
    return _save(M2M100ForConditionalGeneration(config), out)


@pytest.fixture(scope="session")
def nllb_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NLLB-200-style model: M2M100 weights, NllbTokenizer with ``zho_Hans`` codes."""
    import torch
    from transformers import AutoTokenizer, M2M100Config, M2M100ForConditionalGeneration
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    out = tmp_path_factory.mktemp("tiny-nllb-200")
    _train_spm(out, "sentencepiece.bpe.model", unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    (out / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "NllbTokenizer", "src_lang": "zho_Hans"})
    )
    tokenizer = AutoTokenizer.from_pretrained(out)  # builds tokenizer.json from the spm model
    tokenizer.add_tokens(list(FAIRSEQ_LANGUAGE_CODES), special_tokens=True)
    tokenizer.save_pretrained(out)
    torch.manual_seed(2)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **TINY,
    )
    config.tokenizer_class = "NllbTokenizer"  # as in the published config.json
    return _save(M2M100ForConditionalGeneration(config), out)


@pytest.fixture(scope="session")
def checkpoints(
    marian_checkpoint: Path, m2m100_checkpoint: Path, nllb_checkpoint: Path
) -> dict[str, Path]:
    return {"marian": marian_checkpoint, "m2m100": m2m100_checkpoint, "nllb": nllb_checkpoint}


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """One store (and CTranslate2 cache) for tests that need not watch conversions happen."""
    return ModelStore(root=tmp_path_factory.mktemp("localize-home") / "models")


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    """A fresh, empty store: its CTranslate2 cache is ``tmp_path / "ct2-cache"``."""
    return ModelStore(root=tmp_path / "models")
