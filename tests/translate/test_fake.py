"""FakeTranslator: deterministic word-for-word output, failure hooks, glossary honouring."""

from __future__ import annotations

import pickle

import pytest

from localize.errors import TranslationError
from localize.translate import TranslationContext, Translator, create_translator
from localize.translate.fake import DEFAULT_TABLE, FakeCall, FakeTranslator

TABLE = {"总裁": "CEO", "总": "total", "离婚": "divorce", "我们": "we", "吧": ""}


def test_translates_word_for_word_longest_match_first() -> None:
    fake = FakeTranslator(TABLE)
    out = fake.translate(["总裁，我们离婚吧！", "总"], source="zh-Hans", target="en")
    assert out == ["CEO, we divorce!", "total"]


def test_unknown_han_is_kept_so_leftover_script_checks_fire() -> None:
    fake = FakeTranslator(TABLE)
    assert fake.translate(["顾言深总裁"], source="zh-Hans", target="en") == ["顾言深 CEO"]


def test_latin_text_and_digits_pass_through() -> None:
    fake = FakeTranslator(TABLE)
    assert fake.translate(["Gu Yanshen总裁 3"], source="zh-Hans", target="en") == [
        "Gu Yanshen CEO 3"
    ]


@pytest.mark.parametrize("line", ["", "   ", "\n"])
def test_blank_lines_stay_empty(line: str) -> None:
    assert FakeTranslator(TABLE).translate([line], source="zh-Hans", target="en") == [""]


def test_is_deterministic_and_keeps_order() -> None:
    lines = ["我们", "总裁", "离婚", "总"]
    a = FakeTranslator(TABLE).translate(lines, source="zh-Hans", target="en")
    b = FakeTranslator(TABLE).translate(lines, source="zh-Hans", target="en")
    assert a == b == ["we", "CEO", "divorce", "total"]


def test_default_table_and_model_id() -> None:
    fake = FakeTranslator()
    assert fake.model_id == "fake"
    assert fake.follows_instructions is False
    assert fake.table == dict(DEFAULT_TABLE)
    assert fake.translate(["我是总裁。"], source="zh-Hans", target="en") == ["I is CEO."]


def test_records_calls() -> None:
    fake = FakeTranslator(TABLE)
    context = TranslationContext(synopsis="a contract marriage")
    fake.translate(["总裁"], source="zh-Hans", target="es", context=context)
    fake.translate(["离婚"], source="zh-Hans", target="en")
    assert fake.calls == [
        FakeCall(("总裁",), "zh-Hans", "es", context),
        FakeCall(("离婚",), "zh-Hans", "en", None),
    ]


@pytest.mark.parametrize("index", [0, 2])
def test_drop_line_at_returns_one_line_fewer(index: int) -> None:
    fake = FakeTranslator(TABLE, drop_line_at=index)
    lines = ["总裁", "离婚", "我们"]
    out = fake.translate(lines, source="zh-Hans", target="en")
    expected = ["CEO", "divorce", "we"]
    del expected[index]
    assert out == expected


def test_errors_are_raised_once_each_in_order() -> None:
    first, second = TranslationError("busy", "retry"), TranslationError("down", "wait")
    fake = FakeTranslator(TABLE, errors=[first, second])
    for expected in (first, second):
        with pytest.raises(TranslationError) as info:
            fake.translate(["总裁"], source="zh-Hans", target="en")
        assert info.value is expected
    assert fake.translate(["总裁"], source="zh-Hans", target="en") == ["CEO"]
    assert len(fake.calls) == 3
    assert pickle.loads(pickle.dumps(first)).hint == "retry"


def test_follows_instructions_honours_required_renderings_per_line() -> None:
    context = TranslationContext(
        required=((("总裁", "President Gu"),), (), (("林晚", "Lin Wan"),)),
    )
    lines = ["总裁，我们离婚吧！", "总裁", "林晚"]
    obedient = FakeTranslator(TABLE, follows_instructions=True)
    assert obedient.translate(lines, source="zh-Hans", target="en", context=context) == [
        "President Gu, we divorce!",
        "CEO",
        "Lin Wan",
    ]
    # a required term wins over a longer table entry starting at the same place
    context = TranslationContext(required=((("总", "Boss"),),))
    assert obedient.translate(["总裁"], source="zh-Hans", target="en", context=context) == [
        "Boss 裁"
    ]


def test_without_instructions_required_renderings_are_ignored() -> None:
    context = TranslationContext(required=((("林晚", "Lin Wan"),),))
    fake = FakeTranslator(TABLE, follows_instructions=False)
    assert fake.translate(["林晚"], source="zh-Hans", target="en", context=context) == ["林晚"]


def test_required_shorter_than_the_batch_is_fine() -> None:
    context = TranslationContext(required=((("林晚", "Lin Wan"),),))
    fake = FakeTranslator(TABLE, follows_instructions=True)
    out = fake.translate(["林晚", "林晚"], source="zh-Hans", target="en", context=context)
    assert out == ["Lin Wan", "林晚"]


def test_registry_builds_it_with_options() -> None:
    translator: Translator = create_translator("fake", table=TABLE, follows_instructions=True)
    assert isinstance(translator, FakeTranslator)
    assert translator.follows_instructions is True
    assert translator.translate(["总裁"], source="zh-Hans", target="en") == ["CEO"]
