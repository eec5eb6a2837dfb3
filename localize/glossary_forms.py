"""Forms of address derived from each character's surname: 沈小姐 -> "Miss Shen", 陆总 -> "Mr. Lu".

A glossary lists its characters once; the polite forms built from their surnames (X小姐,
X先生, X太太, X夫人, X女士, X总, X董) follow a rule, so writing each out by hand is busywork
that is easy to forget, and a forgotten one is exactly where a model writes "Shen
Miss" or leaves 沈小姐 in Chinese. The rule applies only when a character's rendering
starts with the romanised surname (沈若溪 -> "Shen Ruoxi"): a name rendered otherwise
("Sophie Shen", "Secretary Chen") gives no forms, since the glossary has chosen something
the rule cannot guess. An explicit glossary entry for the same form always wins, and a
form two characters would derive differently (a Mr. and a Ms. Lin both called 林总) is
left out as ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localize.glossary import GlossaryEntry

__all__ = ["COMPOUND_SURNAMES", "DerivedForm", "derive_forms", "surname_of"]

#: two-character surnames (the common ones); any other name's surname is its first character
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "慕容",
        "东方",
        "皇甫",
        "令狐",
        "南宫",
        "西门",
        "公孙",
        "宇文",
        "长孙",
        "夏侯",
        "尉迟",
        "端木",
        "独孤",
        "司徒",
        "司空",
        "百里",
        "呼延",
        "轩辕",
        "赫连",
        "钟离",
        "澹台",
        "东郭",
        "闻人",
    }
)

#: suffix -> who it is derived from -> target language -> template ({} is the surname)
#: "male"/"female": the character's own gender; "wife": a male character's wife (陆太太)
_RULES: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "先生": ("male", {"en": "Mr. {}", "es": "señor {}", "pt-BR": "Sr. {}", "fr": "M. {}",
                    "de": "Herr {}"}),
    "小姐": ("female", {"en": "Miss {}", "es": "señorita {}", "pt-BR": "Srta. {}",
                      "fr": "Mlle {}", "de": "Frau {}"}),
    "女士": ("female", {"en": "Ms. {}", "es": "señora {}", "pt-BR": "Sra. {}", "fr": "Mme {}",
                      "de": "Frau {}"}),
    "太太": ("wife", {"en": "Mrs. {}", "es": "señora {}", "pt-BR": "Sra. {}", "fr": "Mme {}",
                    "de": "Frau {}"}),
    "夫人": ("wife", {"en": "Mrs. {}", "es": "señora {}", "pt-BR": "Sra. {}", "fr": "Mme {}",
                    "de": "Frau {}"}),
}  # fmt: skip
#: boss titles (总 for 总裁/总经理, 董 for 董事长): Mr. or Ms. by the character's gender
_BOSS_SUFFIXES = ("总", "董")
_BOSS: Mapping[str, Mapping[str, str]] = {
    "male": {"en": "Mr. {}", "es": "señor {}", "pt-BR": "Sr. {}", "fr": "M. {}", "de": "Herr {}"},
    "female": {"en": "Ms. {}", "es": "señora {}", "pt-BR": "Sra. {}", "fr": "Mme {}",
               "de": "Frau {}"},
}  # fmt: skip
#: words that start like X总 but are "X always/at last/in short" (小林总是迟到): not the form
_NOT_BOSS = ("是", "算", "之", "得", "会", "要", "归", "共", "有", "能", "在", "觉得")


@dataclass(frozen=True)
class DerivedForm:
    """One derived form of address: ``zh`` (沈小姐) -> ``renderings`` ({"en": "Miss Shen"})."""

    zh: str
    renderings: Mapping[str, str]
    #: the character addressed by the form, or None (陆太太 is his wife, not 陆先生)
    refers_to: str | None
    #: longer words that contain the form but mean something else
    ignore_in: tuple[str, ...] = ()


def surname_of(name: str) -> str:
    """The surname of a Chinese name: a known compound surname, else the first character."""
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


def _romanised_surname(entry: GlossaryEntry, surname: str, lang: str) -> str | None:
    """The surname as the entry's ``lang`` rendering writes it, if that rendering starts
    with the surname's pinyin (any reading: 单 is Shan as a surname)."""
    from pypinyin import Style, pinyin

    rendering = entry.renderings.get(lang, "")
    first = rendering.split(" ", 1)[0] if rendering else ""
    if not first:
        return None
    readings = [""]
    for syllable in pinyin(surname, style=Style.NORMAL, heteronym=True):
        readings = [r + s for r in readings for s in syllable]
    return first if first.lower().replace("ü", "v") in readings else None


def _candidates(entry: GlossaryEntry) -> Iterable[DerivedForm]:
    surname = surname_of(entry.zh)
    if len(entry.zh) <= len(surname):
        return
    romanised = {
        lang: name
        for lang in entry.renderings
        if (name := _romanised_surname(entry, surname, lang)) is not None
    }
    if not romanised:
        return
    for suffix, (who, templates) in _RULES.items():
        if (who == "wife" and entry.gender == "male") or who == entry.gender:
            yield DerivedForm(
                surname + suffix,
                _fill(templates, romanised),
                None if who == "wife" else entry.zh,
            )
    boss = _BOSS.get(entry.gender or "")
    if boss is not None:
        for suffix in _BOSS_SUFFIXES:
            form = surname + suffix
            yield DerivedForm(
                form,
                _fill(boss, romanised),
                entry.zh,
                tuple(form + word for word in _NOT_BOSS),
            )


def _fill(templates: Mapping[str, str], surnames: Mapping[str, str]) -> dict[str, str]:
    return {
        lang: templates[lang].format(name) for lang, name in surnames.items() if lang in templates
    }


def derive_forms(
    characters: Iterable[GlossaryEntry], explicit: Iterable[str]
) -> tuple[DerivedForm, ...]:
    """The forms of address derived from ``characters``, minus the ``explicit`` source
    forms the glossary already defines and the forms two characters disagree on."""
    taken = set(explicit)
    found: dict[str, DerivedForm] = {}
    ambiguous: set[str] = set()
    for entry in characters:
        for form in _candidates(entry):
            if form.zh in taken or not form.renderings:
                continue
            seen = found.get(form.zh)
            if seen is not None and dict(seen.renderings) != dict(form.renderings):
                ambiguous.add(form.zh)
            found.setdefault(form.zh, form)
    return tuple(form for zh, form in found.items() if zh not in ambiguous)
