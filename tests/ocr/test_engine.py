"""localize.ocr.engine: the text helpers that turn recognised boxes into caption lines."""

from __future__ import annotations

import pytest

from localize.ocr.engine import (
    TextBox,
    clean_line,
    is_stripes,
    is_wordy,
    join_lines,
    line_text,
    simplified_converter,
)


def box(left: float, top: float, text: str, *, width: float = 100, height: float = 40) -> TextBox:
    return TextBox(left, top, left + width, top + height, text, 0.9)


def test_caption_typography_is_restored() -> None:
    # the recogniser spaces CJK characters apart and returns ASCII commas after them
    assert clean_line("  你 好 , 苏 曼 ?  ") == "你好，苏曼？"
    assert clean_line("CEO 你好") == "CEO你好"
    assert clean_line("Hello, world") == "Hello, world"  # Latin text keeps its own


def test_traditional_captions_become_simplified() -> None:
    assert simplified_converter()("總裁說話") == "总裁说话"


@pytest.mark.parametrize("text", ["II", "ıI", "1.11", "| | |", "l:l"])
def test_scenery_stripes_are_never_captions(text: str) -> None:
    assert is_stripes(text)


@pytest.mark.parametrize("text", ["你好", "II号", "11:30", "OK"])
def test_text_is_not_mistaken_for_stripes(text: str) -> None:
    assert not is_stripes(text)


def test_a_line_needs_a_letter_digit_or_character() -> None:
    assert is_wordy("你") and is_wordy("a") and is_wordy("7")
    assert not is_wordy("…!?") and not is_wordy("___")


def test_boxes_join_into_display_lines_top_to_bottom_left_to_right() -> None:
    right, left = box(300, 102, "苏曼"), box(100, 100, "你好")
    below = box(100, 160, "第二行")
    lines = join_lines([below, right, left])
    assert [[b.text for b in line] for line in lines] == [["你好", "苏曼"], ["第二行"]]
    # boxes overlapping by less than half the smaller height are separate lines
    assert len(join_lines([box(0, 100, "上"), box(0, 125, "下")])) == 2


def test_a_space_only_between_two_latin_runs() -> None:
    assert line_text([box(0, 0, "CEO"), box(120, 0, "Gu")]) == "CEO Gu"
    assert line_text([box(0, 0, "你好"), box(120, 0, "苏曼")]) == "你好苏曼"
    assert line_text([box(0, 0, "CEO"), box(120, 0, "顾总")]) == "CEO顾总"
