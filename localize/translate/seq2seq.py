"""Seq2seq machine translation: Marian (opus-mt), NLLB-200 and M2M100 checkpoints.

Two backends share one piece of glue (:class:`Seq2SeqGlue`): the model's own tokenizer,
the language tokens and decoding. They differ only in the runtime:

* :class:`CT2Seq2SeqTranslator` — the fast path. Runs a CTranslate2 model; a transformers
  checkpoint is converted once (int8 by default) into a cache keyed by the checkpoint's
  content hash, so the next run starts immediately (model preparation:
  :mod:`localize.seq2seq_convert`).
* :class:`TransformersSeq2SeqTranslator` — the reference path (``AutoModelForSeq2SeqLM`` +
  ``generate``). Slower; it exists to check the fast path against (greedy outputs of both
  must be identical for the same checkpoint) and for checkpoints CTranslate2 cannot convert.

How each family is told the languages:

========  ==============================  =================================================
family    source language                 target language
========  ==============================  =================================================
marian    fixed by the model              ``>>spa<<`` token in front of the source text
                                          (multi-target models only)
nllb      ``zho_Hans`` token (tokenizer)  ``spa_Latn`` as the first decoder token
m2m100    ``__zh__`` token (tokenizer)    ``__es__`` as the first decoder token
========  ==============================  =================================================

Our language codes are BCP-47-ish (``zh-Hans``, ``en``, ``pt-BR``); :data:`LANGUAGE_CODES`,
read from the one language table (:mod:`localize.languages`), maps them to each family's
names. A model's own codes (``fra_Latn`` for NLLB) are accepted as they are, for languages
the table does not list.

torch, transformers and ctranslate2 are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from localize.errors import ModelError, TranslationError
from localize.languages import ALIASES, LANGUAGES
from localize.models import ModelStore
from localize.numerics import DEFAULT_COMPUTE_THREADS, Numerics, check_threads, ct2_numerics
from localize.seq2seq_convert import (
    FAMILIES,
    Family,
    convert_checkpoint,
    detect_family,
    is_ct2_model,
    max_positions,
    quiet_marian_tokenizer,
)
from localize.translate.base import TranslationContext

__all__ = [
    "FAMILIES",
    "LANGUAGE_CODES",
    "CT2Seq2SeqTranslator",
    "Family",
    "ModelLanguages",
    "Seq2SeqGlue",
    "TransformersSeq2SeqTranslator",
    "convert_checkpoint",
    "detect_family",
    "model_language",
]

logger = logging.getLogger(__name__)


#: our language code -> each family's names for it, preferred first (from the one language
#: table, :mod:`localize.languages`, which explains the names)
LANGUAGE_CODES: Final[dict[str, dict[Family, tuple[str, ...]]]] = {
    lang.code: {"marian": lang.marian, "nllb": lang.nllb, "m2m100": lang.m2m100}
    for lang in LANGUAGES
    if lang.nllb
}

_NLLB_CODE = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")  # all three: fullmatch
_M2M100_TOKEN = re.compile(r"__([a-z]{2,3}(?:_[A-Za-z]+)?)__")
_MARIAN_TOKEN = re.compile(r">>(.+)<<")


# --------------------------------------------------------------------------- languages


def _table_language(code: str) -> str | None:
    """The :data:`LANGUAGE_CODES` key for ``code``: exact, then shorter prefixes, then aliases.

    ``zh-Hant-TW`` -> ``zh-Hant``; ``pt-PT`` -> ``pt`` -> ``pt-BR``; ``en-US`` -> ``en``.
    """
    parts = code.strip().replace("_", "-").split("-")
    for end in range(len(parts), 0, -1):
        candidate = "-".join(parts[:end])
        if candidate in LANGUAGE_CODES:
            return candidate
        if candidate in ALIASES:
            return ALIASES[candidate]
    return None


@dataclass(frozen=True)
class ModelLanguages:
    """Which languages one model can translate between, in the model's own codes.

    ``codes`` are the codes the model has language tokens for (NLLB ``spa_Latn``, M2M100
    ``es``, Marian ``spa`` for ``>>spa<<``); empty for a single-pair Marian model. A Marian
    model's recorded ``source``/``target`` (``zh``/``en`` for opus-mt-zh-en; group names such
    as ``mul`` for multi-target models) are checked when they name a language we know.
    """

    family: Family
    codes: frozenset[str] = frozenset()
    source: str | None = None
    target: str | None = None

    def ours(self) -> list[str]:
        """Our codes (table keys) this model supports as a target."""
        return [
            code
            for code, names in LANGUAGE_CODES.items()
            if any(name in self.codes for name in names[self.family])
            or (not self.codes and self._matches(self.target, code))
        ]

    def resolve(
        self, source: str, target: str, *, model: str = ""
    ) -> tuple[str | None, str | None]:
        """The model's codes for ``source`` and ``target`` (None where the model needs none).

        Raises TranslationError, naming the codes the model supports, for a pair it lacks.
        """
        if self.family == "marian":
            return None, self._resolve_marian(source, target, model)
        return (
            model_language(self.family, source, self.codes, model=model, role="source"),
            model_language(self.family, target, self.codes, model=model, role="target"),
        )

    def _resolve_marian(self, source: str, target: str, model: str) -> str | None:
        if self._known(self.source) and not self._matches(self.source, source):
            raise TranslationError(
                f"the Marian model {model or '(unnamed)'} translates from {self.source!r}, "
                f"not from {source!r}",
                f"use a model for {source} -> {target} (e.g. an opus-mt-{_short(source)}-* "
                "model), or an NLLB-200 model, which covers both",
            )
        if self.codes:  # multi-target: the >>xxx<< token picks the language
            return model_language("marian", target, self.codes, model=model, role="target")
        if self._known(self.target) and not self._matches(self.target, target):
            raise TranslationError(
                f"the Marian model {model or '(unnamed)'} translates into {self.target!r} "
                f"only, not into {target!r}",
                f"use a model for {source} -> {target} (e.g. opus-mt-{_short(source)}-"
                f"{_short(target)}), or an NLLB-200 model",
            )
        return None

    def _matches(self, recorded: str | None, code: str) -> bool:
        if recorded is None:
            return False
        key = _table_language(code)
        names = LANGUAGE_CODES[key]["marian"] if key else (code,)
        return recorded in names or recorded.replace("-", "_") in names

    @staticmethod
    def _known(recorded: str | None) -> bool:
        """True if a recorded Marian language is one of ours (not a group like ``mul``)."""
        return recorded is not None and any(
            recorded in rows["marian"] or recorded.replace("-", "_") in rows["marian"]
            for rows in LANGUAGE_CODES.values()
        )


def _short(code: str) -> str:
    return code.split("-")[0]


def model_language(
    family: Family,
    code: str,
    supported: Collection[str],
    *,
    model: str = "",
    role: str = "target",
) -> str:
    """The model's own name for our language ``code``, which must be in ``supported``.

    ``supported`` holds the model's codes (``spa_Latn``...). A code that is already one of
    them passes through, so languages missing from :data:`LANGUAGE_CODES` still work.
    Raises TranslationError listing what the model supports.
    """
    key = _table_language(code)
    if key is not None:
        for name in LANGUAGE_CODES[key][family]:
            if name in supported:
                return name
    if code in supported:
        return code
    ours = [
        ours_code
        for ours_code, names in LANGUAGE_CODES.items()
        if any(name in supported for name in names[family])
    ]
    native = sorted(supported)
    example = ", ".join(native[:8]) + (", ..." if len(native) > 8 else "")
    raise TranslationError(
        f"the {family} model {model or '(unnamed)'} has no {role} language {code!r}",
        f"it supports {', '.join(ours) if ours else 'none of our language codes'}"
        + (f" (and its own codes: {example})" if native else "")
        + "; choose another model for this language pair",
    )


# -------------------------------------------------------------------------------- glue


@dataclass(frozen=True)
class _Plan:
    """How to feed one language pair to the model."""

    source_lang: str | None  #: tokenizer.src_lang (NLLB, M2M100)
    target_token: str | None  #: first decoder token (NLLB, M2M100)
    marian_prefix: str  #: ">>spa<< " in front of the source text (multi-target Marian)


class Seq2SeqGlue:
    """Tokenisation, language tokens and decoding shared by both runtimes.

    Holds the model's own transformers tokenizer (sentencepiece underneath). Both backends
    go through it so their outputs can be compared token for token. Not thread-safe: NLLB
    and M2M100 tokenizers keep the source language as state.
    """

    def __init__(self, tokenizer: Any, family: Family, *, model: str = "") -> None:
        self.tokenizer = tokenizer
        self.family = family
        self.model = model
        self.languages = self._languages()
        # language tokens are dropped before decoding: transformers 5 does not mark M2M100's
        # as special, so skip_special_tokens alone would leave "__es__" in the text
        self._drop_ids = frozenset(
            tid
            for tid in (
                tokenizer.convert_tokens_to_ids(self._token(code)) for code in self.languages.codes
            )
            if isinstance(tid, int) and tid != tokenizer.unk_token_id
        )
        # ids past the tokenizer's vocabulary are padding rows of the embedding (M2M100's
        # "madeupword"s); CTranslate2 names them, transformers would print "<unk>": drop both
        self._id_limit = max([*tokenizer.get_vocab().values(), *self._drop_ids]) + 1

    @classmethod
    def load(cls, folder: Path, family: Family, *, model: str = "") -> Seq2SeqGlue:
        """Load the tokenizer in ``folder`` (a checkpoint or a folder with its files)."""
        from transformers import AutoTokenizer

        try:
            with quiet_marian_tokenizer():
                tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"could not load the tokenizer of {model or folder}: {exc}",
                "the folder needs the model's tokenizer files (tokenizer_config.json and its "
                "sentencepiece models / vocab.json / tokenizer.json); pass tokenizer=<the "
                "original checkpoint> for a CTranslate2 folder without them",
                model=model or str(folder),
            ) from exc
        return cls(tokenizer, family, model=model)

    # -- languages ---------------------------------------------------------------------

    def _token(self, code: str) -> str:
        if self.family == "marian":
            return f">>{code}<<"
        if self.family == "m2m100":
            return f"__{code}__"
        return code

    def _languages(self) -> ModelLanguages:
        tok = self.tokenizer
        if self.family == "marian":
            codes = {
                m.group(1)
                for token in getattr(tok, "supported_language_codes", None) or tok.get_vocab()
                if (m := _MARIAN_TOKEN.fullmatch(token))
            }
            return ModelLanguages(
                "marian",
                frozenset(codes),
                source=getattr(tok, "source_lang", None),
                target=getattr(tok, "target_lang", None),
            )
        if self.family == "m2m100":
            mapping = getattr(tok, "lang_code_to_token", None)
            if mapping:
                return ModelLanguages("m2m100", frozenset(mapping))
            vocab = tok.get_vocab()
            return ModelLanguages(
                "m2m100",
                frozenset(m.group(1) for t in vocab if (m := _M2M100_TOKEN.fullmatch(t))),
            )
        return ModelLanguages(
            "nllb", frozenset(t for t in tok.get_vocab() if _NLLB_CODE.fullmatch(t))
        )

    def plan(self, source: str, target: str) -> _Plan:
        """Resolve a language pair (raises TranslationError when the model lacks it)."""
        src, tgt = self.languages.resolve(source, target, model=self.model)
        if self.family == "marian":
            return _Plan(None, None, f"{self._token(tgt)} " if tgt else "")
        assert src is not None and tgt is not None  # resolve() guarantees both here
        return _Plan(src, self._token(tgt), "")

    # -- encoding / decoding -------------------------------------------------------------

    def source_texts(self, lines: Sequence[str], plan: _Plan) -> list[str]:
        """What the tokenizer is given per line. Sets the tokenizer's source language."""
        if plan.source_lang is not None:
            self.tokenizer.src_lang = plan.source_lang
        return [plan.marian_prefix + line for line in lines]

    def source_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings with the model's special tokens (CTranslate2 input)."""
        tok = self.tokenizer
        return [tok.convert_ids_to_tokens(tok.encode(text)) for text in texts]

    def decode(self, ids: Sequence[int]) -> str:
        """Target text from output ids, without language or other special tokens."""
        kept = [i for i in map(int, ids) if i < self._id_limit and i not in self._drop_ids]
        kwargs: dict[str, Any] = {"skip_special_tokens": True}
        if self.family == "marian":
            # transformers 5 decodes with the *source* sentencepiece model unless told
            kwargs["use_source_tokenizer"] = False
        return str(self.tokenizer.decode(kept, **kwargs)).strip()

    def decode_tokens(self, tokens: Sequence[str]) -> str:
        return self.decode(self.tokenizer.convert_tokens_to_ids(list(tokens)))


