"""bench.mt_speed's scoring and table (the model runs are benchmarks, not tests)."""

from __future__ import annotations

from typing import Any

from bench.mt_speed import GLOSSARY, _adherence, format_table
from localize.glossary import load_glossary


def test_adherence_counts_each_required_rendering() -> None:
    glossary = load_glossary(GLOSSARY)
    sources = ["顾总，林小姐到了。", "好。"]
    assert _adherence(glossary, sources, ["Mr. Gu, Miss Lin is here.", "OK."]) == (2, 2)
    assert _adherence(glossary, sources, ["CEO Gu, Miss Lin is here.", "OK."]) == (1, 2)


def _result(path: str, rate: float) -> dict[str, Any]:
    metrics = {
        "lines_per_s": rate, "cpu_s_per_line": 1.0, "bleu": 40.0, "glossary_kept": 3,
        "glossary_required": 3, "han_lines": 0,
    }  # fmt: skip
    return {"path": path, "peak_rss_mb": 2000.0, "tatoeba": metrics, "episode": metrics}


def test_the_table_gives_each_path_its_speed_relative_to_the_numbered_path() -> None:
    table = format_table([_result("numbered", 0.5), _result("lines", 2.0)])
    rows = [row.split() for row in table.splitlines()[1:]]
    assert [row[:4] for row in rows] == [
        ["numbered", "tatoeba", "0.50", "1.00"],
        ["numbered", "episode", "0.50", "1.00"],
        ["lines", "tatoeba", "2.00", "4.00"],
        ["lines", "episode", "2.00", "4.00"],
    ]
    assert all(row[6] == "3/3" for row in rows)


def test_a_run_on_the_episode_alone_gives_only_its_rows() -> None:
    """``--sets episode``: the quick run while iterating on the episode's speed."""
    results = [_result("numbered", 0.5), _result("lines", 1.5)]
    for r in results:
        del r["tatoeba"]
    rows = [row.split() for row in format_table(results).splitlines()[1:]]
    assert [row[:4] for row in rows] == [
        ["numbered", "episode", "0.50", "1.00"],
        ["lines", "episode", "1.50", "3.00"],
    ]
