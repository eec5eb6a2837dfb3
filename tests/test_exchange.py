"""Glossaries as CSV/TBX and memories as TMX: what vendors' tools read and deliver."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from textwrap import dedent

import pytest

from localize.cli import main
from localize.exchange import (
    TBX_NS,
    XML_LANG,
    ExchangeFormatError,
    MemoryUnit,
    glossary_to_csv,
    glossary_to_tbx,
    memory_from_tmx,
    memory_to_tmx,
)
from localize.glossary import load_glossary
from localize.translate.memory import TranslationMemory, series_memory_path


def test_glossary_csv_has_a_row_per_form_with_its_rendering(glossary_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(glossary_to_csv(load_glossary(glossary_path)))))
    by_source = {r["zh-Hans"]: r for r in rows}
    assert by_source["顾总"]["en"] == "Mr. Gu" and by_source["顾总"]["kind"] == "address"
    assert by_source["顾氏集团"]["en"] == "Gu Group"
    assert by_source["VIP"]["en"] == "VIP"  # do-not-translate: itself in every language
    assert "Not 'Gu Corporation'" in by_source["顾氏集团"]["notes"]


def test_glossary_tbx_is_well_formed_tbx_core_with_one_concept_per_entry(
    glossary_path: Path,
) -> None:
    glossary = load_glossary(glossary_path)
    root = ET.fromstring(glossary_to_tbx(glossary))
    ns = {"t": TBX_NS}
    assert root.tag == f"{{{TBX_NS}}}tbx" and root.get("type") == "TBX-Core"
    concepts = root.findall(".//t:conceptEntry", ns)
    assert len(concepts) == len(glossary.entries)
    terms = {
        (sec.get(XML_LANG), term.text)
        for concept in concepts
        for sec in concept.findall("t:langSec", ns)
        for term in sec.findall(".//t:term", ns)
    }
    assert {("zh-Hans", "顾总"), ("en", "Mr. Gu"), ("en", "Gu Group")} <= terms


def test_tmx_round_trip_keeps_lines_languages_and_reviewers() -> None:
    units = [
        MemoryUnit("顾总，合同签好了。", "en", "Mr. Gu, the contract is signed.", "approved",
                   "Lin", 1_700_000_000.0),
        MemoryUnit("<不是标签> & 符号", "es", "<no es etiqueta> & símbolo", "machine"),
    ]  # fmt: skip
    text = memory_to_tmx(units)
    assert '<tmx version="1.4">' in text and 'changedate="20231114T221320Z"' in text
    back = memory_from_tmx(text)
    assert [(u.source, u.target_lang, u.translation, u.origin, u.who) for u in back] == [
        (u.source, u.target_lang, u.translation, u.origin, u.who) for u in units
    ]


def test_a_vendors_tmx_with_its_own_language_tags_and_markup_is_read() -> None:
    vendor = dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <tmx version="1.4"><header srclang="zh-CN" creationtool="Trados" segtype="sentence"
          adminlang="en-US" datatype="plaintext" o-tmf="x"/>
        <body>
          <tu creationid="vendor-anna"><tuv xml:lang="zh-CN"><seg>你好<bpt i="1">&lt;b&gt;</bpt>
            顾总<ept i="1">&lt;/b&gt;</ept></seg></tuv>
            <tuv xml:lang="en-US"><seg>Hello, Mr. Gu</seg></tuv>
            <tuv xml:lang="es-ES"><seg>Hola, señor Gu</seg></tuv></tu>
          <tu><tuv xml:lang="en-US"><seg>no source variant: skipped</seg></tuv></tu>
        </body></tmx>""")
    units = memory_from_tmx(vendor)
    assert [(u.target_lang, u.translation, u.who) for u in units] == [
        ("en-US", "Hello, Mr. Gu", "vendor-anna"),
        ("es-ES", "Hola, señor Gu", "vendor-anna"),
    ]
    assert units[0].source.startswith("你好") and "顾总" in units[0].source


@pytest.mark.parametrize("text", ["not xml at all", "<glossary/>"])
def test_a_file_that_is_not_tmx_is_a_clear_error(text: str) -> None:
    with pytest.raises(ExchangeFormatError, match="TMX"):
        memory_from_tmx(text)


def test_cli_export_and_import_through_the_series_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "data"))
    vendor = tmp_path / "vendor.tmx"
    vendor.write_text(
        memory_to_tmx([MemoryUnit("林小姐，请坐。", "en-US", "Please sit, Miss Lin.", who="anna")]),
        encoding="utf-8",
    )
    assert main(["memory", "import", str(vendor), "--series", "ceo-contract-bride"]) == 0
    assert "imported 1 reviewed lines into ceo-contract-bride (en)" in capsys.readouterr().out
    # imported as reviewed English: it wins over any machine translation from now on
    hit = TranslationMemory(series_memory_path("ceo-contract-bride")).lookup("林小姐，请坐。", "en")
    assert hit is not None and (hit.translation, hit.origin, hit.who) == (
        "Please sit, Miss Lin.", "approved", "anna",
    )  # fmt: skip

    out = tmp_path / "export.tmx"
    assert main(["memory", "export", "--series", "ceo-contract-bride", "--out", str(out)]) == 0
    [unit] = memory_from_tmx(out.read_text(encoding="utf-8"))
    # lines are remembered under their normalised form (NFKC: full-width comma -> ",")
    assert (unit.source, unit.target_lang, unit.who) == ("林小姐,请坐。", "en", "anna")

    tbx = tmp_path / "g.tbx"
    glossary = "glossaries/ceo-contract-bride.toml"
    root = Path(__file__).resolve().parent.parent
    argv = ["glossary", "export", str(root / glossary), "--format", "tbx", "--out", str(tbx)]
    assert main(argv) == 0
    assert ET.parse(tbx).getroot().get("type") == "TBX-Core"
