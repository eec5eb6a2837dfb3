"""Tests for localize.glossary: the example file, matching, adherence, validation, versions."""

from __future__ import annotations

import pickle
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localize.errors import GlossaryError, LocalizeError
from localize.glossary import (
    EntryKind,
    Glossary,
    GlossaryEntry,
    SeriesInfo,
    ViolationKind,
    dump_glossary,
    is_language_code,
    load_glossary,
    parse_glossary,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "glossaries" / "ceo-contract-bride.toml"

# Four lines of valid [series]; snippets below start on line 5.
SERIES = """\
[series]
id = "demo"
title = { en = "Demo" }
targets = ["en"]
"""


@pytest.fixture(scope="module")
def example() -> Glossary:
    return load_glossary(EXAMPLE)


def error_of(text: str, path: str = "demo.toml") -> GlossaryError:
    with pytest.raises(GlossaryError) as info:
        parse_glossary(text, path)
    return info.value


def load_error(path: Path) -> GlossaryError:
    with pytest.raises(GlossaryError) as info:
        load_glossary(path)
    return info.value


# --------------------------------------------------------------------------- example file


def test_example_series(example: Glossary) -> None:
    s = example.series
    assert s.id == "ceo-contract-bride"
    assert s.title["zh-Hans"] == "总裁的契约新娘"
    assert s.title["en"] == "The CEO's Contract Bride"
    assert s.source_language == "zh-Hans"
    assert s.targets == ("en",)
    assert "contract" in s.synopsis["en"]
    assert example.languages == ("en", "es")
    assert example.path == str(EXAMPLE)


def test_example_cast(example: Glossary) -> None:
    cast = {e.zh: e for e in example.characters}
    assert list(cast) == ["林晚", "顾言深", "苏曼", "陈秘书", "顾老夫人"]
    assert {zh: e.renderings["en"] for zh, e in cast.items()} == {
        "林晚": "Lin Wan",
        "顾言深": "Gu Yanshen",
        "苏曼": "Su Man",
        "陈秘书": "Secretary Chen",
        "顾老夫人": "Madam Gu",
    }
    assert {zh: e.gender for zh, e in cast.items()} == {
        "林晚": "female",
        "顾言深": "male",
        "苏曼": "female",
        "陈秘书": "male",
        "顾老夫人": "female",
    }
    assert all("es" in e.renderings for e in cast.values())
    assert cast["林晚"].aliases == ("晚晚",)
    assert cast["顾言深"].aliases == ("言深",)
    assert cast["顾言深"].voice == {"en": "am_michael"}


def test_example_address_terms_dnt(example: Glossary) -> None:
    address = {e.zh: (e.renderings["en"], e.refers_to) for e in example.of_kind(EntryKind.ADDRESS)}
    assert address == {
        "顾总": ("Mr. Gu", "顾言深"),
        "总裁": ("Mr. Gu", "顾言深"),
        "林小姐": ("Miss Lin", "林晚"),
        "奶奶": ("Grandma", "顾老夫人"),
    }
    terms = {e.zh: e.renderings["en"] for e in example.of_kind(EntryKind.TERM)}
    assert terms == {"顾氏集团": "Gu Group", "契约": "contract", "合同": "contract"}
    assert [e.zh for e in example.of_kind(EntryKind.DNT)] == ["VIP"]
    assert example.missing_renderings("en") == []
    assert {e.zh for e in example.missing_renderings("es")} == {*address, *terms}


def test_hotwords_characters_first(example: Glossary) -> None:
    words = example.hotwords()
    assert words[:4] == ["林晚", "晚晚", "顾言深", "言深"]
    assert words.index("顾老夫人") < words.index("顾总") < words.index("顾氏集团")
    assert words[-1] == "VIP"
    assert len(words) == len(set(words))
    assert example.hotwords(limit=3) == ["林晚", "晚晚", "顾言深"]


def test_readme_examples_parse() -> None:
    readme = (EXAMPLE.parent / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```toml\n")[1:]]
    glossary = parse_glossary(blocks[0])
    assert glossary.rendering(glossary.entries[0], "en", form="言深") == "Yanshen"
    for line in blocks[1].splitlines():
        entry = '[[characters]]\nzh = "顾言深"\nto = { en = "Gu Yanshen" }\ngender = "male"\n'
        parsed = parse_glossary(SERIES + entry + line.split("#")[0] + "\n")
        assert parsed.characters[0].aliases


def test_cli_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from localize.cli import main

    assert main(["glossary", "check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "ok (" in out and "5 characters, 4 address, 3 terms, 1 do_not_translate" in out
    assert "languages: en, es" in out and "partly covered: es (missing" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[series\n", encoding="utf-8")
    assert main(["glossary", "check", str(bad)]) == 1
    assert f"{bad}:1:" in capsys.readouterr().err


# --------------------------------------------------------------------------- matching


def test_entries_in_longest_match_wins() -> None:
    glossary = parse_glossary(
        SERIES
        + dedent("""
            [[characters]]
            zh = "顾言深"
            to = { en = "Gu Yanshen" }
            gender = "male"

            [[terms]]
            zh = "顾"
            to = { en = "Gu" }
        """)
    )
    [entry] = glossary.entries_in("顾言深来了")
    assert entry.zh == "顾言深"
    assert [e.zh for e in glossary.entries_in("顾家的人，顾言深")] == ["顾", "顾言深"]
    assert [(m.start, m.end) for m in glossary.matches("顾家的人，顾言深")] == [(0, 1), (5, 8)]


def test_entries_in_aliases_and_order(example: Glossary) -> None:
    entries = example.entries_in("言深，奶奶说晚晚是顾氏集团的VIP")
    assert [e.zh for e in entries] == ["顾言深", "奶奶", "林晚", "顾氏集团", "VIP"]
    assert example.entries_in("没有名字的一句话") == []
    # repeated mentions are listed once
    assert [e.zh for e in example.entries_in("顾总！顾总！")] == ["顾总"]


def test_ignore_in_hides_longer_words(example: Glossary) -> None:
    # 少奶奶 "young madam" contains 奶奶 "Grandma" but is not her
    assert [e.zh for e in example.entries_in("顾氏集团的少奶奶")] == ["顾氏集团"]
    assert [e.zh for e in example.entries_in("少奶奶，奶奶叫你")] == ["奶奶"]
    assert (
        example.check_adherence("顾氏集团的少奶奶", "the young madam of the Gu Group", "en") == []
    )
    assert "少奶奶" not in example.hotwords()


def test_matching_folds_width_and_case(example: Glossary) -> None:
    assert [e.zh for e in example.entries_in("这是ＶＩＰ房间")] == ["VIP"]
    assert [e.zh for e in example.entries_in("办张vip卡")] == ["VIP"]
    # a Latin item does not match inside a longer Latin word
    assert example.entries_in("VIPER来了") == []


def test_rendering_and_required(example: Glossary) -> None:
    lin = example.entry("林晚")
    assert lin is not None and example.entry("晚晚") is lin
    assert example.rendering(lin, "en") == "Lin Wan"
    assert example.rendering(lin, "es", form="晚晚") == "Wanwan"
    assert example.rendering(lin, "fr") is None
    vip = example.entry("VIP")
    assert vip is not None and example.rendering(vip, "es") == "VIP"
    assert example.required_renderings("总裁，林小姐在VIP室等您。", "en") == [
        ("总裁", "Mr. Gu"),
        ("林小姐", "Miss Lin"),
        ("VIP", "VIP"),
    ]
    assert example.required_renderings("言深，这份合同……", "en") == [
        ("言深", "Yanshen"),
        ("合同", "contract"),
    ]
    # no Spanish rendering for 总裁: nothing to enforce
    assert example.required_renderings("总裁", "es") == []


# --------------------------------------------------------------------------- adherence


def test_adherence_missing_address(example: Glossary) -> None:
    [violation] = example.check_adherence(
        "总裁，会议要开始了。", "CEO, the meeting is starting.", "en"
    )
    assert violation.kind is ViolationKind.MISSING_RENDERING
    assert (violation.zh, violation.expected, violation.lang) == ("总裁", "Mr. Gu", "en")
    assert "Mr. Gu" in violation.message and "总裁" in violation.message


def test_adherence_altered_dnt(example: Glossary) -> None:
    source = "这是VIP包间。"
    [violation] = example.check_adherence(source, "This is the vip room.", "en")
    assert violation.kind is ViolationKind.DNT_ALTERED
    assert violation.found == "vip"
    assert "unchanged" in violation.message
    [violation] = example.check_adherence(source, "This is the private room.", "en")
    assert violation.kind is ViolationKind.DNT_ALTERED and violation.found == ""


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("总裁，林小姐在VIP室等您。", "Mr. Gu, Miss Lin is waiting in the VIP room."),
        (
            "总裁，林小姐在VIP室等您。",
            "Mr.\nGu, Miss Lin is waiting\nin the VIP room.",
        ),  # cue line break
        ("顾总的契约", "MR. GU'S CONTRACT"),  # case-insensitive, possessive
        ("顾总的契约", "Mr. Gu’s contracts"),  # curly apostrophe, plural
        ("言深，你来了。", "Yanshen, you came."),  # the alias' own rendering
        ("言深，你来了。", "Gu Yanshen, you came."),  # the full name is accepted too
        ("顾氏集团", "the Gu Group"),
        ("没有术语", "Nothing to check."),
    ],
)
def test_adherence_passes(example: Glossary, source: str, target: str) -> None:
    assert example.check_adherence(source, target, "en") == []


def test_adherence_word_boundaries_and_case_sensitive() -> None:
    glossary = parse_glossary(
        SERIES
        + dedent("""
            [[terms]]
            zh = "契约"
            to = { en = "contract" }

            [[terms]]
            zh = "星辰"
            to = { en = "StarCorp" }
            case_sensitive = true
        """)
    )
    assert glossary.check_adherence("契约", "a contractual matter", "en") != []
    assert glossary.check_adherence("星辰", "Welcome to starcorp.", "en") != []
    assert glossary.check_adherence("星辰", "Welcome to StarCorp.", "en") == []


# --------------------------------------------------------------------------- validation


def test_syntax_error_keeps_tomllib_line() -> None:
    text = SERIES + '\n[[characters]]\nzh = 顾言深\nto = { en = "Gu Yanshen" }\n'
    err = error_of(text)
    assert err.line == 7
    assert err.message.startswith("TOML syntax error")
    assert "column" in err.message
    assert "double quotes" in err.hint
    assert str(err).startswith("demo.toml:7: TOML syntax error")


def test_syntax_error_duplicate_key_hint() -> None:
    text = SERIES + '\n[[characters]]\nzh = "顾言深"\nzh = "顾言琛"\n'
    err = error_of(text)
    assert err.line == 8
    assert "twice" in err.hint


def test_unknown_key_names_entry_and_suggests() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "顾言深"
        rendring = { en = "Gu Yanshen" }
        gender = "male"
    """)
    err = error_of(text)
    # the missing 'to' is reported at the entry header (line 6), the unknown key on its line
    lines = {line.split(": ", 1)[0] for line in err.message.splitlines() if "demo.toml:" in line}
    assert lines == {"demo.toml:6", "demo.toml:8"}
    assert (
        "demo.toml:8: unknown key 'rendring' in [[characters]] entry 顾言深; known keys: zh, to,"
        in (err.message)
    )
    assert "did you mean 'to'?" in err.message
    assert err.entry == "顾言深"


def test_unknown_key_alone() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "顾言深"
        to = { en = "Gu Yanshen" }
        gender = "male"
        note = "typo"
    """)
    err = error_of(text)
    assert err.line == 10
    assert err.message.startswith("unknown key 'note' in [[characters]] entry 顾言深; known keys:")
    assert err.hint.startswith("did you mean 'notes'?")


def test_rendering_written_outside_to() -> None:
    text = SERIES + '\n[[terms]]\nzh = "契约"\nto = { en = "contract" }\nes = "contrato"\n'
    err = error_of(text)
    assert err.line == 9
    assert "renderings go inside to" in err.hint


def test_unknown_section() -> None:
    text = SERIES + '\n[[charcters]]\nzh = "顾言深"\n'
    err = error_of(text)
    assert err.line == 6
    assert "unknown section or key 'charcters'" in err.message
    assert "did you mean 'characters'?" in err.hint


def test_missing_required_field_points_at_header() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "林晚"
        to = { en = "Lin Wan" }
        gender = "female"

        [[characters]]
        zh = "苏曼"
        to = { en = "Su Man" }
    """)
    err = error_of(text)
    assert err.line == 11
    assert err.message == "missing required key 'gender' in [[characters]] entry 苏曼"
    assert err.hint == 'add gender = "male"'
    assert err.entry == "苏曼"


def test_missing_zh_uses_entry_number() -> None:
    text = SERIES + '\n[[address]]\nto = { en = "Mr. Gu" }\n'
    err = error_of(text)
    assert (err.line, err.entry) == (6, "#1")
    assert "missing required key 'zh' in [[address]] entry #1" in err.message


def test_missing_series() -> None:
    err = error_of('[[terms]]\nzh = "契约"\nto = { en = "contract" }\n')
    assert err.line == 1
    assert "missing [series] section" in err.message
    assert "add [series]" in err.hint


@pytest.mark.parametrize(
    ("snippet", "line", "message", "hint"),
    [
        ('to = "Gu Yanshen"', 8, "to in [[characters]] entry 顾言深 must be a table", "to = {"),
        ('aliases = "言深"', 8, "aliases in [[characters]] entry 顾言深 must be a list", "["),
        (
            "notes = 3",
            8,
            "notes in [[characters]] entry 顾言深 must be text, not a number",
            "notes =",
        ),
        ("voice = { en = 1 }", 8, "voice.en in [[characters]] entry 顾言深 must be text", "quotes"),
        (
            'gender = "man"',
            8,
            "gender 'man' in [[characters]] entry 顾言深 is not one of",
            "female",
        ),
    ],
)
def test_wrong_types(snippet: str, line: int, message: str, hint: str) -> None:
    # the snippet goes on line 8, right after zh; the other required keys follow it
    key = snippet.split(" ")[0]
    rest = [k for k in ('to = { en = "Gu Yanshen" }', 'gender = "male"') if not k.startswith(key)]
    text = SERIES + "\n".join(["", "[[characters]]", 'zh = "顾言深"', snippet, *rest, ""])
    err = error_of(text)
    assert err.line == line, err.message
    assert message in err.message
    assert hint in err.hint
    assert err.entry == "顾言深"


def test_case_sensitive_must_be_bool() -> None:
    text = SERIES + '\n[[terms]]\nzh = "契约"\nto = { en = "contract" }\ncase_sensitive = "yes"\n'
    err = error_of(text)
    assert err.line == 9
    assert "case_sensitive in [[terms]] entry 契约 must be true or false" in err.message
    assert "no quotes" in err.hint


def test_section_written_as_single_table() -> None:
    err = error_of(SERIES + '\n[characters]\nzh = "顾言深"\n')
    assert err.line == 6
    assert "[[characters]]" in err.message
    assert "double brackets" in err.hint


def test_duplicate_entry_across_sections() -> None:
    text = SERIES + dedent("""
        [[address]]
        zh = "顾总"
        to = { en = "Mr. Gu" }

        [[terms]]
        zh = "顾总"
        to = { en = "Mr. Gu" }
    """)
    err = error_of(text)
    assert err.line == 11
    assert (
        err.message
        == "duplicate entry: [[terms]] entry 顾总 repeats [[address]] entry 顾总 (line 6)"
    )
    assert "keep one" in err.hint
    assert err.entry == "顾总"


def test_conflicting_renderings() -> None:
    text = SERIES + dedent("""
        [[address]]
        zh = "总裁"
        to = { en = "Mr. Gu" }

        [[terms]]
        # a second opinion
        zh = "总裁"
        to = { en = "CEO" }
    """)
    err = error_of(text)
    assert err.line == 12
    assert "conflicting renderings for 总裁" in err.message
    assert "en = 'CEO'" in err.message and "en = 'Mr. Gu'" in err.message
    assert "(line 6)" in err.message
    assert "one rendering per language" in err.hint


def test_alias_collides_with_entry() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "顾言深"
        to = { en = "Gu Yanshen" }
        gender = "male"
        aliases = ["言深"]

        [[address]]
        zh = "言深"
        to = { en = "Yanshen" }
    """)
    err = error_of(text)
    assert err.line == 10
    assert err.message == (
        "alias 言深 of [[characters]] entry 顾言深 collides with [[address]] entry 言深 (line 12)"
    )
    assert "remove the alias" in err.hint


def test_alias_collides_with_alias() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "林晚"
        to = { en = "Lin Wan" }
        gender = "female"
        aliases = ["晚晚"]

        [[characters]]
        zh = "苏曼"
        to = { en = "Su Man" }
        gender = "female"
        aliases = [{ zh = "晚晚", to = { en = "Wanwan" } }]
    """)
    err = error_of(text)
    assert err.line == 16
    assert "alias 晚晚 of [[characters]] entry 苏曼 collides with the alias of" in err.message
    assert "(line 10)" in err.message


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ('zh = ""', "zh in [[terms]] entry #1 is empty"),
        ('zh = "契约"\nto = { en = "" }', "to.en in [[terms]] entry 契约 is empty"),
        ('zh = "契约"\nto = { en = "  " }', "to.en in [[terms]] entry 契约 is empty"),
        ('zh = "契约"\nto = {}', "to in [[terms]] entry 契约 is empty"),
        ('zh = "契约"\nto = { en = " contract" }', "starts or ends with spaces"),
    ],
)
def test_empty_strings(snippet: str, what: str) -> None:
    text = SERIES + f"\n[[terms]]\n{snippet}\n"
    if "to =" not in snippet:
        text += 'to = { en = "contract" }\n'
    err = error_of(text)
    assert what in err.message
    assert err.line == text.splitlines().index(snippet.splitlines()[-1]) + 1
    assert err.hint


@pytest.mark.parametrize(
    ("code", "suggestion"),
    [("EN", "en"), ("pt_br", "pt-BR"), ("zh-hans", "zh-Hans"), ("english", None)],
)
def test_invalid_language_code_in_renderings(code: str, suggestion: str | None) -> None:
    text = SERIES + f'\n[[terms]]\nzh = "契约"\nto = {{ en = "contract", {code} = "x" }}\n'
    err = error_of(text)
    assert err.line == 8
    assert f"invalid language code '{code}' in to of [[terms]] entry 契约" in err.message
    if suggestion:
        assert f"did you mean '{suggestion}'?" in err.hint
    assert "pt-BR" in err.hint


def test_invalid_language_code_in_targets() -> None:
    text = '[series]\nid = "demo"\ntitle = { en = "Demo" }\ntargets = ["en", "pt_BR"]\n'
    err = error_of(text)
    assert err.line == 4
    assert "invalid language code 'pt_BR' in targets of [series]" in err.message
    assert "did you mean 'pt-BR'?" in err.hint


@pytest.mark.parametrize("code", ["en", "es", "pt-BR", "zh-Hans", "zh-Hant-TW", "es-419", "yue"])
def test_language_codes_accepted(code: str) -> None:
    assert is_language_code(code)


def test_target_rendering_required() -> None:
    text = SERIES.replace('["en"]', '["en", "es"]') + dedent("""
        [[characters]]
        zh = "苏曼"
        to = { en = "Su Man" }
        gender = "female"
    """)
    err = error_of(text)
    assert err.line == 8
    assert "[[characters]] entry 苏曼 has no 'es' rendering" in err.message
    assert 'add es = "..."' in err.hint


def test_refers_to_must_name_a_character() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "顾言深"
        to = { en = "Gu Yanshen" }
        gender = "male"

        [[address]]
        zh = "顾总"
        to = { en = "Mr. Gu" }
        refers_to = "顾延深"
    """)
    err = error_of(text)
    assert err.line == 14
    assert "refers_to 顾延深 in [[address]] entry 顾总 is not a [[characters]] entry" in err.message
    assert "顾言深" in err.message


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        (
            '["奶"]',
            "ignore_in word 奶 of [[address]] entry 奶奶 is not a longer word containing 奶奶",
            "longer",
        ),
        (
            '["奶奶"]',
            "ignore_in word 奶奶 of [[address]] entry 奶奶 is not a longer word",
            "longer",
        ),
        ('["顾奶奶"]', "ignore_in word 顾奶奶 of [[address]] entry 奶奶 is a form of", "remove it"),
        (
            '"少奶奶"',
            "ignore_in in [[address]] entry 奶奶 must be a list",
            'ignore_in = ["少奶奶"]',
        ),
    ],
)
def test_ignore_in_validation(value: str, message: str, hint: str) -> None:
    text = SERIES + dedent(f"""
        [[address]]
        zh = "奶奶"
        to = {{ en = "Grandma" }}
        ignore_in = {value}

        [[address]]
        zh = "顾奶奶"
        to = {{ en = "Grandma Gu" }}
    """)
    err = error_of(text)
    assert err.line == 9
    assert message in err.message
    assert hint in err.hint
    assert err.entry == "奶奶"


def test_series_id_must_be_slug() -> None:
    err = error_of(SERIES.replace('"demo"', '"CEO Bride"'))
    assert err.line == 2
    assert "series id 'CEO Bride' is not a slug" in err.message
    assert "'ceo-bride'" in err.hint


def test_all_problems_listed_with_lines() -> None:
    text = SERIES + dedent("""
        [[characters]]
        zh = "顾言深"
        to = { en = "Gu Yanshen" }
        gender = "male"
        rendring = "x"

        [[terms]]
        zh = "契约"
        to = { EN = "contract" }
    """)
    err = error_of(text)
    assert err.message.startswith("2 problems in glossary:")
    assert "demo.toml:10: unknown key 'rendring'" in err.message
    assert "demo.toml:14: invalid language code 'EN'" in err.message
    assert err.message.index("demo.toml:10:") < err.message.index("demo.toml:14:")
    # the fields carry the first problem
    assert (err.path, err.line, err.entry) == ("demo.toml", 10, "顾言深")
    assert isinstance(err, LocalizeError)


def test_lines_survive_multiline_strings_and_dotted_keys() -> None:
    text = dedent('''\
        [series]
        id = "demo"
        title = { en = "Demo" }
        targets = ["en"]
        synopsis = """
        [[characters]]
        zh = "not a header"
        """

        [[characters]]
        zh = "林晚"
        to.en = "Lin Wan"
        gender = "female"
        aliases = [
            "晚晚",
        ]

        [[characters]]
        zh = "苏曼"
        to.en = "Su Man"
        gender = "femail"
    ''')
    err = error_of(text)
    assert err.line == 21
    assert err.entry == "苏曼"


def test_glossary_error_pickles() -> None:
    err = error_of(SERIES + '\n[[terms]]\nzh = "契约"\nto = { en = "" }\n')
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is GlossaryError
    assert (back.message, back.hint, back.path, back.line, back.entry) == (
        err.message,
        err.hint,
        err.path,
        err.line,
        err.entry,
    )
    assert str(back) == str(err)


# --------------------------------------------------------------------------- files


def test_load_reports_path_and_handles_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SERIES.encode())
    assert load_glossary(path).series.id == "demo"
    path.write_text(SERIES + '\n[[terms]]\nzh = "契约"\n', encoding="utf-8")
    err = load_error(path)
    assert (err.path, err.line) == (str(path), 6)
    assert str(err).startswith(f"{path}:6: missing required key 'to'")


def test_load_missing_and_not_utf8(tmp_path: Path) -> None:
    err = load_error(tmp_path / "nope.toml")
    assert "not found" in err.message
    path = tmp_path / "gbk.toml"
    path.write_bytes(SERIES.encode() + '\n[[terms]]\nzh = "契约"\n'.encode("gbk"))
    err = load_error(path)
    assert err.line == 7
    assert "UTF-8" in err.hint


# --------------------------------------------------------------------------- version


def test_version_ignores_comments_and_whitespace() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    version = parse_glossary(text).version
    assert len(version) == 12 and int(version, 16) >= 0
    assert parse_glossary(text + "\n\n# trailing comment\n   \n").version == version
    assert parse_glossary("# header\n" + text.replace("\n[[terms]]", "\n\n[[terms]]")).version == (
        version
    )
    # key order inside an entry is not content either
    swapped = text.replace(
        'zh = "苏曼"\nto = { en = "Su Man", es = "Su Man" }',
        ('to = { en = "Su Man", es = "Su Man" }\nzh = "苏曼"'),
    )
    assert swapped != text
    assert parse_glossary(swapped).version == version


def test_version_changes_with_content() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    version = parse_glossary(text).version
    assert parse_glossary(text.replace('"Mr. Gu"', '"Mr Gu"')).version != version
    # notes reach the MT prompt, so they are content
    assert parse_glossary(text.replace("keep the Chinese order", "keep order")).version != version
    # entry order sets hotword priority, so it is content too
    contract = '[[terms]]\nzh = "契约"\n'
    agreement = '[[terms]]\nzh = "合同"\n'
    swapped = text.replace(contract, "@@").replace(agreement, contract).replace("@@", agreement)
    assert parse_glossary(swapped).version != version


def test_glossary_pickles(example: Glossary) -> None:
    assert example.version  # populate the cache first: it must not break pickling
    back = pickle.loads(pickle.dumps(example))
    assert back == example and back.version == example.version
    assert back.entries_in("顾总") == example.entries_in("顾总")


# --------------------------------------------------------------------------- round trip

LANGS = ["en", "es", "pt-BR", "fr", "zh-Hant", "es-419"]
cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
# CJK extension A: never drawn for forms, so zh + one of these is a new, longer word
cjk_ext = st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF)
# any text a person might type, including quotes, backslashes and tabs, trimmed and non-empty
text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
    | st.sampled_from(['"', "\\", "'", "\t", "\x7f", "é", "’"]),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and bool(s))


@st.composite
def glossaries(draw: st.DrawFn) -> Glossary:
    langs = draw(st.lists(st.sampled_from(LANGS), min_size=1, max_size=3, unique=True))
    targets = tuple(langs[: draw(st.integers(1, len(langs)))])
    kinds = draw(st.lists(st.sampled_from(list(EntryKind)), max_size=8))
    alias_counts = [0 if k is EntryKind.DNT else draw(st.integers(0, 2)) for k in kinds]
    forms = iter(
        draw(
            st.lists(
                st.text(cjk, min_size=1, max_size=4),
                min_size=len(kinds) + sum(alias_counts),
                max_size=len(kinds) + sum(alias_counts),
                unique=True,
            )
        )
    )
    dnt_texts = iter(
        draw(
            st.lists(
                st.from_regex(r"[A-Z]{1,5}", fullmatch=True), min_size=8, max_size=8, unique=True
            )
        )
    )

    def renderings(required: tuple[str, ...]) -> dict[str, str]:
        chosen = draw(st.lists(st.sampled_from(langs), unique=True))
        return {lang: draw(text) for lang in dict.fromkeys([*required, *chosen])}

    entries: list[GlossaryEntry] = []
    characters: list[str] = []
    for kind, n_aliases in zip(kinds, alias_counts, strict=True):
        notes = draw(st.one_of(st.just(""), text, st.text(max_size=30)))
        if kind is EntryKind.DNT:
            entries.append(GlossaryEntry(kind, next(dnt_texts), notes=notes))
            continue
        zh = next(forms)
        aliases = tuple(next(forms) for _ in range(n_aliases))
        own = {a: renderings(()) for a in aliases if draw(st.booleans())}
        extra = draw(st.lists(cjk_ext, max_size=2, unique=True))
        entries.append(
            GlossaryEntry(
                kind,
                zh,
                renderings=renderings(targets),
                aliases=aliases,
                alias_renderings={a: r for a, r in own.items() if r},
                gender=draw(st.sampled_from(["male", "female", "other", "unknown"]))
                if kind is EntryKind.CHARACTER
                else None,
                notes=notes,
                voice=renderings(()) if kind is EntryKind.CHARACTER else {},
                refers_to=draw(st.one_of(st.none(), st.sampled_from(characters)))
                if kind is EntryKind.ADDRESS and characters
                else None,
                case_sensitive=draw(st.booleans()) if kind is EntryKind.TERM else False,
                ignore_in=tuple(c + zh for c in extra),
            )
        )
        if kind is EntryKind.CHARACTER:
            characters.append(zh)
    synopsis = draw(st.one_of(st.just({}), st.builds(lambda s: {"en": s}, text), st.just(None)))
    series = SeriesInfo(
        id=draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)),
        title={"zh-Hans": draw(text), **renderings(())},
        synopsis=synopsis if synopsis is not None else renderings(()),
        source_language="zh-Hans",
        targets=targets,
    )
    return Glossary(series, tuple(entries))


@settings(max_examples=80, deadline=None)
@given(glossaries())
def test_dump_round_trips(glossary: Glossary) -> None:
    written = dump_glossary(glossary)
    loaded = parse_glossary(written)
    assert loaded == glossary
    assert loaded.version == glossary.version
    assert dump_glossary(loaded) == written


def test_dump_example_round_trips(example: Glossary) -> None:
    assert parse_glossary(dump_glossary(example)) == example


def test_glossary_errors_are_not_subtitle_errors_but_keep_their_place() -> None:
    """Code that handles a bad subtitle file must not swallow a bad glossary."""
    import pickle

    from localize.errors import FileLocationError, GlossaryError, SubtitleFormatError

    err = GlossaryError("bad gender", 'write gender = "male"', "g.toml", 7, "顾言深")
    assert not isinstance(err, SubtitleFormatError)
    assert isinstance(err, FileLocationError)
    assert str(err).startswith("g.toml:7: bad gender")
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.line, back.entry, back.hint) == ("g.toml", 7, "顾言深", err.hint)
