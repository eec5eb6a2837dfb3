"""The ``Translator`` protocol, the context it receives, and the name-keyed registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from localize.registry import build_backend


@dataclass(frozen=True)
class TranslationContext:
    """What a context-aware backend may use besides the lines themselves.

    Backends that cannot use context (plain seq2seq models) ignore it, except
    ``required`` which the enforcement layer also applies for them.
    """

    #: a short series synopsis (from the glossary)
    synopsis: str = ""
    #: lines before this batch, as (source, translation) pairs, oldest first
    previous: tuple[tuple[str, str], ...] = ()
    #: per line of the batch: (source term, required target rendering) pairs
    required: tuple[tuple[tuple[str, str], ...], ...] = ()
    #: per line of the batch: what was wrong with an earlier attempt ("" if none)
    feedback: tuple[str, ...] = ()
    #: speaker per line, when known (helps pronouns and forms of address)
    speakers: tuple[str | None, ...] = ()
    #: free-form notes for instruction models (tone, audience)
    notes: str = ""
    #: every glossary rendering for the target, as (source form, rendering): instruction
    #: models get the whole glossary once, in a system prompt that stays the same for
    #: the series (and so can be cached); ``required`` still lists each line's own
    glossary: tuple[tuple[str, str], ...] = ()


class Translator(Protocol):
    """Translates a batch of subtitle lines.

    Contract: returns exactly one translation per input line, in the same order, or
    raises TranslationError. Implementations load their model once and are reused.
    """

    #: identifies backend + model + precision; part of cache keys downstream
    model_id: str
    #: True if the backend follows instructions (glossary in the prompt); False for
    #: seq2seq models, where the enforcement layer substitutes protected renderings
    #: into the source before translating
    follows_instructions: bool

    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]: ...


TranslatorFactory = Callable[..., Translator]

#: backend name -> factory; backends register themselves when their module is imported
TRANSLATORS: dict[str, str | TranslatorFactory] = {
    # lazily imported: "module:attribute"
    "llm": "localize.translate.llm:LLMTranslator",
    # any OpenAI-compatible chat server (vLLM, llama.cpp, a hosted API): model + endpoint
    "openai": "localize.translate.openai:OpenAITranslator",
    "ct2-seq2seq": "localize.translate.seq2seq:CT2Seq2SeqTranslator",
    "transformers-seq2seq": "localize.translate.seq2seq:TransformersSeq2SeqTranslator",
    "fake": "localize.translate.fake:FakeTranslator",
}


def register_translator(name: str, factory: str | TranslatorFactory) -> None:
    TRANSLATORS[name] = factory


def create_translator(backend: str, **kwargs: Any) -> Translator:
    """Build a translator by backend name (see ``TRANSLATORS``)."""
    translator: Translator = build_backend(TRANSLATORS, backend, "translation", **kwargs)
    return translator
