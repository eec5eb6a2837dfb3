"""Turn a llama.cpp GGUF checkpoint into a CTranslate2 ``Generator`` directory, offline.

The packaged translation LLM ships as a quantised GGUF. CTranslate2 cannot read GGUF, and
transformers' own GGUF loader dequantises everything at once (it peaked at 18 GB here), so
the conversion goes through a Hugging Face checkpoint that is written one tensor at a time::

    GGUF --(gguf.quants.dequantize, row chunks)--> model.safetensors (float16)
         --(GGUF tokenizer metadata)--------------> tokenizer.json, tokenizer_config.json
         --(ctranslate2 TransformersConverter)---> model.bin, config.json, vocabulary.json

Everything is written into a temporary directory beside ``out_dir`` and moved into place
with ``os.replace`` at the end, so an interrupted conversion never leaves a half-written
model behind. ``localize-conversion.json`` in the result records where it came from.

Only the ``qwen2`` architecture (Qwen2 / Qwen2.5 and their Coder variants) is supported.
llama.cpp stores qwen2 attention weights unpermuted (qwen2 uses NeoX-style rotary embeddings,
the layout transformers uses); only the ``llama`` architecture gets llama.cpp's Q/K row
permutation, so none is undone here.

torch, transformers, ctranslate2 and gguf are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, BinaryIO

from localize.errors import ModelError
from localize.fsutil import sha256_file

__all__ = [
    "CONVERSION_RECORD",
    "QUANTIZATIONS",
    "SUPPORTED_ARCHITECTURES",
    "convert_gguf_to_ctranslate2",
    "gguf_to_transformers",
]

logger = logging.getLogger(__name__)

#: written into every converted directory; says what it was converted from and how
CONVERSION_RECORD = "localize-conversion.json"

#: GGUF ``general.architecture`` values this module can convert
SUPPORTED_ARCHITECTURES: tuple[str, ...] = ("qwen2",)

#: CTranslate2 weight types accepted for ``quantization``
QUANTIZATIONS: tuple[str, ...] = (
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)

#: files of the intermediate checkpoint that CTranslate2 copies next to model.bin, so the
#: converted directory carries its own tokenizer (``AutoTokenizer.from_pretrained(out_dir)``)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

#: GGUF tensor name -> Hugging Face Qwen2ForCausalLM parameter name
_GLOBAL_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
#: per-block GGUF suffix (after ``blk.N.``) -> suffix after ``model.layers.N.``
_LAYER_TENSORS = {
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}

#: Qwen2's pre-tokenizer split (``tokenizer.ggml.pre == "qwen2"``), as in its tokenizer.json
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_PRE_TOKENIZER_SPLITS = {"qwen2": _QWEN2_SPLIT}

# llama.cpp token types (tokenizer.ggml.token_type)
_TOKEN_CONTROL = 3
_TOKEN_USER_DEFINED = 4

#: dequantise at most this many values at a time (float32: 64 MiB), bounding peak memory
_CHUNK_VALUES = 16 * 1024 * 1024
_HASH_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class _PlannedTensor:
    """One GGUF tensor and where it goes in the Hugging Face checkpoint."""

    hf_name: str
    shape: tuple[int, ...]  # PyTorch order (GGUF lists dimensions innermost first)
    source: Any  # gguf.ReaderTensor


def convert_gguf_to_ctranslate2(
    gguf_path: Path, out_dir: Path, *, quantization: str = "int8"
) -> Path:
    """Convert a qwen2 GGUF into a CTranslate2 Generator directory and return ``out_dir``.

    ``quantization`` is the CTranslate2 weight type (one of :data:`QUANTIZATIONS`); the
    runtime ``compute_type`` can still differ. The result holds ``model.bin``,
    ``config.json``, ``vocabulary.json``, the tokenizer files and :data:`CONVERSION_RECORD`.
    An existing ``out_dir`` is replaced only if it is an earlier conversion.

    Needs torch and transformers (``pip install 'localize[torch]'``) while converting; the
    converted model only needs ctranslate2 and tokenizers. Peak memory is about that of the
    float16 model loaded once in torch plus its quantised copy (~6 GB for 1.5B parameters).
    """
    gguf_path = Path(gguf_path)
    out_dir = Path(out_dir)
    if quantization not in QUANTIZATIONS:
        raise ModelError(
            f"unknown CTranslate2 quantization {quantization!r}",
            f"use one of: {', '.join(QUANTIZATIONS)}",
            str(gguf_path),
        )
    _require_file(gguf_path)
    _check_replaceable(out_dir, gguf_path)
    _require_conversion_stack(gguf_path)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.converting-", dir=out_dir.parent))
    try:
        started = time.perf_counter()
        hf_dir = work / "hf"
        model_name = _write_transformers_checkpoint(gguf_path, hf_dir)
        dequantised = time.perf_counter()
        ct2_dir = work / "ct2"
        _run_ctranslate2_converter(hf_dir, ct2_dir, quantization, gguf_path)
        shutil.rmtree(hf_dir)
        finished = time.perf_counter()
        record = {
            "source": gguf_path.name,
            "source_bytes": gguf_path.stat().st_size,
            "source_sha256": sha256_file(gguf_path),
            "architecture": "Qwen2ForCausalLM",
            "model": model_name,
            "quantization": quantization,
            "intermediate_dtype": "float16",
            "seconds": {
                "gguf_to_transformers": round(dequantised - started, 1),
                "transformers_to_ctranslate2": round(finished - dequantised, 1),
            },
            "versions": _versions(),
        }
        (ct2_dir / CONVERSION_RECORD).write_text(json.dumps(record, indent=2) + "\n")
        _move_into_place(ct2_dir, out_dir, work)
        logger.info("converted %s -> %s in %.0f s", gguf_path, out_dir, finished - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir


def gguf_to_transformers(gguf_path: Path, hf_dir: Path) -> Path:
    """Write a float16 Hugging Face ``Qwen2ForCausalLM`` checkpoint and tokenizer for a GGUF.

    Weights are dequantised in row chunks and streamed into one ``model.safetensors``, so
    memory stays near the size of one chunk whatever the model size. ``hf_dir`` is created
    (it must not already hold files). Returns ``hf_dir``. Needs only numpy, gguf and
    tokenizers.
    """
    _write_transformers_checkpoint(Path(gguf_path), Path(hf_dir))
    return Path(hf_dir)


def _write_transformers_checkpoint(gguf_path: Path, hf_dir: Path) -> str:
    """:func:`gguf_to_transformers`; returns the GGUF's ``general.name`` for the record."""
    reader = _open_gguf(gguf_path)
    fields = _scalar_fields(reader)
    architecture = _architecture(fields, gguf_path)
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    config = _hf_config(fields, architecture, tensors, gguf_path)
    plan = _plan_tensors(tensors, config["num_hidden_layers"], gguf_path)
    _check_dequantisable(plan, gguf_path)

    hf_dir.mkdir(parents=True, exist_ok=True)
    if any(hf_dir.iterdir()):
        raise ModelError(
            f"{hf_dir} is not empty",
            "give gguf_to_transformers a new or empty directory",
            str(gguf_path),
        )
    (hf_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (hf_dir / "generation_config.json").write_text(
        json.dumps(_generation_config(config), indent=2) + "\n"
    )
    _write_tokenizer(reader, fields, config, hf_dir, gguf_path)
    started = time.perf_counter()
    _write_safetensors(hf_dir / "model.safetensors", plan)
    logger.info(
        "dequantised %d tensors from %s in %.0f s",
        len(plan),
        gguf_path.name,
        time.perf_counter() - started,
    )
    return str(fields.get("general.name", gguf_path.stem))


# --- reading the GGUF ---------------------------------------------------------------------


def _require_file(gguf_path: Path) -> None:
    if not gguf_path.is_file():
        raise ModelError(
            f"GGUF file not found: {gguf_path}",
            "assemble the model first, or pass the path of an existing .gguf file",
            str(gguf_path),
        )


def _open_gguf(gguf_path: Path) -> Any:
    import gguf

    _require_file(gguf_path)
    try:
        return gguf.GGUFReader(gguf_path, "r")
    except (ValueError, OSError, IndexError) as exc:
        raise ModelError(
            f"{gguf_path} is not a readable GGUF file ({exc})",
            "check that the download or the assembly of its parts completed (compare its sha256)",
            str(gguf_path),
        ) from exc


def _scalar_fields(reader: Any) -> dict[str, Any]:
    """Every metadata value that is not a large array (those are read where needed)."""
    import gguf

    values: dict[str, Any] = {}
    for name, field in reader.fields.items():
        if field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
            continue
        values[name] = field.contents()
    return values


def _architecture(fields: dict[str, Any], gguf_path: Path) -> str:
    architecture = fields.get("general.architecture")
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise ModelError(
            f"{gguf_path.name} is a {architecture!r} GGUF; only these architectures can be "
            f"converted: {', '.join(SUPPORTED_ARCHITECTURES)}",
            "use a Qwen2 / Qwen2.5 GGUF (general.architecture = qwen2), or run this model "
            "with llama.cpp instead",
            str(gguf_path),
        )
    return str(architecture)


def _hf_config(
    fields: dict[str, Any], architecture: str, tensors: dict[str, Any], gguf_path: Path
) -> dict[str, Any]:
    """The ``config.json`` transformers needs, from llama.cpp's ``<arch>.*`` metadata keys."""

    def need(key: str) -> Any:
        full = f"{architecture}.{key}"
        if full not in fields:
            raise ModelError(
                f"{gguf_path.name} lacks the metadata key {full!r}",
                "the file was not written by llama.cpp's converter or is truncated; "
                "re-create it with a current llama.cpp convert_hf_to_gguf.py",
                str(gguf_path),
            )
        return fields[full]

    hidden = int(need("embedding_length"))
    heads = int(need("attention.head_count"))
    head_dim = int(fields.get(f"{architecture}.attention.key_length", hidden // heads))
    if head_dim * heads != hidden:
        raise ModelError(
            f"{gguf_path.name} has a head size ({head_dim}) other than "
            f"hidden size / heads ({hidden}/{heads}), which Qwen2 does not support",
            "this is not a standard Qwen2 model; run it with llama.cpp instead",
            str(gguf_path),
        )
    scaling = fields.get(f"{architecture}.rope.scaling.type", "none")
    if scaling != "none":
        raise ModelError(
            f"{gguf_path.name} uses RoPE scaling {scaling!r}, which this converter does not map",
            "use a GGUF converted without rope scaling (the default for Qwen2.5 up to 32k "
            "tokens), or run this one with llama.cpp",
            str(gguf_path),
        )
    embedding = tensors.get("token_embd.weight")
    if embedding is None:
        raise ModelError(
            f"{gguf_path.name} has no token_embd.weight tensor",
            "the file is incomplete; re-download or re-assemble it",
            str(gguf_path),
        )
    vocab_size = int(embedding.shape[1])  # GGUF shape is [hidden, vocab]
    bos = fields.get("tokenizer.ggml.bos_token_id")
    eos = fields.get("tokenizer.ggml.eos_token_id")
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": hidden,
        "intermediate_size": int(need("feed_forward_length")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(fields.get(f"{architecture}.attention.head_count_kv", heads)),
        "num_hidden_layers": int(need("block_count")),
        # stored as float32: 1e-6 would otherwise read back as 9.999999974752427e-07
        "rms_norm_eps": float(f"{float(need('attention.layer_norm_rms_epsilon')):.7g}"),
        "rope_theta": float(fields.get(f"{architecture}.rope.freq_base", 10000.0)),
        "max_position_embeddings": int(need("context_length")),
        "vocab_size": vocab_size,
        # llama.cpp leaves output.weight out when the model ties it to the embedding
        "tie_word_embeddings": "output.weight" not in tensors,
        "bos_token_id": int(bos) if bos is not None else None,
        "eos_token_id": int(eos) if eos is not None else None,
        "hidden_act": "silu",
        "attention_dropout": 0.0,
        "use_sliding_window": False,
        "sliding_window": None,
        "max_window_layers": int(need("block_count")),
        "initializer_range": 0.02,
        "use_cache": True,
        _dtype_key(): "float16",
    }


def _generation_config(config: dict[str, Any]) -> dict[str, Any]:
    return {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"]}


def _plan_tensors(tensors: dict[str, Any], layers: int, gguf_path: Path) -> list[_PlannedTensor]:
    """Map every GGUF tensor to its Hugging Face name; refuse tensors we do not know."""
    plan: list[_PlannedTensor] = []
    unknown: list[str] = []
    for name, tensor in tensors.items():
        hf_name = _GLOBAL_TENSORS.get(name)
        if hf_name is None and name.startswith("blk."):
            _, index, suffix = name.split(".", 2)
            if index.isdigit() and int(index) < layers and suffix in _LAYER_TENSORS:
                hf_name = f"model.layers.{int(index)}.{_LAYER_TENSORS[suffix]}"
        if hf_name is None:
            unknown.append(name)
            continue
        shape = tuple(int(dim) for dim in reversed(tensor.shape.tolist()))
        plan.append(_PlannedTensor(hf_name, shape, tensor))
    if unknown:
        raise ModelError(
            f"{gguf_path.name} has tensors a Qwen2 model does not: {', '.join(unknown[:5])}"
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
            "the file is not a plain Qwen2 model (adapter, vision tower or other variant); "
            "run it with llama.cpp instead",
            str(gguf_path),
        )
    expected = {
        f"model.layers.{i}.{suffix}" for i in range(layers) for suffix in _LAYER_TENSORS.values()
    }
    expected |= {"model.embed_tokens.weight", "model.norm.weight"}
    missing = sorted(expected - {planned.hf_name for planned in plan})
    if missing:
        raise ModelError(
            f"{gguf_path.name} lacks tensors a Qwen2 model needs: {', '.join(missing[:5])}",
            "the file is incomplete or not a Qwen2 model; re-download or re-assemble it",
            str(gguf_path),
        )
    return plan


def _check_dequantisable(plan: Sequence[_PlannedTensor], gguf_path: Path) -> None:
    """Fail before writing anything if the gguf package cannot dequantise a tensor type."""
    import gguf.quants

    checked: set[Any] = set()
    for planned in plan:
        tensor = planned.source
        if tensor.tensor_type in checked:
            continue
        try:
            gguf.quants.dequantize(tensor.data[:1], tensor.tensor_type)
        except NotImplementedError as exc:
            raise ModelError(
                f"{gguf_path.name} stores {planned.hf_name} as {tensor.tensor_type.name}, "
                f"which the installed gguf package ({_version('gguf')}) cannot dequantise",
                "upgrade gguf (pip install -U gguf) or use a GGUF quantised as "
                "Q4_K_M, Q5_K_M, Q6_K, Q8_0, F16 or F32",
                str(gguf_path),
            ) from exc
        checked.add(tensor.tensor_type)


# --- writing the Hugging Face checkpoint --------------------------------------------------


def _write_safetensors(path: Path, plan: Sequence[_PlannedTensor]) -> None:
    """Stream float16 tensors into one safetensors file without holding the model in memory.

    The format is an 8-byte little-endian header length, a JSON header giving every
    tensor's dtype, shape and byte range, then the raw little-endian data. Shapes are known
    up front, so the header goes first and each tensor is appended as it is dequantised.
    """
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for planned in plan:
        size = 2 * _count(planned.shape)
        header[planned.hf_name] = {
            "dtype": "F16",
            "shape": list(planned.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # data starts 8-byte aligned
    with path.open("wb") as out:
        out.write(len(encoded).to_bytes(8, "little"))
        out.write(encoded)
        for planned in plan:
            written = _write_dequantised(out, planned)
            if written != 2 * _count(planned.shape):
                raise ModelError(
                    f"{planned.source.name} dequantised to {written // 2} values, "
                    f"expected {_count(planned.shape)}",
                    "the GGUF file is damaged; re-download or re-assemble it",
                    planned.source.name,
                )


def _write_dequantised(out: BinaryIO, planned: _PlannedTensor) -> int:
    import numpy as np

    written = 0
    for chunk in _dequantised_chunks(planned):
        data = np.ascontiguousarray(chunk, dtype="<f2")
        if not np.isfinite(data).all():
            # float16 tops out at 65504; a larger weight would silently become inf
            raise ModelError(
                f"{planned.source.name} has values float16 cannot hold (|x| > 65504 or NaN)",
                "this GGUF is damaged or not a standard Qwen2 model",
                planned.source.name,
            )
        out.write(data.tobytes())
        written += data.nbytes
    return written


def _dequantised_chunks(planned: _PlannedTensor) -> Iterator[Any]:
    """Dequantise a tensor a block of rows at a time (rows are independent in every GGML type)."""
    import gguf.quants

    tensor = planned.source
    data = tensor.data
    if data.ndim < 2:
        yield gguf.quants.dequantize(data, tensor.tensor_type)
        return
    row_values = max(1, _count(planned.shape) // data.shape[0])
    rows = max(1, _CHUNK_VALUES // row_values)
    for start in range(0, data.shape[0], rows):
        yield gguf.quants.dequantize(data[start : start + rows], tensor.tensor_type)


def _write_tokenizer(
    reader: Any, fields: dict[str, Any], config: dict[str, Any], hf_dir: Path, gguf_path: Path
) -> None:
    """Build the byte-level BPE that the GGUF metadata describes, as tokenizer.json.

    Qwen2's own tokenizer.json is rebuilt exactly: NFC, the Qwen2 split regex, byte-level
    BPE over the stored vocabulary and merges, and control tokens as special added tokens.
    Every GGUF token keeps its id (padding entries included), so the vocabulary lines up
    with the embedding rows.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    model_type = fields.get("tokenizer.ggml.model")
    pre = fields.get("tokenizer.ggml.pre", "default")
    if model_type != "gpt2" or pre not in _PRE_TOKENIZER_SPLITS:
        raise ModelError(
            f"{gguf_path.name} describes a {model_type!r} tokenizer with pre-tokenizer {pre!r}; "
            f"only byte-level BPE ('gpt2') with pre-tokenizer "
            f"{', '.join(sorted(_PRE_TOKENIZER_SPLITS))} is supported",
            "use an unmodified Qwen2 / Qwen2.5 GGUF",
            str(gguf_path),
        )
    tokens: list[str] = _array_field(reader, "tokenizer.ggml.tokens", gguf_path)
    merges: list[str] = _array_field(reader, "tokenizer.ggml.merges", gguf_path)
    types: list[int] = (
        _array_field(reader, "tokenizer.ggml.token_type", gguf_path)
        if "tokenizer.ggml.token_type" in reader.fields
        else [1] * len(tokens)
    )
    vocab = {token: index for index, token in enumerate(tokens)}
    if len(vocab) != len(tokens) or len(tokens) != config["vocab_size"]:
        raise ModelError(
            f"{gguf_path.name} has {len(tokens)} tokens ({len(vocab)} distinct) for "
            f"{config['vocab_size']} embedding rows",
            "the tokenizer metadata does not match the weights; the file is damaged",
            str(gguf_path),
        )
    pairs: list[tuple[str, str]] = []
    for merge in merges:
        left, space, right = merge.partition(" ")
        if not space:
            raise ModelError(
                f"{gguf_path.name} has a malformed BPE merge {merge!r}",
                "the tokenizer metadata is damaged; re-download or re-assemble the file",
                str(gguf_path),
            )
        pairs.append((left, right))
    tokenizer = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=pairs,
            unk_token=None,
            fuse_unk=False,
            byte_fallback=False,
            ignore_merges=False,
        )
    )
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_PRE_TOKENIZER_SPLITS[pre]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(
        [
            AddedToken(token, special=True, normalized=False)
            for token, kind in zip(tokens, types, strict=True)
            if kind == _TOKEN_CONTROL
        ]
    )
    tokenizer.add_tokens(
        [
            AddedToken(token, special=False, normalized=False)
            for token, kind in zip(tokens, types, strict=True)
            if kind == _TOKEN_USER_DEFINED
        ]
    )

    def token(key: str) -> str | None:
        index = fields.get(f"tokenizer.ggml.{key}_token_id")
        return tokens[int(index)] if index is not None and int(index) < len(tokens) else None

    bos = token("bos")
    add_bos = bool(fields.get("tokenizer.ggml.add_bos_token", False)) and bos is not None
    byte_level = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    if add_bos:
        assert bos is not None
        tokenizer.post_processor = processors.Sequence(
            [
                byte_level,
                processors.TemplateProcessing(
                    single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, vocab[bos])]
                ),
            ]
        )
    else:
        tokenizer.post_processor = byte_level
    tokenizer.save(str(hf_dir / "tokenizer.json"))

    tokenizer_config: dict[str, Any] = {
        # the generic fast class loads tokenizer.json as written, in transformers 4 and 5
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "eos_token": token("eos"),
        "pad_token": token("padding"),
        "unk_token": token("unknown"),
        "add_bos_token": add_bos,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": config["max_position_embeddings"],
        "split_special_tokens": False,
    }
    template = fields.get("tokenizer.chat_template")
    if template:
        tokenizer_config["chat_template"] = template
    (hf_dir / "tokenizer_config.json").write_text(
        json.dumps(tokenizer_config, indent=2, ensure_ascii=False) + "\n"
    )


def _array_field(reader: Any, key: str, gguf_path: Path) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ModelError(
            f"{gguf_path.name} has no {key!r} metadata",
            "the GGUF carries no usable tokenizer; re-create it with llama.cpp's converter",
            str(gguf_path),
        )
    return field.contents()


# --- CTranslate2 ------------------------------------------------------------------------------


def _require_conversion_stack(gguf_path: Path) -> None:
    missing = [
        name for name in ("torch", "transformers", "ctranslate2", "gguf") if not _installed(name)
    ]
    if missing:
        raise ModelError(
            f"converting a GGUF needs {', '.join(missing)}, which is not installed",
            "pip install 'localize[torch]' (CPU torch: pip install torch==2.13.0 "
            "--index-url https://download.pytorch.org/whl/cpu)",
            str(gguf_path),
        )


def _run_ctranslate2_converter(
    hf_dir: Path, ct2_dir: Path, quantization: str, gguf_path: Path
) -> None:
    import ctranslate2.converters

    converter = ctranslate2.converters.TransformersConverter(
        str(hf_dir), low_cpu_mem_usage=True, copy_files=list(_TOKENIZER_FILES)
    )
    try:
        converter.convert(str(ct2_dir), quantization=quantization, force=True)
    except (ValueError, NotImplementedError, OSError, RuntimeError) as exc:
        raise ModelError(
            f"CTranslate2 could not convert the checkpoint dequantised from {gguf_path.name}: "
            f"{exc}",
            "check that ctranslate2, transformers and torch are installed in compatible "
            "versions (see pyproject.toml)",
            str(gguf_path),
        ) from exc


# --- files ------------------------------------------------------------------------------------


def _check_replaceable(out_dir: Path, gguf_path: Path) -> None:
    """Only an earlier conversion may be replaced: never clobber an unrelated directory."""
    if not out_dir.exists():
        return
    if out_dir.is_dir() and (not any(out_dir.iterdir()) or (out_dir / CONVERSION_RECORD).is_file()):
        return
    raise ModelError(
        f"{out_dir} exists and is not a model converted by localize",
        "choose another output directory, or remove this one first",
        str(gguf_path),
    )


def _move_into_place(new_dir: Path, out_dir: Path, work: Path) -> None:
    """Swap the finished directory in; an older conversion is moved aside, then deleted."""
    if out_dir.exists():
        old = work / "previous"
        os.replace(out_dir, old)
    os.replace(new_dir, out_dir)


def _count(shape: Sequence[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def _dtype_key() -> str:
    """transformers 5 renamed config.json's ``torch_dtype`` to ``dtype`` (and warns on the old)."""
    major = _version("transformers").split(".", 1)[0]
    return "dtype" if major.isdigit() and int(major) >= 5 else "torch_dtype"


def _versions() -> dict[str, str]:
    names = ("ctranslate2", "transformers", "torch", "gguf", "tokenizers", "numpy")
    return {name: _version(name) for name in names} | {"localize": _version("localize")}
