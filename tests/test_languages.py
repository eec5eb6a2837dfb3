"""The one language table: every module reads its language facts from it."""

from __future__ import annotations

import pytest

from localize.languages import (
    ALIASES,
    LANGUAGES,
    OFFERED,
    display_name,
    iso639_2,
    lookup,
    prompt_name,
)
from localize.segment import load_style_profile


def test_every_offered_target_has_a_row_and_a_style_profile() -> None:
    for code in OFFERED:
        assert lookup(code) is not None, code
        assert load_style_profile(code).language == code


def test_codes_are_unique() -> None:
    codes = [lang.code.lower() for lang in LANGUAGES]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(("alias", "code"), sorted(ALIASES.items()))
def test_aliases_agree_with_the_style_profiles(alias: str, code: str) -> None:
    assert lookup(code) is not None
    assert load_style_profile(alias).language == code


@pytest.mark.parametrize(
    ("tag", "display", "prompt", "iso"),
    [
        ("pt-BR", "Portuguese (Brazil)", "Brazilian Portuguese", "por"),
        ("zh-Hans", "Chinese", "Simplified Chinese", "chi"),
        ("fr", "French", "French", "fre"),
        ("en-US", "English", "en-US", "eng"),
        ("xx", "xx", "xx", "und"),
        ("haw", "haw", "haw", "haw"),
    ],
)
def test_names_and_tags(tag: str, display: str, prompt: str, iso: str) -> None:
    assert display_name(tag) == display
    assert prompt_name(tag) == prompt
    assert iso639_2(tag) == iso


def test_the_stages_read_the_table() -> None:
    from localize.renditions import language_name
    from localize.translate.base import TranslationContext
    from localize.translate.chat import build_system_prompt
    from localize.translate.seq2seq import LANGUAGE_CODES

    assert language_name("pt-BR") == "Portuguese (Brazil)"
    assert "Brazilian Portuguese" in build_system_prompt("zh-Hans", "pt-BR", TranslationContext())
    assert LANGUAGE_CODES["pt-BR"]["nllb"] == ("por_Latn",)
    assert set(LANGUAGE_CODES) <= {lang.code for lang in LANGUAGES}
