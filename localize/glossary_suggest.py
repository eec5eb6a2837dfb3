"""Propose a series glossary from its first episodes' Chinese lines.

Most series arrive with no script or cast list. This finds what recurs: person names
(Chinese word segmentation with part-of-speech tags), forms of address built from a
surname and a title (顾总, 林小姐, 陈秘书), fixed titles (总裁, 奶奶), places and
organisations; counts them across episodes; and proposes a rendering per target
language (pinyin names, "Mr. Gu"-style addresses) for the manager to confirm. The
output is a valid glossary file: every proposal carries example lines in its notes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from localize.errors import LocalizeError
from localize.glossary import EntryKind, Glossary, GlossaryEntry, SeriesInfo

#: title suffix -> English pattern ("{s}" = the surname in pinyin)
_TITLES: Mapping[str, str] = {
    "总": "Mr. {s}",
    "先生": "Mr. {s}",
    "小姐": "Miss {s}",
    "太太": "Mrs. {s}",
    "夫人": "Mrs. {s}",
    "老夫人": "Madam {s}",
    "秘书": "Secretary {s}",
    "董": "Chairman {s}",
    "少": "Young Master {s}",
    "医生": "Dr. {s}",
    "律师": "Attorney {s}",
}
#: forms of address that stand alone; the manager decides the series' rendering
_STANDALONE: Mapping[str, str] = {
    "总裁": "Mr. President",
    "董事长": "Chairman",
    "奶奶": "Grandma",
    "爷爷": "Grandpa",
    "少奶奶": "Young Madam",
    "少爷": "Young Master",
    "老公": "honey",
    "老婆": "honey",
    "大小姐": "Miss",
}
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
    "陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_ADDRESS = re.compile(
    rf"([{_SURNAMES}])({'|'.join(sorted(map(re.escape, _TITLES), key=len, reverse=True))})"
)
_HAN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass
class Candidate:
    """A recurring item and where it was seen."""

    zh: str
    kind: EntryKind
    count: int = 0
    episodes: set[int] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)


def _pinyin_name(name: str) -> str:
    """林晚 -> "Lin Wan", 顾言深 -> "Gu Yanshen" (surname, then the given name as one word)."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name)
    if len(syllables) == 1:
        return syllables[0].capitalize()
    return f"{syllables[0].capitalize()} {''.join(syllables[1:]).capitalize()}"


def _propose(candidate: Candidate) -> str:
    if candidate.kind is EntryKind.CHARACTER:
        return _pinyin_name(candidate.zh)
    if candidate.zh in _STANDALONE:
        return _STANDALONE[candidate.zh]
    match = _ADDRESS.fullmatch(candidate.zh)
    if match:
        return _TITLES[match.group(2)].format(s=_pinyin_name(match.group(1)))
    return _pinyin_name(candidate.zh)


def find_candidates(
    episodes: Sequence[Sequence[str]], *, min_count: int | None = None
) -> list[Candidate]:
    """Recurring names, forms of address and terms in the episodes' lines.

    An item is kept when it occurs ``min_count`` times (default: 2 with three or more
    episodes, else 1: one episode is too little to ask for repeats) or in two episodes;
    most frequent first, then by first appearance.
    """
    if min_count is None:
        min_count = 2 if len(episodes) >= 3 else 1
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)  # its dictionary-loading chatter is not for users
    found: dict[str, Candidate] = {}

    def see(zh: str, kind: EntryKind, episode: int, line: str) -> None:
        cand = found.setdefault(zh, Candidate(zh, kind))
        cand.count += 1
        cand.episodes.add(episode)
        if len(cand.examples) < 2 and line not in cand.examples:
            cand.examples.append(line)

    for number, lines in enumerate(episodes, 1):
        for raw in lines:
            line = raw.replace("\n", "")
            spans: list[tuple[int, int]] = []
            for match in _ADDRESS.finditer(line):
                see(match.group(0), EntryKind.ADDRESS, number, line)
                spans.append(match.span())
            for title in sorted(_STANDALONE, key=len, reverse=True):  # 少奶奶 before 奶奶
                for m in re.finditer(re.escape(title), line):
                    if not any(s <= m.start() < e for s, e in spans):
                        see(title, EntryKind.ADDRESS, number, line)
                        spans.append(m.span())
            pos = 0
            for word in pseg.cut(line):
                start, pos = pos, pos + len(word.word)
                if any(s < pos and start < e for s, e in spans) or not _HAN.fullmatch(word.word):
                    continue
                # jieba tags many non-names as nr (宁可, 小姐): a name starts with a surname
                if (
                    word.flag in ("nr", "nrfg", "nrt")
                    and 2 <= len(word.word) <= 4
                    and word.word[0] in _SURNAMES
                ):
                    see(word.word, EntryKind.CHARACTER, number, line)
                elif word.flag in ("ns", "nt", "nz") and len(word.word) >= 2:
                    see(word.word, EntryKind.TERM, number, line)
    kept = [c for c in found.values() if c.count >= min_count or len(c.episodes) >= 2]
    order = {zh: i for i, zh in enumerate(found)}
    kept.sort(key=lambda c: (-c.count, order[c.zh]))
    return kept


def suggest_glossary(
    episodes: Sequence[Sequence[str]],
    *,
    series_id: str,
    title: str = "",
    targets: Sequence[str] = ("en",),
    min_count: int | None = None,
) -> Glossary:
    """A glossary proposal for the manager to confirm (renderings are suggestions)."""
    if not any(line.strip() for lines in episodes for line in lines):
        raise LocalizeError(
            "no Chinese lines to learn from",
            "pass episodes with burned-in captions or speech, or subtitle files",
        )
    candidates = find_candidates(episodes, min_count=min_count)
    entries = []
    for cand in candidates:
        rendering = _propose(cand)
        seen = f"seen {cand.count}x in {len(cand.episodes)} episode(s)"
        what = "pinyin placeholder, translate" if cand.kind is EntryKind.TERM else "confirm"
        notes = f"SUGGESTED ({seen}; {what}): " + " / ".join(cand.examples)
        entries.append(
            GlossaryEntry(
                kind=cand.kind,
                zh=cand.zh,
                renderings={lang: rendering for lang in targets},
                gender="unknown" if cand.kind is EntryKind.CHARACTER else None,
                notes=notes,
            )
        )
    series = SeriesInfo(
        id=series_id,
        title={"zh-Hans": title or series_id, **{lang: title or series_id for lang in targets}},
        targets=tuple(targets),
    )
    return Glossary(series, tuple(entries))