def _clean(line: str) -> str:
    """One line of text: subtitle line breaks and runs of spaces become single spaces."""
    return " ".join(line.split())


def _translate_nonempty(
    lines: Sequence[str], run: Callable[[list[str]], list[str]], *, model_id: str
) -> list[str]:
    """Translate the non-empty lines with ``run`` and put them back in place.

    Empty lines pass through as "" without reaching the model (which would invent text).
    """
    cleaned = [_clean(line) for line in lines]
    todo = [i for i, text in enumerate(cleaned) if text]
    outputs: list[str] = [""] * len(lines)
    if not todo:
        return outputs
    translated = run([cleaned[i] for i in todo])
    if len(translated) != len(todo):  # the runtimes promise this; never pass on a shifted batch
        raise TranslationError(
            f"{model_id} returned {len(translated)} translations for {len(todo)} lines",
            "this is a bug in the translation backend; please report it",
        )
    for i, text in zip(todo, translated, strict=True):
        outputs[i] = text
    return outputs


# ----------------------------------------------------------------------------- backends


class CT2Seq2SeqTranslator:
    """Marian / NLLB-200 / M2M100 translation on CTranslate2 (the fast path).

    ``model`` is a packaged name, a folder or a Hugging Face repo id (resolved by ``store``):
    either a CTranslate2 model folder (``model.bin`` + vocabulary, with the tokenizer files
    copied in, or ``tokenizer`` pointing at the original checkpoint) or a transformers
    checkpoint, converted once into ``store.root.parent / "ct2-cache"``.

    ``device="auto"`` uses a GPU when CTranslate2 sees one; ``compute_type="auto"`` is int8 on
    CPU and float16 on GPU. ``quantization`` is the weight type written when converting.
    ``max_decoding_length`` counts output tokens, including NLLB/M2M100's language token.
    """

    follows_instructions = False

    def __init__(
        self,
        model: str,
        *,
        store: ModelStore | None = None,
        device: str = "auto",
        compute_type: str = "auto",
        beam_size: int = 4,
        batch_size: int = 16,
        max_decoding_length: int = 256,
        quantization: str = "int8",
        tokenizer: str | None = None,
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> None:
        import ctranslate2

        store = store or ModelStore()
        folder = store.resolve(model)
        #: True if this construction ran the conversion (False: CT2 folder or cache hit)
        self.converted = False
        if is_ct2_model(folder):
            self.model_dir = folder
            tokenizer_dir = store.resolve(tokenizer) if tokenizer else folder
            family = detect_family(folder if tokenizer is None else tokenizer_dir)
        else:
            family = detect_family(folder)
            self.model_dir, self.converted = convert_checkpoint(
                folder,
                store.root.parent / "ct2-cache",
                quantization=quantization,
                family=family,
                name=model,
            )
            tokenizer_dir = store.resolve(tokenizer) if tokenizer else folder
        self.family: Family = family
        self.glue = Seq2SeqGlue.load(tokenizer_dir, family, model=model)
        positions = max_positions(self.model_dir) or max_positions(tokenizer_dir)

        self.numerics = self.plan_numerics(threads, device, compute_type)
        self.device, self.compute_type = self.numerics.device, self.numerics.compute_type
        compute_type = self.compute_type
        try:
            self._translator = ctranslate2.Translator(
                str(self.model_dir),
                device=self.device,
                compute_type=compute_type,
                intra_threads=self.numerics.threads,
                inter_threads=self.numerics.inter_threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(
                f"CTranslate2 could not load {self.model_dir}: {exc}",
                "check device and compute_type (CPU: int8/float32; GPU: float16/int8_float16); "
                "delete the folder to convert the checkpoint again if it is a cached conversion",
                model=model,
            ) from exc
        self.beam_size = beam_size
        self.batch_size = batch_size
        # decoding starts at position 0 with the start token, hence the - 1
        self.max_decoding_length = min(max_decoding_length, (positions or 1 << 30) - 1)
        self._max_input_length = positions or 1024  # 1024: CTranslate2's own default
        self.model_id = f"ct2-seq2seq:{model}:{compute_type}"

    @staticmethod
    def plan_numerics(
        threads: int = DEFAULT_COMPUTE_THREADS, device: str = "auto", compute_type: str = "auto"
    ) -> Numerics:
        """int8 on a CPU (float32 on old CPUs without int8 kernels), float16 on a GPU;
        ``threads`` fixed by the run (CTranslate2's default of 4 oversubscribes)."""
        return ct2_numerics(threads, device, compute_type)

    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]:
        """One translation per line, in order; empty lines stay empty. ``context`` is unused."""
        plan = self.glue.plan(source, target)

        def run(texts: list[str]) -> list[str]:
            tokens = self.glue.source_tokens(self.glue.source_texts(texts, plan))
            prefix = [[plan.target_token] for _ in texts] if plan.target_token else None
            try:
                results = self._translator.translate_batch(
                    tokens,
                    target_prefix=prefix,
                    beam_size=self.beam_size,
                    max_batch_size=self.batch_size,
                    max_decoding_length=self.max_decoding_length,
                    max_input_length=self._max_input_length,
                )
            except (RuntimeError, ValueError) as exc:
                raise TranslationError(
                    f"{self.model_id} failed on a batch of {len(texts)} lines: {exc}",
                    "lower batch_size or max_decoding_length if memory ran out",
                ) from exc
            return [self.glue.decode_tokens(r.hypotheses[0]) for r in results]

        return _translate_nonempty(lines, run, model_id=self.model_id)


class TransformersSeq2SeqTranslator:
    """Marian / NLLB-200 / M2M100 translation with transformers ``generate`` (reference path).

    Needs torch. Greedy output (``beam_size=1``) is identical to :class:`CT2Seq2SeqTranslator`
    converted at float32 for the same checkpoint; the tests rely on that.
    """

    follows_instructions = False

    def __init__(
        self,
        model: str,
        *,
        store: ModelStore | None = None,
        device: str = "cpu",
        beam_size: int = 4,
        batch_size: int = 8,
        max_decoding_length: int = 256,
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM
        except ImportError as exc:
            raise ModelError(
                f"the transformers seq2seq backend needs torch and transformers ({exc})",
                "pip install 'localize[torch]', or use backend 'ct2-seq2seq'",
                model=model,
            ) from exc

        store = store or ModelStore()
        folder = store.resolve(model)
        if is_ct2_model(folder):
            raise ModelError(
                f"{folder} is a CTranslate2 model, which transformers cannot load",
                "use backend 'ct2-seq2seq' for it, or pass the original checkpoint",
                model=model,
            )
        self.family: Family = detect_family(folder)
        self.glue = Seq2SeqGlue.load(folder, self.family, model=model)
        try:
            self._model = AutoModelForSeq2SeqLM.from_pretrained(str(folder)).to(device).eval()
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(
                f"transformers could not load {folder}: {exc}",
                "check that the folder is a complete checkpoint (config.json + weights)",
                model=model,
            ) from exc
        self._torch = torch
        # torch's CPU threads are one setting per process (the last model loaded sets it)
        torch.set_num_threads(check_threads(threads))
        self.numerics = Numerics(threads, device, str(self._model.dtype).removeprefix("torch."))
        self.device = device
        self.beam_size = beam_size
        self.batch_size = batch_size
        self._max_input_length = max_positions(folder) or 1024
        # decoding starts at position 0 with the start token, hence the - 1
        self.max_decoding_length = min(max_decoding_length, self._max_input_length - 1)
        self.model_id = (
            f"transformers-seq2seq:{model}:{str(self._model.dtype).removeprefix('torch.')}"
        )

    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]:
        """One translation per line, in order; empty lines stay empty. ``context`` is unused."""
        plan = self.glue.plan(source, target)
        tok = self.glue.tokenizer
        options: dict[str, Any] = {
            "num_beams": self.beam_size,
            "do_sample": False,
            "max_new_tokens": self.max_decoding_length,
        }
        if plan.target_token:
            options["forced_bos_token_id"] = tok.convert_tokens_to_ids(plan.target_token)
        if self.family == "marian" and tok.pad_token_id is not None:
            # Marian's <pad> only starts the decoder; CTranslate2 drops it from the
            # vocabulary, and opus-mt's generation config bans it. Ban it here too.
            options["suppress_tokens"] = [tok.pad_token_id]

        def run(texts: list[str]) -> list[str]:
            out: list[str] = []
            for start in range(0, len(texts), self.batch_size):
                chunk = self.glue.source_texts(texts[start : start + self.batch_size], plan)
                batch = tok(
                    chunk,
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=self._max_input_length,
                ).to(self.device)
                try:
                    with self._torch.inference_mode():
                        generated = self._model.generate(**batch, **options)
                except (RuntimeError, ValueError) as exc:
                    raise TranslationError(
                        f"{self.model_id} failed on a batch of {len(chunk)} lines: {exc}",
                        "lower batch_size or max_decoding_length if memory ran out",
                    ) from exc
                out.extend(self.glue.decode(row.tolist()) for row in generated)
            return out

        return _translate_nonempty(lines, run, model_id=self.model_id)
