"""Chinese a model leaves in a line after its retries is replaced before anything is published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from localize.domain import Cue, CueTrack
from localize.glossary import load_glossary
from localize.translate.base import TranslationContext
from localize.translate.enforce import leftover_source_script, translate_cues


class Stub:
    """Answers from a fixed table (a line it does not know comes back unchanged)."""

    model_id = "stub"
    follows_instructions = True

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]:
        self.asked += lines
        return [self.table.get(line, line) for line in lines]


def _track(*texts: str) -> CueTrack:
    return CueTrack(
        "zh-Hans", tuple(Cue(i * 2000, i * 2000 + 1500, t) for i, t in enumerate(texts))
    )


def test_part_of_a_name_is_romanised_and_the_line_passes(glossary_path: Path) -> None:
    glossary = load_glossary(glossary_path)
    stub = Stub({"林晚，谢谢你。": "Lin晚, thank you."})
    track, outcomes = translate_cues(_track("林晚，谢谢你。"), stub, target="en", glossary=glossary)
    assert track.cues[0].text == "Lin Wan, thank you."
    assert outcomes[0].problems == () and outcomes[0].repairs == ("晚 -> Wan (name)",)
    assert "晚" not in stub.asked  # a name part is never sent alone ("evening")


def test_a_leftover_word_is_translated_on_its_own() -> None:
    stub = Stub({"我们去故宫。": "We are going to the 故宫.", "故宫": "Forbidden City"})
    track, outcomes = translate_cues(_track("我们去故宫。"), stub, target="en")
    assert track.cues[0].text == "We are going to the Forbidden City."
    assert outcomes[0].problems == ()
    assert outcomes[0].repairs == ("故宫 -> Forbidden City (translated alone)",)


def test_what_the_model_cannot_translate_is_romanised_and_flagged() -> None:
    stub = Stub({"他叫王小明。": "His name is 王小明."})
    track, outcomes = translate_cues(_track("他叫王小明。", "你好。"), stub, target="es")
    assert track.cues[0].text == "His name is Wang Xiaoming."
    assert not any(leftover_source_script(c.text, "es") for c in track.cues)
    assert outcomes[0].problems == ("王小明 -> Wang Xiaoming (pinyin): check it",)


def test_cjk_targets_keep_their_han_characters() -> None:
    stub = Stub({"故宫": "故宫です"})
    track, outcomes = translate_cues(_track("故宫"), stub, target="ja")
    assert track.cues[0].text == "故宫です" and outcomes[0].repairs == ()
