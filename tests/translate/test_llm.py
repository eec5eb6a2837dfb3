"""The LLM backend: strict reply parsing, prompts, and the real packaged model."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.glossary import load_glossary
from localize.translate.base import TranslationContext
from localize.translate.enforce import glossary_renderings
from localize.translate.llm import (
    LLMOptions,
    LLMTranslator,
    balanced_split,
    build_system_prompt,
    build_user_prompt,
    parse_numbered_reply,
)


@pytest.mark.parametrize(
    ("reply", "count", "expected"),
    [
        ("1. Hello.\n2. Bye.", 2, ["Hello.", "Bye."]),
        ("1. Hello\n   there.\n2) Bye.", 2, ["Hello there.", "Bye."]),
        ("1. [lin_wan] Hello.\n2. Bye.", 2, ["Hello.", "Bye."]),
        ("1、你好\n2：Bye", 2, ["你好", "Bye"]),  # parsed; the script check flags the Chinese
        ("1. Hello. Bye.", 2, None),  # merged: line 2 missing
        ("2. Bye.\n1. Hello.\n", 2, ["Hello.", "Bye."]),  # numbers, not order, place lines
        ("1. Hello.\n1. Again.\n2. Bye.", 2, None),  # duplicate
        ("1. A\n2. B\n3. C", 2, None),  # an extra line
        ("Sure! Here you go:\n1. A\n2. B", 2, None),  # chatter before the list
        ("", 1, None),
        # the model echoes the retry note it was given: the note is not a translation
        ("1. Lin.\n   (note for line 1: 林小姐 must be rendered as 'Miss Lin')", 1, ["Lin."]),
    ],
)
def test_replies_are_parsed_by_number_and_bad_ones_rejected(
    reply: str, count: int, expected: list[str] | None
) -> None:
    assert parse_numbered_reply(reply, count) == expected


def test_prompts_carry_glossary_synopsis_context_and_feedback(glossary_path: Path) -> None:
    glossary = load_glossary(glossary_path)
    lines = ["顾总，你好。", "契约签了。"]
    context = TranslationContext(
        synopsis="A contract marriage.",
        glossary=glossary_renderings(glossary, "en"),
        previous=(("林晚来了。", "Lin Wan is here."),),
        required=tuple(tuple(glossary.required_renderings(line, "en")) for line in lines),
        feedback=("", "契约 must be rendered as 'contract'"),
    )
    system = build_system_prompt("zh-Hans", "en", context)
    # the whole series glossary, so the system prompt is the same for every request
    assert "顾总 -> Mr. Gu" in system and "苏曼 -> Su Man" in system
    assert "A contract marriage." in system
    assert "1. 顾总" not in system
    user = build_user_prompt(lines, context)
    # each request restates the renderings its own lines need
    assert "Glossary for these lines (required): 顾总 -> Mr. Gu; 契约 -> contract" in user
    assert "林晚来了。 => Lin Wan is here." in user
    assert "1. 顾总，你好。" in user and "2. 契约签了。" in user
    # a retry's notes come before the numbered lines, never inside the list to translate
    assert "- line 2: 契约 must be rendered as 'contract'" in user
    assert user.index("- line 2:") < user.index("Translate:")
    assert "契约 must" not in user.split("Translate:")[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "options", [LLMOptions(), LLMOptions.numbered()], ids=["lines", "numbered"]
)
def test_packaged_llm_translates_with_the_glossary(
    glossary_path: Path, options: LLMOptions
) -> None:
    """The real default model (prepared by scripts/setup.sh) on three sample lines, by
    one-line requests batched (the default) and by the earlier numbered requests."""
    from localize.domain import Cue, CueTrack
    from localize.translate.enforce import translate_cues

    glossary = load_glossary(glossary_path)
    translator = LLMTranslator(options=options)
    track = CueTrack(
        "zh-Hans",
        (
            Cue(0, 2000, "顾总，林小姐已经在VIP会客室等您了。"),
            Cue(2500, 4500, "好，这份合同，我签了。"),
            Cue(5000, 7000, "苏曼，我们早就结束了。"),
        ),
    )
    out, outcomes = translate_cues(track, translator, target="en", glossary=glossary)
    texts = [c.text.replace("\n", " ") for c in out.cues]
    assert len(texts) == 3
    assert "Mr. Gu" in texts[0] and "VIP" in texts[0] and "Miss Lin" in texts[0]
    assert "contract" in texts[1].lower()
    assert "Su Man" in texts[2]
    assert all(not o.problems for o in outcomes), outcomes
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)


@pytest.mark.parametrize(("n", "most"), [(18, 8), (16, 8), (1, 8), (5, 4), (0, 3), (9, 1)])
def test_lines_are_split_into_even_requests_in_order(n: int, most: int) -> None:
    parts = balanced_split(list(range(n)), most)
    assert [i for part in parts for i in part] == list(range(n))  # nothing lost or moved
    assert all(1 <= len(p) <= most for p in parts)
    assert len(parts) == -(-n // most)  # as few requests as the limit allows
    if parts:  # a batch decodes until its longest reply ends: keep sizes within one
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
