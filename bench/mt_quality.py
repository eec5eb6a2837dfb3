"""Machine-translation quality benchmark: BLEU and chrF on real Chinese-English pairs.

The reference set is ``bench/data/zh_en_reference.tsv``: 144 human translations from
Tatoeba (CC BY 2.0 FR). ``bench/data/README.md`` gives the source, the license and how
the pairs were drawn. This script translates the whole Chinese side in one
``Translator.translate`` call (the backend batches internally) and scores the output
against the English side with sacrebleu's corpus BLEU and chrF. Both are reported on a
0-100 scale, with sacrebleu's default settings (BLEU tokenizer 13a, chrF with n=6,
beta=2), and neither needs a download.

Run it from the repository root::

    .venv/bin/python -m bench.mt_quality                  # default LLM, all pairs
    .venv/bin/python -m bench.mt_quality --limit 20       # quick look
    .venv/bin/python -m bench.mt_quality --model /path/to/ct2-model --json out.json
    .venv/bin/python -m bench.mt_quality --backend fake   # wiring check, no model

It prints a small table (pairs, BLEU, chrF, seconds, lines/s, model id) and writes the
same figures to JSON, default ``bench/results/mt_quality.json``, together with every
hypothesis next to its reference so that the errors can be read. The default model
(``qwen2.5-coder-1.5b-instruct`` on CTranslate2 int8) runs at about one line a second
on two CPU cores, so the full set takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.chrf import CHRF

from localize.translate import Translator, create_translator

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_JSON",
    "BenchResult",
    "ReferencePair",
    "Scores",
    "load_pairs",
    "main",
    "run_benchmark",
    "score",
]

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA = BENCH_DIR / "data" / "zh_en_reference.tsv"
DEFAULT_JSON = BENCH_DIR / "results" / "mt_quality.json"
HEADER = ("id", "zh", "en")


@dataclass(frozen=True)
class ReferencePair:
    """One Chinese sentence and its human English translation."""

    id: str
    zh: str
    en: str


@dataclass(frozen=True)
class Scores:
    """Corpus-level scores (0-100) with the sacrebleu signatures that define them."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


@dataclass(frozen=True)
class Sample:
    """A translated line next to its reference, kept in the JSON report."""

    id: str
    zh: str
    reference: str
    hypothesis: str


@dataclass(frozen=True)
class BenchResult:
    """Everything one benchmark run measured."""

    model_id: str
    backend: str
    pairs: int
    bleu: float
    chrf: float
    seconds: float
    lines_per_second: float
    bleu_signature: str
    chrf_signature: str
    data: str
    samples: list[Sample] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_pairs(path: Path = DEFAULT_DATA, limit: int | None = None) -> list[ReferencePair]:
    """Read the reference TSV (``id<TAB>zh<TAB>en`` with that header, no quoting).

    ``limit`` keeps the first N pairs. A malformed file raises ``ValueError``.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != HEADER:
        raise ValueError(f"{path}: expected the header {'<TAB>'.join(HEADER)!r}")
    pairs: list[ReferencePair] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(HEADER) or not all(f.strip() for f in fields):
            raise ValueError(f"{path}:{number}: expected 3 non-empty tab-separated fields")
        pairs.append(ReferencePair(*fields))
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        pairs = pairs[:limit]
    return pairs


def score(hypotheses: Sequence[str], references: Sequence[str]) -> Scores:
    """Corpus BLEU and chrF of ``hypotheses`` against one reference each."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if not references:
        raise ValueError("nothing to score")
    hyps, refs = list(hypotheses), [list(references)]
    bleu, chrf = BLEU(), CHRF()
    return Scores(
        bleu=bleu.corpus_score(hyps, refs).score,
        chrf=chrf.corpus_score(hyps, refs).score,
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


def run_benchmark(
    translator: Translator,
    pairs: Sequence[ReferencePair],
    *,
    backend: str = "",
    data: Path = DEFAULT_DATA,
) -> BenchResult:
    """Translate every pair's Chinese side in one call, time it and score it."""
    if not pairs:
        raise ValueError("no reference pairs")
    started = time.perf_counter()
    hypotheses = translator.translate([p.zh for p in pairs], source="zh-Hans", target="en")
    seconds = time.perf_counter() - started
    if len(hypotheses) != len(pairs):
        raise ValueError(f"the translator returned {len(hypotheses)} lines for {len(pairs)}")
    scores = score(hypotheses, [p.en for p in pairs])
    return BenchResult(
        model_id=translator.model_id,
        backend=backend,
        pairs=len(pairs),
        bleu=round(scores.bleu, 2),
        chrf=round(scores.chrf, 2),
        seconds=round(seconds, 2),
        lines_per_second=round(len(pairs) / seconds, 3) if seconds > 0 else float("inf"),
        bleu_signature=scores.bleu_signature,
        chrf_signature=scores.chrf_signature,
        data=str(data),
        samples=[Sample(p.id, p.zh, p.en, hyp) for p, hyp in zip(pairs, hypotheses, strict=True)],
    )


def format_table(result: BenchResult) -> str:
    """The summary as a small two-column table."""
    rows = [
        ("pairs", str(result.pairs)),
        ("BLEU", f"{result.bleu:.2f}"),
        ("chrF", f"{result.chrf:.2f}"),
        ("seconds", f"{result.seconds:.1f}"),
        ("lines/s", f"{result.lines_per_second:.3f}"),
        ("model", result.model_id),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mt_quality",
        description="Score the translator with BLEU and chrF on real zh-en reference pairs.",
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    parser.add_argument(
        "--model",
        default=None,
        help="model reference passed to the backend (default: the backend's own default)",
    )
    parser.add_argument("--backend", default="llm", help="translator backend (default: llm)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="reference TSV")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"where to write the JSON report (default: {DEFAULT_JSON})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    pairs = load_pairs(args.data, args.limit)
    kwargs: dict[str, Any] = {} if args.model is None else {"model": args.model}
    translator = create_translator(args.backend, **kwargs)
    result = run_benchmark(translator, pairs, backend=args.backend, data=args.data)
    print(format_table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
