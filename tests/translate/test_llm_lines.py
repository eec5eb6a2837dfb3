"""One short request per line, many per call: the default path of the chat-model engines.

A scripted engine stands in for the model (its ``_generate`` answers each request from
a table), so these tests see exactly what each request carried and what came back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.glossary import load_glossary
from localize.translate.chat import ChatEngine, LLMOptions, parse_line_reply
from localize.translate.enforce import translate_cues

#: source line -> what the "model" answers for it
ANSWERS = {
    "顾总，林小姐已经在VIP会客室等您了。": "Mr. Gu, Miss Lin is waiting in the VIP lounge.",
    "好。": "Fine.",
    "苏曼，我们早就结束了。": "Su Man, we ended long ago.",
    "这份合同，我签了。": "I signed this contract.",
    "奶奶？您怎么来了？": "Grandma? Why are you here?",
}


class Scripted(ChatEngine):
    """Answers a one-line request with ``answer(line, user prompt)``; records every call."""

    model_id = "scripted"

    def __init__(self, options: LLMOptions, answer: Callable[[str, str], str]) -> None:
        self.options = options
        self.batch = options.requests_per_batch or 1
        self.answer = answer
        self.calls: list[tuple[str, list[str]]] = []

    def _generate(self, system: str, users: list[str], max_new_tokens: list[int]) -> list[str]:
        self.calls.append((system, users))
        return [self.answer(user.rsplit("Line: ", 1)[-1], user) for user in users]


def _track(lines: list[str]) -> CueTrack:
    return CueTrack(
        "zh-Hans", tuple(Cue(i * 2000, i * 2000 + 1500, t) for i, t in enumerate(lines))
    )


def test_lines_come_back_in_order_and_each_request_carries_only_its_own_glossary(
    glossary_path: Path,
) -> None:
    glossary = load_glossary(glossary_path)
    engine = Scripted(LLMOptions(requests_per_batch=2), lambda line, _: ANSWERS[line])
    lines = list(ANSWERS)
    _, outcomes = translate_cues(_track(lines), engine, target="en", glossary=glossary)

    assert [o.translation for o in outcomes] == [ANSWERS[line] for line in lines]
    assert all(not o.problems for o in outcomes)
    assert all(len(users) <= 2 for _, users in engine.calls)  # at most a batch per call
    requests = {user.rsplit("Line: ", 1)[-1]: user for _, users in engine.calls for user in users}
    assert set(requests) == set(lines)  # every line asked once, none twice
    first = requests["顾总，林小姐已经在VIP会客室等您了。"]
    assert "顾总 = Mr. Gu" in first and "林小姐 = Miss Lin" in first
    assert "苏曼" not in first  # another line's glossary entry is not sent
    assert "Glossary" not in requests["好。"]
    # the shared system prompt stays short: no series glossary in it
    assert all("苏曼" not in system and "顾总" not in system for system, _ in engine.calls)


def test_a_reply_that_breaks_the_glossary_is_retried_with_the_problem_named(
    glossary_path: Path,
) -> None:
    glossary = load_glossary(glossary_path)

    def answer(line: str, user: str) -> str:
        if line.startswith("苏曼") and "Fix:" not in user:
            return "Suman, we ended long ago."  # the glossary says "Su Man"
        return ANSWERS[line]

    engine = Scripted(LLMOptions(), answer)
    _, outcomes = translate_cues(_track(list(ANSWERS)), engine, target="en", glossary=glossary)

    assert outcomes[2].translation == "Su Man, we ended long ago."
    assert outcomes[2].attempts == 2 and not outcomes[2].problems
    retry = engine.calls[-1][1]
    assert len(retry) == 1 and "Fix:" in retry[0] and "Su Man" in retry[0]
    assert "Before:" not in retry[0]  # no previous lines unless context_lines asks for them


def test_a_malformed_reply_keeps_its_first_line_and_an_empty_one_is_retried(
    glossary_path: Path,
) -> None:
    glossary = load_glossary(glossary_path)
    asked: dict[str, int] = {}

    def answer(line: str, _: str) -> str:
        asked[line] = asked.get(line, 0) + 1
        if line == "好。":
            return "Fine.\nNote: 好 can also mean 'good'."  # a note after the translation
        if line == "这份合同，我签了。" and asked[line] == 1:
            return ""
        return ANSWERS[line]

    engine = Scripted(LLMOptions(), answer)
    _, outcomes = translate_cues(_track(list(ANSWERS)), engine, target="en", glossary=glossary)

    texts = [o.translation for o in outcomes]
    assert texts == [ANSWERS[line] for line in ANSWERS]  # nothing shifted to another line
    assert outcomes[1].attempts == 1  # the note was cut off, the translation kept
    assert outcomes[3].attempts == 2 and not outcomes[3].problems  # empty: asked again


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Fine.", "Fine."),
        ('  "Fine."  ', "Fine."),
        ("Translation: Fine.", "Fine."),
        ("1. Fine.", "Fine."),
        ("", None),
        ("Fine.\nNote: or 'good'.", None),
    ],
)
def test_one_line_replies_are_parsed_strictly(reply: str, expected: str | None) -> None:
    assert parse_line_reply(reply) == expected


def test_the_numbered_path_stays_available(glossary_path: Path) -> None:
    """LLMOptions.numbered(): numbered chunks under a system prompt with the whole glossary."""
    glossary = load_glossary(glossary_path)
    seen: list[tuple[str, list[str]]] = []

    class Numbered(Scripted):
        def _generate(self, system: str, users: list[str], budget: list[int]) -> list[str]:
            seen.append((system, users))
            body = users[0].split("Translate:\n", 1)[1].splitlines()
            return [
                "\n".join(f"{n + 1}. {ANSWERS[b.split('. ', 1)[1]]}" for n, b in enumerate(body))
            ]

    engine = Numbered(LLMOptions.numbered(), lambda line, _: "")
    _, outcomes = translate_cues(_track(list(ANSWERS)), engine, target="en", glossary=glossary)

    assert [o.translation for o in outcomes] == list(ANSWERS.values())
    system, users = seen[0]
    assert len(seen) == 1 and len(users) == 1  # 5 lines in one numbered request
    assert "苏曼 -> Su Man" in system  # the whole glossary in the shared prompt


def test_requests_of_a_like_length_go_out_together(glossary_path: Path) -> None:
    """Batches are formed by the whole request's length, glossary entries included: a
    short line with two names makes a longer request than a longer line with none."""
    glossary = load_glossary(glossary_path)
    answers = {
        "好。": "Fine.",
        "顾总，好。": "Mr. Gu, fine.",
        "我们走吧，好不好？": "Shall we go?",
        "苏曼，我们早就结束了。": "Su Man, we ended long ago.",
    }
    engine = Scripted(LLMOptions(requests_per_batch=2), lambda line, _: answers[line])
    _, outcomes = translate_cues(_track(list(answers)), engine, target="en", glossary=glossary)

    assert [o.translation for o in outcomes] == list(answers.values())
    (_, first), (_, second) = engine.calls
    assert max(map(len, first)) <= min(map(len, second))
    assert {user.rsplit("Line: ", 1)[-1] for user in second} == {
        "顾总，好。",
        "苏曼，我们早就结束了。",
    }


def test_the_lines_a_retry_pass_asks_again_go_out_in_one_call(glossary_path: Path) -> None:
    glossary = load_glossary(glossary_path)
    wrong = {"顾总，林小姐已经在VIP会客室等您了。", "苏曼，我们早就结束了。", "奶奶？您怎么来了？"}

    def answer(line: str, user: str) -> str:
        return "奶奶?" if line in wrong and "Fix:" not in user else ANSWERS[line]

    engine = Scripted(LLMOptions(), answer)
    _, outcomes = translate_cues(_track(list(ANSWERS)), engine, target="en", glossary=glossary)

    assert [o.translation for o in outcomes] == list(ANSWERS.values())
    assert [len(users) for _, users in engine.calls] == [5, 3]  # all lines, then the 3 retried
