"""Preparing seq2seq checkpoints (Marian, NLLB-200, M2M100) for CTranslate2.

Which family a checkpoint is (:func:`detect_family`), its content hash
(:func:`checkpoint_hash`) and its one-time conversion into a cache keyed by that hash
(:func:`convert_checkpoint`), under a file lock. Model preparation, like
:mod:`localize.llm_convert` for GGUF files; the translators that run the result are in
:mod:`localize.translate.seq2seq`. torch and transformers are imported only to convert.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, Literal

from localize.errors import ModelError
from localize.fsutil import atomic_write_json, file_lock, read_json

__all__ = [
    "CONVERSION_RECORD",
    "FAMILIES",
    "Family",
    "checkpoint_hash",
    "convert_checkpoint",
    "detect_family",
    "is_ct2_model",
    "max_positions",
    "quiet_marian_tokenizer",
]

logger = logging.getLogger(__name__)

Family = Literal["marian", "nllb", "m2m100"]
FAMILIES: Final[tuple[Family, ...]] = ("marian", "nllb", "m2m100")

#: written into every converted folder: what it came from, and the family for the tokenizer
CONVERSION_RECORD: Final = "localize-seq2seq.json"

#: tokenizer files copied next to a converted model, so the folder is complete on its own
_TOKENIZER_FILES: Final = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.json",
    "vocab.json",
    "target_vocab.json",
    "source.spm",
    "target.spm",
    "sentencepiece.bpe.model",
    "spm.model",
)
_CT2_VOCABULARIES: Final = (
    "shared_vocabulary.json",
    "shared_vocabulary.txt",
    "source_vocabulary.json",
    "source_vocabulary.txt",
)
_HASH_BLOCK = 1 << 20


# ------------------------------------------------------------------------------ families


def max_positions(folder: Path) -> int | None:
    """The model's position table size (from a checkpoint, or our conversion record).

    Neither runtime can go past it (CTranslate2 raises, transformers indexes out of range),
    so source and output lengths are capped to it.
    """
    for name, key in (
        (CONVERSION_RECORD, "max_positions"),
        ("config.json", "max_position_embeddings"),
    ):
        value = read_json(folder / name).get(key)
        if isinstance(value, int) and value > 1:
            return value
    return None


def is_ct2_model(folder: Path) -> bool:
    return (folder / "model.bin").is_file() and any(
        (folder / name).is_file() for name in _CT2_VOCABULARIES
    )


def _mentions_nllb_codes(folder: Path) -> bool:
    """NLLB is M2M100 underneath; only its tokenizer's ``eng_Latn``-style tokens tell."""
    for name in ("tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        path = folder / name
        if path.is_file():
            with path.open(encoding="utf-8", errors="replace") as fh:
                if '"eng_Latn"' in fh.read():
                    return True
    return False


def detect_family(folder: Path) -> Family:
    """The model family of a transformers checkpoint or a CTranslate2 folder.

    Checkpoints: ``model_type`` in config.json (``marian``; ``m2m_100`` is NLLB when its
    tokenizer is an NllbTokenizer or has NLLB language tokens). CTranslate2 folders: the
    conversion record localize writes, else the copied tokenizer_config.json.
    """
    record = read_json(folder / CONVERSION_RECORD)
    if record.get("family") in FAMILIES:
        family: Family = record["family"]
        return family
    config = read_json(folder / "config.json")
    tokenizer_class = str(
        read_json(folder / "tokenizer_config.json").get("tokenizer_class")
        or config.get("tokenizer_class")
        or ""
    )
    model_type = config.get("model_type")
    if model_type == "marian" or tokenizer_class.startswith("Marian"):
        return "marian"
    if tokenizer_class.startswith("Nllb"):
        return "nllb"
    if model_type == "m2m_100" or tokenizer_class.startswith("M2M100"):
        return "nllb" if _mentions_nllb_codes(folder) else "m2m100"
    what = f"model_type {model_type!r}" if model_type else "no model_type or tokenizer class"
    raise ModelError(
        f"{folder} is not a supported seq2seq translation model ({what})",
        "use a Marian (opus-mt-*), NLLB-200 or M2M100 checkpoint, or a CTranslate2 conversion "
        "of one that includes its tokenizer files (ct2-transformers-converter --copy_files "
        "tokenizer_config.json ...); for instruction LLMs use the 'llm' backend",
        model=str(folder),
    )


@contextlib.contextmanager
def quiet_marian_tokenizer() -> Iterator[None]:
    """MarianTokenizer asks for sacremoses, which only its normaliser (unused here) needs."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*sacremoses.*")
        yield


# ---------------------------------------------------------------------------- converting


def _checkpoint_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def checkpoint_hash(folder: Path, *, memo_dir: Path | None = None) -> str:
    """sha256 over the relative paths and contents of every file in a checkpoint folder.

    Hashing a multi-GB checkpoint takes seconds, so the result is remembered in ``memo_dir``
    against the files' sizes and modification times and recomputed only when they change.
    """
    files = _checkpoint_files(folder)
    signature = [
        [str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in files
    ]
    memo = None
    if memo_dir is not None:
        memo = memo_dir / (hashlib.sha1(str(folder.resolve()).encode()).hexdigest() + ".json")
        known = read_json(memo)
        if known.get("signature") == signature and isinstance(known.get("sha256"), str):
            return str(known["sha256"])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as fh:
            while block := fh.read(_HASH_BLOCK):
                digest.update(block)
        digest.update(b"\0")
    result = digest.hexdigest()
    if memo is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(memo, {"signature": signature, "sha256": result})
    return result


def _slug(ref: str) -> str:
    name = Path(ref.rstrip("/")).name or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:60]


def convert_checkpoint(
    checkpoint: Path,
    cache_dir: Path,
    *,
    quantization: str = "int8",
    family: Family | None = None,
    name: str = "",
) -> tuple[Path, bool]:
    """Convert a transformers checkpoint to CTranslate2 once; return (folder, converted now).

    The folder is ``cache_dir/<name>-<content hash>-<quantization>``, so a changed checkpoint
    gets a new conversion and an unchanged one is reused. The conversion is written to a
    temporary folder and renamed into place under a file lock: a crash or a second process
    never sees half a model. Needs torch (``pip install 'localize[torch]'``) while converting.
    """
    family = family or detect_family(checkpoint)
    digest = checkpoint_hash(checkpoint, memo_dir=cache_dir / ".hashes")
    key = f"{_slug(name or str(checkpoint))}-{digest[:16]}-{quantization}"
    target = cache_dir / key
    if (target / CONVERSION_RECORD).is_file():
        return target, False
    with file_lock(cache_dir / f".{key}.lock"):
        if (target / CONVERSION_RECORD).is_file():  # another process finished meanwhile
            return target, False
        work = Path(tempfile.mkdtemp(prefix=f".{key}.converting-", dir=cache_dir))
        try:
            staging = work / "model"
            _run_converter(checkpoint, staging, quantization, family)
            record = {
                "family": family,
                "source": name or str(checkpoint),
                "checkpoint_sha256": digest,
                "quantization": quantization,
                "max_positions": max_positions(checkpoint),
            }
            (staging / CONVERSION_RECORD).write_text(json.dumps(record, indent=2) + "\n")
            if target.exists():  # a leftover without a record: an interrupted older layout
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    logger.info("converted %s to CTranslate2 (%s) in %s", checkpoint, quantization, target)
    return target, True


def _run_converter(checkpoint: Path, out: Path, quantization: str, family: Family) -> None:
    import importlib.util

    missing = [n for n in ("torch", "transformers") if importlib.util.find_spec(n) is None]
    if missing:
        raise ModelError(
            f"converting {checkpoint} to CTranslate2 needs {' and '.join(missing)}",
            "pip install 'localize[torch]' (CPU build: pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu), or pass an already converted "
            "CTranslate2 folder",
            model=str(checkpoint),
        )
    from ctranslate2.converters import TransformersConverter

    class _Converter(TransformersConverter):  # type: ignore[misc]
        # transformers 5 no longer lists M2M100's language tokens in get_vocab() or the
        # special tokens, so CTranslate2's M2M100 loader would build a vocabulary ~100
        # tokens short; hand it a view that includes them at their real ids.
        def load_tokenizer(self, tokenizer_class: Any, path: str, **kwargs: Any) -> Any:
            with quiet_marian_tokenizer():
                tokenizer = super().load_tokenizer(tokenizer_class, path, **kwargs)
            return _FullVocabulary(tokenizer)

    copy = [name for name in _TOKENIZER_FILES if (checkpoint / name).is_file()]
    try:
        converter = _Converter(str(checkpoint), copy_files=copy, low_cpu_mem_usage=True)
        converter.convert(str(out), quantization=quantization, force=True)
    except (ValueError, NotImplementedError, OSError, RuntimeError, KeyError) as exc:
        raise ModelError(
            f"CTranslate2 could not convert the {family} checkpoint {checkpoint}: {exc}",
            "check that ctranslate2, transformers and torch are installed in compatible "
            "versions (see pyproject.toml), or try backend 'transformers-seq2seq'",
            model=str(checkpoint),
        ) from exc


class _FullVocabulary:
    """A tokenizer proxy whose ``get_vocab()`` includes M2M100's language tokens."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._tokenizer.get_vocab())
        vocab.update(getattr(self._tokenizer, "lang_token_to_id", None) or {})
        return vocab
