"""GGUF -> CTranslate2 conversion of the translation LLM.

The fast tests build a tiny random Qwen2 model and a tiny byte-level BPE at test time, write
them as a GGUF the way llama.cpp does (same metadata keys, F32 norms and biases, F16 and
Q8_0 matrices), convert it with the real code path and check that CTranslate2 computes the
same logits and greedy tokens as transformers: that proves the tensor mapping, the shape
order and the (absent) Q/K permutation. The slow test converts the packaged 1.5B model.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from localize.errors import ModelError
from localize.llm_convert import CONVERSION_RECORD, convert_gguf_to_ctranslate2

gguf = pytest.importorskip("gguf")

SYSTEM = "You are a professional subtitle translator. Translate Chinese to English."
LINE = "林晚，你签了这份契约，就是我顾言深的妻子。"

# Qwen2's pre-tokenizer split, as in its tokenizer.json
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
PADDING_TOKENS = 3  # llama.cpp pads the vocabulary to the embedding size with [PADn]
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Hugging Face name suffix -> (GGUF name suffix, how llama.cpp-style files store it)
LAYER_TENSORS = {
    "input_layernorm.weight": ("attn_norm.weight", "F32"),
    "post_attention_layernorm.weight": ("ffn_norm.weight", "F32"),
    "self_attn.q_proj.weight": ("attn_q.weight", "F16"),
    "self_attn.q_proj.bias": ("attn_q.bias", "F32"),
    "self_attn.k_proj.weight": ("attn_k.weight", "F16"),
    "self_attn.k_proj.bias": ("attn_k.bias", "F32"),
    "self_attn.v_proj.weight": ("attn_v.weight", "Q8_0"),
    "self_attn.v_proj.bias": ("attn_v.bias", "F32"),
    "self_attn.o_proj.weight": ("attn_output.weight", "F16"),
    "mlp.gate_proj.weight": ("ffn_gate.weight", "Q8_0"),
    "mlp.up_proj.weight": ("ffn_up.weight", "Q8_0"),
    "mlp.down_proj.weight": ("ffn_down.weight", "F16"),
}
GLOBAL_TENSORS = {
    "model.embed_tokens.weight": ("token_embd.weight", "Q8_0"),
    "model.norm.weight": ("output_norm.weight", "F32"),
    "lm_head.weight": ("output.weight", "Q8_0"),
}


def corpus() -> list[str]:
    """A few hundred mixed Chinese/English subtitle-like lines to train the tiny BPE on."""
    names = ["林晚", "顾言深", "苏念", "陆总", "Lin Wan", "Mr. Gu"]
    chinese = ["你签了这份契约", "就是我的妻子", "我们离婚吧", "把她给我带回来", "三年前的那场大火"]
    english = ["signed the contract", "is my wife", "let's get divorced", "bring her back", "fire"]
    lines = []
    for i, name in enumerate(names):
        for j, (zh, en) in enumerate(zip(chinese, english, strict=True)):
            for k in range(10):
                lines.append(f"{name}，{zh}。 {name} {en} ({i}{j}{k})! It's {k + 2000}.")
    return lines


@dataclass
class TinyModel:
    gguf_path: Path
    reference: Any  # transformers Qwen2ForCausalLM holding exactly the weights the GGUF stores
    tokenizer: Any  # the trained tokenizers.Tokenizer, for plain text
    vocabulary: list[str]


def train_tokenizer() -> tuple[Any, list[str], list[str]]:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=420, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(corpus(), trainer)
    vocab = tokenizer.get_vocab()
    tokens = sorted(vocab, key=vocab.__getitem__)
    assert [vocab[token] for token in tokens] == list(range(len(tokens)))
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    return tokenizer, tokens, merges


def stored(array: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """(payload for GGUFWriter, what the converter will read back as float32, raw dtype)."""
    qtype = gguf.GGMLQuantizationType
    if kind == "F32":
        payload = array.astype(np.float32)
        return payload, payload.astype(np.float16).astype(np.float32), None
    if kind == "F16":
        payload = array.astype(np.float16)
        return payload, payload.astype(np.float32), None
    payload = gguf.quants.quantize(array.astype(np.float32), qtype.Q8_0)
    restored = gguf.quants.dequantize(payload, qtype.Q8_0).reshape(array.shape)
    return payload, restored.astype(np.float16).astype(np.float32), qtype.Q8_0


def build_tiny_model(path: Path, *, tie_word_embeddings: bool) -> TinyModel:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer, tokens, merges = train_tokenizer()
    types = [gguf.TokenType.NORMAL] * len(tokens)
    tokens += list(SPECIAL_TOKENS)
    types += [gguf.TokenType.CONTROL] * len(SPECIAL_TOKENS)
    tokens += [f"[PAD{len(tokens) + i}]" for i in range(PADDING_TOKENS)]
    types += [gguf.TokenType.UNUSED] * PADDING_TOKENS
    eos, pad = tokens.index("<|im_end|>"), tokens.index("<|endoftext|>")

    config = Qwen2Config(
        vocab_size=len(tokens),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        rope_theta=1_000_000.0,  # not the default, so a dropped rope_theta shows in the logits
        tie_word_embeddings=tie_word_embeddings,
        bos_token_id=pad,
        eos_token_id=eos,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).eval()

    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_name("tiny-qwen2")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(eos)
    writer.add_pad_token_id(pad)
    writer.add_bos_token_id(pad)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    names = dict(GLOBAL_TENSORS)
    for layer in range(config.num_hidden_layers):
        for suffix, (gguf_suffix, kind) in LAYER_TENSORS.items():
            names[f"model.layers.{layer}.{suffix}"] = (f"blk.{layer}.{gguf_suffix}", kind)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            # random everything (HF starts norms at 1 and biases at 0), so a swapped or
            # dropped tensor changes the logits
            noise = torch.randn(parameter.shape, generator=generator)
            value = 1.0 + 0.2 * noise if "norm" in name else 0.15 * noise
            gguf_name, kind = names[name]
            payload, restored, raw_dtype = stored(value.numpy(), kind)
            writer.add_tensor(gguf_name, payload, raw_dtype=raw_dtype)
            parameter.copy_(torch.from_numpy(restored))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return TinyModel(path, model, tokenizer, tokens)


def chatml(user: str) -> str:
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.fixture(scope="module")
def ct2_stack() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("ctranslate2")


@pytest.mark.parametrize("tie_word_embeddings", [False, True], ids=["output-weight", "tied"])
def test_tiny_qwen2_gguf_converts_with_logit_parity(
    tmp_path: Path, ct2_stack: None, tie_word_embeddings: bool
) -> None:
    import ctranslate2
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tiny = build_tiny_model(tmp_path / "tiny.gguf", tie_word_embeddings=tie_word_embeddings)
    out = convert_gguf_to_ctranslate2(tiny.gguf_path, tmp_path / "ct2", quantization="float32")

    assert out == tmp_path / "ct2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct2", "tiny.gguf"]  # no leftovers
    record = json.loads((out / CONVERSION_RECORD).read_text())
    assert record["quantization"] == "float32"
    assert record["model"] == "tiny-qwen2"
    assert record["source_sha256"] == hashlib.sha256(tiny.gguf_path.read_bytes()).hexdigest()

    # the tokenizer rebuilt from GGUF metadata splits text exactly as the one trained here
    converted = Tokenizer.from_file(str(out / "tokenizer.json"))
    text = "林晚 said: “It's 2024！” 顾言深，签了契约。  Mr. Gu\n"
    assert converted.encode(text).ids == tiny.tokenizer.encode(text).ids
    prompt = chatml(LINE)
    prompt_ids = converted.encode(prompt).ids
    assert prompt_ids.count(tiny.vocabulary.index("<|im_start|>")) == 3
    assert converted.decode(prompt_ids, skip_special_tokens=False) == prompt
    auto = AutoTokenizer.from_pretrained(out, fix_mistral_regex=False)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": LINE}]
    assert auto.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == prompt
    assert auto.eos_token == "<|im_end|>"

    generator = ctranslate2.Generator(str(out), device="cpu", compute_type="float32")
    prompt_tokens = converted.encode(prompt).tokens
    with torch.no_grad():
        expected = tiny.reference(torch.tensor([prompt_ids])).logits[0].numpy()
    logits = np.asarray(generator.forward_batch([prompt_tokens]))[0]
    np.testing.assert_allclose(logits, expected, atol=2e-3, rtol=1e-3)

    steps = 12
    reference_ids: list[int] = []
    ids = list(prompt_ids)
    with torch.no_grad():
        for _ in range(steps):
            next_id = int(tiny.reference(torch.tensor([ids])).logits[0, -1].argmax())
            if next_id == tiny.vocabulary.index("<|im_end|>"):
                break
            reference_ids.append(next_id)
            ids.append(next_id)
    result = generator.generate_batch(
        [prompt_tokens], max_length=steps, sampling_topk=1, include_prompt_in_result=False
    )[0]
    assert result.sequences_ids[0] == reference_ids
    assert len(reference_ids) > 3


def test_reconverting_replaces_an_earlier_conversion(tmp_path: Path, ct2_stack: None) -> None:
    tiny = build_tiny_model(tmp_path / "tiny.gguf", tie_word_embeddings=True)
    out = tmp_path / "ct2"
    convert_gguf_to_ctranslate2(tiny.gguf_path, out, quantization="float32")
    convert_gguf_to_ctranslate2(tiny.gguf_path, out, quantization="int8")
    assert json.loads((out / CONVERSION_RECORD).read_text())["quantization"] == "int8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct2", "tiny.gguf"]


def write_metadata_only_gguf(path: Path, architecture: str) -> Path:
    writer = gguf.GGUFWriter(path, architecture)
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_other_architecture_is_refused_with_the_supported_list(tmp_path: Path) -> None:
    path = write_metadata_only_gguf(tmp_path / "llama.gguf", "llama")
    with pytest.raises(ModelError, match=r"only these architectures.*qwen2") as info:
        convert_gguf_to_ctranslate2(path, tmp_path / "out")
    assert info.value.model == str(path)
    assert not (tmp_path / "out").exists()
    assert pickle.loads(pickle.dumps(info.value)).message == info.value.message


def test_missing_file_and_non_gguf_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        convert_gguf_to_ctranslate2(tmp_path / "absent.gguf", tmp_path / "out")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ModelError, match="not a readable GGUF"):
        convert_gguf_to_ctranslate2(junk, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.gguf"]


def test_unknown_quantization_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="int8_float16"):
        convert_gguf_to_ctranslate2(tmp_path / "x.gguf", tmp_path / "out", quantization="q4")


def test_unrelated_output_directory_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    source = write_metadata_only_gguf(tmp_path / "x.gguf", "qwen2")
    with pytest.raises(ModelError, match="not a model converted by localize"):
        convert_gguf_to_ctranslate2(source, tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_undequantisable_tensor_type_is_named(
    tmp_path: Path, ct2_stack: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = build_tiny_model(tmp_path / "tiny.gguf", tie_word_embeddings=True)
    real = gguf.quants.dequantize

    def no_q8_0(data: np.ndarray, qtype: Any) -> np.ndarray:
        if qtype == gguf.GGMLQuantizationType.Q8_0:
            raise NotImplementedError("Dequantization for Q8_0 is not yet implemented")
        return real(data, qtype)

    monkeypatch.setattr(gguf.quants, "dequantize", no_q8_0)
    with pytest.raises(ModelError, match="as Q8_0, which the installed gguf package"):
        convert_gguf_to_ctranslate2(tiny.gguf_path, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.gguf"]


@pytest.mark.slow
def test_packaged_qwen_gguf_translates(tmp_path: Path) -> None:
    """Converts the real 1.5B model (~80 s, ~6 GB peak) and translates one line.

    The GGUF is the packaged one from the model store (scripts/setup.sh prepares it), or
    the file named by LOCALIZE_TEST_QWEN_GGUF.
    """
    from localize.models import ModelStore

    source = os.environ.get("LOCALIZE_TEST_QWEN_GGUF") or str(
        ModelStore().resolve("qwen2.5-coder-1.5b-instruct-gguf")
        / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    )
    import ctranslate2
    from tokenizers import Tokenizer

    out = convert_gguf_to_ctranslate2(Path(source), tmp_path / "qwen-ct2")
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    generator = ctranslate2.Generator(str(out), device="cpu", compute_type="int8")
    result = generator.generate_batch(
        [tokenizer.encode(chatml(LINE)).tokens],
        max_length=64,
        sampling_topk=1,
        include_prompt_in_result=False,
        end_token=["<|im_end|>", "<|endoftext|>"],
    )[0]
    english = tokenizer.decode(result.sequences_ids[0])
    assert "Lin Wan" in english or "contract" in english, english
