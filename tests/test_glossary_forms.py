"""Forms of address derived from the characters' surnames, and what overrides them."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.cli import main
from localize.domain import Cue, CueTrack
from localize.glossary import Glossary, parse_glossary
from localize.translate.enforce import translate_cues
from localize.translate.fake import FakeTranslator

HEAD = """
[series]
id = "forms"
title = { en = "Forms" }
targets = ["en"]

[[characters]]
zh = "沈若溪"
to = { en = "Shen Ruoxi", es = "Shen Ruoxi" }
gender = "female"

[[characters]]
zh = "陆景行"
to = { en = "Lu Jingxing" }
gender = "male"
"""


def _glossary(extra: str = "") -> Glossary:
    return parse_glossary(HEAD + extra)


def _required(glossary: Glossary, line: str) -> dict[str, str]:
    return dict(glossary.required_renderings(line, "en"))


def test_common_forms_follow_from_surname_and_gender() -> None:
    g = _glossary()
    assert _required(g, "沈小姐，陆先生和陆太太在等沈总和陆总。") == {
        "沈小姐": "Miss Shen",
        "陆先生": "Mr. Lu",
        "陆太太": "Mrs. Lu",
        "沈总": "Ms. Shen",
        "陆总": "Mr. Lu",
    }
    miss = g.entry("沈小姐")
    assert miss is not None and miss.refers_to == "沈若溪"
    assert g.rendering(miss, "es") == "señorita Shen"
    # 总 after a surname is often "always": 小陆总是迟到 is not Mr. Lu
    assert _required(g, "小陆总是迟到。") == {}


def test_an_explicit_entry_wins_over_the_derived_form() -> None:
    g = _glossary('\n[[address]]\nzh = "陆总"\nto = { en = "President Lu" }\n')
    assert _required(g, "陆总，您好。") == {"陆总": "President Lu"}
    assert "陆总" not in [e.zh for e in g.derived]


def test_names_not_rendered_surname_first_derive_nothing() -> None:
    g = parse_glossary(
        HEAD.replace('"Shen Ruoxi", es = "Shen Ruoxi"', '"Sophie Shen"').replace(
            '"Lu Jingxing"', '"Secretary Lu"'
        )
    )
    assert g.derived == ()
    assert _required(g, "沈小姐，陆先生。") == {}


def test_a_form_two_characters_would_render_differently_is_left_out() -> None:
    g = _glossary('\n[[characters]]\nzh = "沈浩"\nto = { en = "Shen Hao" }\ngender = "male"\n')
    derived = {e.zh for e in g.derived}
    assert "沈总" not in derived  # Ms. Shen or Mr. Shen: the glossary must say
    assert {"沈小姐", "沈先生", "沈太太"} <= derived


def test_derived_forms_are_enforced_in_translation() -> None:
    g = _glossary()
    track = CueTrack("zh-Hans", (Cue(0, 1500, "沈小姐，谢谢。"),))
    # a line with the form word for word is flagged
    violations = g.check_adherence("沈小姐，谢谢。", "Shen Miss, thanks.", "en")
    assert [v.expected for v in violations] == ["Miss Shen"]
    obeying = FakeTranslator({"谢谢": "thanks"}, follows_instructions=True)
    out, outcomes = translate_cues(track, obeying, target="en", glossary=g)
    assert out.cues[0].text.startswith("Miss Shen") and not outcomes[0].problems


def test_glossary_check_lists_the_derived_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "forms.toml"
    path.write_text(HEAD, encoding="utf-8")
    assert main(["glossary", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "沈小姐: en 'Miss Shen', es 'señorita Shen'" in out
    assert "陆太太: en 'Mrs. Lu'" in out
