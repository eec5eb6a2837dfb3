"""The sample episode's script: an original scene written by the team, kept as data.

Series 总裁的契约新娘 (The CEO's Contract Bride), episode 1. The cast and the names,
forms of address and terms used here are the ones the sample series glossary
defines; change them together. The English lines are reference translations for
machine-translation tests, not subtitles to ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Character:
    """One member of the cast.

    ``id`` is the stable speaker id used in cues and ground truth; ``card_zh`` is the
    role line shown under the name on the character's first appearance.
    """

    id: str
    name_zh: str
    name_en: str
    gender: Literal["female", "male"]
    role_en: str
    card_zh: str
    aliases_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptLine:
    """One spoken line: who says it, the Chinese text and a reference English translation.

    ``effect_before`` names a sound effect heard just before the line (e.g. ``"slap"``).
    """

    speaker: str
    zh: str
    en: str
    effect_before: str | None = None


@dataclass(frozen=True)
class Script:
    """A whole episode script: series titles, episode number, cast and lines in order."""

    series_zh: str
    series_en: str
    episode: int
    cast: tuple[Character, ...]
    lines: tuple[ScriptLine, ...]


CAST: tuple[Character, ...] = (
    Character("lin_wan", "林晚", "Lin Wan", "female", "female lead", "契约新娘", ("晚晚",)),
    Character("gu_yanshen", "顾言深", "Gu Yanshen", "male", "CEO of 顾氏集团", "顾氏集团总裁"),
    Character("su_man", "苏曼", "Su Man", "female", "rival", "顾言深前女友"),
    Character("secretary_chen", "陈秘书", "Secretary Chen", "male", "Gu's secretary", "总裁秘书"),
    Character("madam_gu", "顾老夫人", "Madam Gu", "female", "the grandmother", "顾家老夫人"),
)

LINES: tuple[ScriptLine, ...] = (
    ScriptLine(
        "secretary_chen",
        "顾总，林小姐已经在VIP会客室等您了。",
        "Mr. Gu, Miss Lin is already waiting for you in the VIP lounge.",
    ),
    ScriptLine(
        "gu_yanshen",
        "林晚，这是契约。签了它，你就是顾太太。",
        "Lin Wan, this is the contract. Sign it, and you'll be Mrs. Gu.",
    ),
    ScriptLine(
        "lin_wan",
        "一年为期。你救我爸爸，我陪你演这场戏。",
        "One year. You save my father, and I'll play this part for you.",
    ),
    ScriptLine("lin_wan", "好，这份合同，我签了。", "Fine. I'll sign this contract."),
    ScriptLine(
        "su_man",
        "顾言深！你宁可娶她，也不肯娶我？",
        "Gu Yanshen! You'd rather marry her than me?",
    ),
    ScriptLine("gu_yanshen", "苏曼，我们早就结束了。", "Su Man, we were over a long time ago."),
    ScriptLine(
        "su_man",
        "林晚，你不过是个拿钱办事的替身！",
        "Lin Wan, you're nothing but a stand-in who's paid to play a part!",
    ),
    ScriptLine(
        "lin_wan",
        "这一巴掌，是教你好好说话。",
        "That slap is to teach you to watch your mouth.",
        effect_before="slap",
    ),
    ScriptLine(
        "gu_yanshen",
        "她是我的人。陈秘书，送苏小姐出去！",
        "She's with me. Secretary Chen, show Miss Su out!",
    ),
    ScriptLine(
        "secretary_chen", "是，总裁。苏小姐，请吧。", "Yes, Mr. Gu. Miss Su, this way, please."
    ),
    ScriptLine(
        "su_man",
        "顾老夫人？您……您怎么来了？",
        "Madam Gu? What... what are you doing here?",
    ),
    ScriptLine(
        "madam_gu",
        "好！顾氏集团的少奶奶，就该有这份气势！",
        "Good! That's the spirit a young madam of the Gu Group should have!",
    ),
    ScriptLine(
        "lin_wan",
        "奶奶好，我是林晚，您叫我晚晚就行。",
        "Hello, Grandma. I'm Lin Wan. Just call me Wanwan.",
    ),
    ScriptLine(
        "madam_gu",
        "言深，这个林小姐，奶奶喜欢！",
        "Yanshen, Grandma likes this Miss Lin!",
    ),
    ScriptLine(
        "lin_wan",
        "顾总，合同里可没写你要护着我。",
        "Mr. Gu, the contract never said you had to protect me.",
    ),
    ScriptLine(
        "gu_yanshen",
        "契约是假的，可我想护着你是真的。",
        "The contract is fake, but wanting to protect you is real.",
    ),
    ScriptLine("lin_wan", "你……你刚才说什么？", "You... what did you just say?"),
    ScriptLine(
        "gu_yanshen",
        "晚晚，从今天起，谁也不能再欺负你。",
        "Wanwan, from today on, no one will ever bully you again.",
    ),
)

SCRIPT = Script(
    series_zh="总裁的契约新娘",
    series_en="The CEO's Contract Bride",
    episode=1,
    cast=CAST,
    lines=LINES,
)
