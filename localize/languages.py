"""The one table of language facts: names, MP4 tags, seq2seq model codes, what the UI offers.

Our codes are BCP-47-ish (``zh-Hans``, ``en``, ``pt-BR``). Every module that needs to know
something about a language reads it here: the renditions (track titles, ISO 639-2/B tags),
the chat prompts (how a model is told the language), the seq2seq backends (each model
family's code) and the run settings (:data:`TargetLanguage`, the targets the UI offers).
Subtitle layout lives in ``data/style_profiles.toml``; a test checks that every offered
target has a profile there and that both agree on aliases.

To add a language: a :class:`Language` row below, its name in :data:`TargetLanguage` if
the UI should offer it, and a ``[profiles.<code>]`` table in the style profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = [
    "ALIASES",
    "LANGUAGES",
    "OFFERED",
    "Language",
    "TargetLanguage",
    "display_name",
    "iso639_2",
    "lookup",
    "prompt_name",
]

#: target languages the UI offers (each has a subtitle style profile); a Literal so the
#: Prefect form, the CLI and series.toml validate against it
TargetLanguage = Literal["en", "es", "pt-BR", "id", "vi", "th", "ja", "ko", "fr", "de"]
OFFERED: Final[tuple[str, ...]] = get_args(TargetLanguage)


@dataclass(frozen=True)
class Language:
    """What the pipeline knows about one language tag."""

    #: our tag (``pt-BR``); a bare primary subtag (``pt``) holds what all its variants share
    code: str
    #: English display name, for track titles and reports ("Portuguese (Brazil)")
    name: str
    #: ISO 639-2/B, the MP4 language tag (``por``)
    iso639_2: str
    #: how prompts name it to a chat model; the phrasing the prompts were measured with
    #: ("Brazilian Portuguese"); ``None``: :attr:`name`
    prompt: str | None = None
    #: each seq2seq family's names for it, preferred first. Marian names are what goes
    #: between ``>>`` and ``<<`` in multi-target models, plus the short codes single-pair
    #: models record as ``source_lang``/``target_lang`` (opus-mt-zh-en: "zh", "en").
    #: M2M100 has a single Chinese code: asked for zh-Hant it writes whatever script it
    #: learnt, so Traditional output needs a conversion (OpenCC) afterwards.
    marian: tuple[str, ...] = ()
    nllb: tuple[str, ...] = ()
    m2m100: tuple[str, ...] = ()


LANGUAGES: Final[tuple[Language, ...]] = (
    Language("zh", "Chinese", "chi"),
    Language(
        "zh-Hans",
        "Chinese (Simplified)",
        "chi",
        prompt="Simplified Chinese",
        marian=("cmn_Hans", "zho_Hans", "zh", "zho", "cmn"),
        nllb=("zho_Hans",),
        m2m100=("zh",),
    ),
    Language(
        "zh-Hant",
        "Chinese (Traditional)",
        "chi",
        prompt="Traditional Chinese",
        marian=("cmn_Hant", "zho_Hant", "zh", "zho", "cmn"),
        nllb=("zho_Hant",),
        m2m100=("zh",),
    ),
    Language("en", "English", "eng", marian=("eng", "en"), nllb=("eng_Latn",), m2m100=("en",)),
    Language("es", "Spanish", "spa", marian=("spa", "es"), nllb=("spa_Latn",), m2m100=("es",)),
    Language("pt", "Portuguese", "por"),
    Language(
        "pt-BR",
        "Portuguese (Brazil)",
        "por",
        prompt="Brazilian Portuguese",
        marian=("pt_br", "pt_BR", "por", "pt"),
        nllb=("por_Latn",),
        m2m100=("pt",),
    ),
    Language("id", "Indonesian", "ind", marian=("ind", "id"), nllb=("ind_Latn",), m2m100=("id",)),
    Language("vi", "Vietnamese", "vie", marian=("vie", "vi"), nllb=("vie_Latn",), m2m100=("vi",)),
    Language("th", "Thai", "tha", marian=("tha", "th"), nllb=("tha_Thai",), m2m100=("th",)),
    Language("ja", "Japanese", "jpn", marian=("jpn", "ja"), nllb=("jpn_Jpan",), m2m100=("ja",)),
    Language("ko", "Korean", "kor", marian=("kor", "ko"), nllb=("kor_Hang",), m2m100=("ko",)),
    Language("fr", "French", "fre"),
    Language("de", "German", "ger"),
    Language("it", "Italian", "ita"),
    Language("ru", "Russian", "rus"),
    Language("ar", "Arabic", "ara"),
    Language("hi", "Hindi", "hin"),
    Language("ms", "Malay", "may"),
    Language("tl", "Tagalog", "tgl"),
    Language("fil", "Filipino", "fil"),
    Language("tr", "Turkish", "tur"),
)

#: other spellings of the table's languages (tried after the exact tag and its prefixes)
ALIASES: Final[dict[str, str]] = {
    "zh": "zh-Hans",
    "zh-CN": "zh-Hans",
    "zh-SG": "zh-Hans",
    "zh-TW": "zh-Hant",
    "zh-HK": "zh-Hant",
    "zh-MO": "zh-Hant",
    "pt": "pt-BR",
}

_BY_CODE: Final = {lang.code: lang for lang in LANGUAGES}
_BY_LOWER: Final = {lang.code.lower(): lang for lang in LANGUAGES}


def lookup(code: str) -> Language | None:
    """The row for exactly ``code`` (case as written), or None."""
    return _BY_CODE.get(code)


def prompt_name(code: str) -> str:
    """How a prompt names ``code``: ``pt-BR`` -> "Brazilian Portuguese"; unknown codes as is."""
    lang = _BY_CODE.get(code)
    if lang is None:
        return code
    return lang.prompt or lang.name


def display_name(tag: str) -> str:
    """English display name: ``zh-Hans`` -> ``Chinese``, ``pt-BR`` -> ``Portuguese (Brazil)``.

    Case-insensitive, falling back to the primary subtag, then to the tag itself. Chinese
    scripts are not spelled out (one Chinese track per episode is the norm).
    """
    low = tag.lower()
    primary = low.split("-")[0]
    if primary == "zh":
        return "Chinese"
    lang = _BY_LOWER.get(low) or _BY_LOWER.get(primary)
    return lang.name if lang else tag


def iso639_2(tag: str) -> str:
    """ISO 639-2/B code for a BCP 47 tag (``zh-Hans`` -> ``chi``, ``pt-BR`` -> ``por``).

    A three-letter primary subtag we do not know is taken as the code; anything else
    unknown is ``und``.
    """
    primary = tag.split("-")[0].lower()
    lang = _BY_LOWER.get(primary)
    if lang is not None:
        return lang.iso639_2
    return primary if len(primary) == 3 else "und"
