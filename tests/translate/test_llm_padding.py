"""The CTranslate2 engine sends a batch's prompts at one length (a fake generator records them).

CTranslate2 reads the part of the prompts every request of a batch has in one pass and
feeds the rest token by token, so unequal prompts cost decoding steps; padded ones do not.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from localize.translate.llm import LLMOptions, LLMTranslator, pad_to_longest, token_batches


class _Tokenizer:
    """One token per character."""

    def encode(self, text: str, add_special_tokens: bool = False) -> Any:
        return SimpleNamespace(tokens=list(text))

    def decode(self, ids: list[int]) -> str:
        return chr(ids[0]) if ids[0] else "ok"


class _Generator:
    """Answers "ok", or the first digit of a prompt that has one (to check the order)."""

    def __init__(self) -> None:
        self.prompts: list[list[list[str]]] = []

    def generate_batch(self, prompts: list[list[str]], **_: Any) -> list[Any]:
        self.prompts.append(prompts)
        digits = [next((ord(t) for t in p if t.isdigit()), 0) for p in prompts]
        return [SimpleNamespace(sequences_ids=[[d]]) for d in digits]


def _engine(options: LLMOptions | None = None) -> LLMTranslator:
    engine = LLMTranslator.__new__(LLMTranslator)  # no model: the generator is a fake
    engine.options = options or LLMOptions()
    engine._tokenizer = _Tokenizer()  # type: ignore[assignment]
    engine._generator = _Generator()
    engine.batch = engine.options.requests_per_batch
    return engine


def test_a_batch_goes_to_the_generator_with_prompts_of_one_length() -> None:
    engine = _engine()
    users = ["好。", "顾总，林小姐已经在VIP会客室等您了。", "Glossary: 苏曼 = Su Man\nLine: 苏曼。"]

    assert engine._generate("Translate.", users, [76] * 3) == ["ok"] * 3

    (sent,) = engine._generator.prompts
    assert len({len(p) for p in sent}) == 1
    for prompt, user in zip(sent, users, strict=True):
        text = "".join(prompt)
        assert text.endswith(f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
        assert set(text[: text.index("<|im_start|>")]) <= {"\n"}  # only blank lines before


def test_padding_keeps_each_prompt_and_puts_the_filler_in_front() -> None:
    assert pad_to_longest([["a"], ["b", "c", "d"], []], "_") == [
        ["_", "_", "a"],
        ["b", "c", "d"],
        ["_", "_", "_"],
    ]
    assert pad_to_longest([], "_") == []


def test_a_batch_of_long_prompts_is_split_to_stay_within_the_token_budget() -> None:
    """The memory peak follows the tokens read in one pass: long requests go in smaller
    batches; replies still come back in the order asked."""
    engine = _engine(LLMOptions(prompt_tokens_per_batch=200))
    users = ["1" * 40, "2" * 5, "3" * 40, "4" * 5]

    assert engine._generate("Translate.", users, [76] * 4) == ["1", "2", "3", "4"]
    calls = engine._generator.prompts
    assert len(calls) > 1  # four in one pass would be 4 x 85 tokens
    assert all(len(call) * len(call[0]) <= 200 for call in calls)


def test_token_batches_put_the_shortest_together_and_a_long_prompt_alone() -> None:
    prompts = [["t"] * n for n in (30, 10, 100, 10, 20)]
    assert token_batches(prompts, 60) == [[1, 3, 4], [0], [2]]


def test_token_batches_hold_at_most_the_request_count() -> None:
    prompts = [["t"] * 10 for _ in range(5)]
    assert token_batches(prompts, 1000, most=2) == [[0, 1], [2, 3], [4]]


def test_an_episodes_lines_go_out_in_as_few_calls_as_the_budget_allows() -> None:
    """18 one-line requests, twelve short and six long (lines with glossary entries): the
    token budget, not a count split made before it, forms the batches. Split 9 + 9 first,
    the long nine overran the budget and went out as two more calls."""
    engine = _engine(LLMOptions(requests_per_batch=12, prompt_tokens_per_batch=800))
    lengths = [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 40, 45, 50, 55, 60, 65]
    lines = [f"{k}" + "字" * n for k, n in enumerate(lengths)]

    out = engine.translate(lines, source="zh", target="en")

    assert len(out) == 18
    calls = engine._generator.prompts
    assert len(calls) == 2
    assert all(len(call) <= 12 and len(call) * len(call[0]) <= 800 for call in calls)
