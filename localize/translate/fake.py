"""A deterministic stand-in translator for tests and dry runs (like httpx's MockTransport).

:class:`FakeTranslator` translates word for word from a small dictionary, longest match
first. What it does not know it keeps, so Chinese characters leak into the output exactly
where a real model would leave a name untranslated, and leftover-script checks have
something to catch. It records every call and can be told to fail in the ways real
backends fail (an exception, a line missing from the batch), so the code around a
translator can be tested without a model::

    fake = FakeTranslator({"总裁": "CEO", "离婚": "divorce"}, drop_line_at=1)
    fake.translate(["总裁", "离婚"], source="zh-Hans", target="en")  # -> ["CEO"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from localize.translate.base import TranslationContext

__all__ = ["DEFAULT_TABLE", "FakeCall", "FakeTranslator"]

#: a few words that recur in micro-dramas; enough for dry runs to look like English
DEFAULT_TABLE: Mapping[str, str] = {
    "我们": "we",
    "你们": "you",
    "他们": "they",
    "我": "I",
    "你": "you",
    "他": "he",
    "她": "she",
    "是": "is",
    "不是": "is not",
    "不": "not",
    "要": "want",
    "爱": "love",
    "和": "and",
    "在": "at",
    "家": "home",
    "吧": "",
    "吗": "",
    "了": "",
    "的": "'s",
    "总裁": "CEO",
    "老公": "husband",
    "老婆": "wife",
    "结婚": "marry",
    "离婚": "divorce",
    "合同": "contract",
    "契约": "contract",
    "对不起": "sorry",
    "谢谢": "thank you",
    "好": "good",
    "走": "go",
}

#: full-width punctuation -> what follows an English word
_PUNCTUATION: Mapping[str, str] = {
    "，": ",",
    "。": ".",
    "！": "!",
    "？": "?",
    "、": ",",
    "：": ":",
    "；": ";",
    "…": "...",
    "“": '"',
    "”": '"',
    "（": "(",
    "）": ")",
    "《": '"',
    "》": '"',
    "—": "-",
}


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3134F


@dataclass(frozen=True)
class FakeCall:
    """One call to :meth:`FakeTranslator.translate`, as received."""

    lines: tuple[str, ...]
    source: str
    target: str
    context: TranslationContext | None


class FakeTranslator:
    """Deterministic dictionary translator implementing the ``Translator`` protocol.

    ``table`` maps source substrings to target text (default :data:`DEFAULT_TABLE`), used
    for every target language. Matching is longest first; unknown Han characters are kept
    as they are and other text (digits, Latin names the glossary step put in) passes through.

    ``follows_instructions``: when True, the ``required`` pairs of the context are honoured
    per line, as an instruction LLM given the glossary would: the required rendering
    replaces the source term, ahead of the table. When False they are ignored, as a
    seq2seq model would.

    Failure hooks: ``errors`` are raised by the first calls, one per call, in order;
    ``drop_line_at`` removes the output at that index (the batch comes back one short).
    ``calls`` records every call.
    """

    model_id = "fake"

    def __init__(
        self,
        table: Mapping[str, str] | None = None,
        *,
        follows_instructions: bool = False,
        drop_line_at: int | None = None,
        errors: Iterable[BaseException] = (),
    ) -> None:
        self.table: dict[str, str] = dict(DEFAULT_TABLE if table is None else table)
        self.follows_instructions = follows_instructions
        self.drop_line_at = drop_line_at
        self.errors: list[BaseException] = list(errors)
        self.calls: list[FakeCall] = []

    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]:
        """Translate each line word for word (see the class docstring for the hooks)."""
        self.calls.append(FakeCall(tuple(lines), source, target, context))
        if self.errors:
            raise self.errors.pop(0)
        required = context.required if context and self.follows_instructions else ()
        outputs = [
            self.translate_line(line, dict(required[i]) if i < len(required) else {})
            for i, line in enumerate(lines)
        ]
        if self.drop_line_at is not None and 0 <= self.drop_line_at < len(outputs):
            del outputs[self.drop_line_at]
        return outputs

    def translate_line(self, line: str, required: Mapping[str, str] | None = None) -> str:
        """One line; ``required`` (source term -> rendering) wins over the table."""
        words: list[str] = []
        pending = ""  # a run of untranslated characters of one kind (Han or other)

        def flush() -> None:
            nonlocal pending
            if pending:
                words.append(pending)
                pending = ""

        i = 0
        while i < len(line):
            term = _longest_match(line, i, required or {}) or _longest_match(line, i, self.table)
            if term:
                flush()
                rendering = (required or {}).get(term, self.table.get(term, ""))
                if rendering:
                    words.append(rendering)
                i += len(term)
                continue
            char = line[i]
            i += 1
            if char.isspace():
                flush()
            elif char in _PUNCTUATION:
                flush()
                mark = _PUNCTUATION[char]
                if words:
                    words[-1] += mark
                else:
                    words.append(mark)
            else:
                if pending and _is_han(pending[-1]) != _is_han(char):
                    flush()
                pending += char
        flush()
        return " ".join(words)


def _longest_match(line: str, start: int, table: Mapping[str, str]) -> str | None:
    if not table:
        return None
    longest = max(map(len, table))
    for size in range(min(longest, len(line) - start), 0, -1):
        candidate = line[start : start + size]
        if candidate in table:
            return candidate
    return None
