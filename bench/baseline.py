"""The peer-style baseline: how a typical open-source subtitle pipeline does the same job.

Per episode, with nothing kept between episodes:

1. load the Whisper model (faster-whisper, the same ``whisper-base`` weights, int8 on the
   CPU as faster-whisper's README suggests) fresh;
2. transcribe sequentially, unbatched, with faster-whisper's defaults (beam 5, no VAD,
   conditioned on the previous text), language forced to Chinese;
3. load the translation LLM fresh through transformers: the same Qwen2.5-Coder-1.5B weights
   (the packaged GGUF dequantised by :func:`localize.llm_convert.gguf_to_transformers`,
   cached under the benchmark's work folder), bf16 or fp32 on the CPU;
4. translate one line at a time, greedy, the same system prompt with the series glossary
   on every request, no prompt caching, no batching, no translation memory;
5. write an SRT with Whisper's segment timings.

    .venv/bin/python -m bench.baseline VIDEO [VIDEO...] --out DIR [--dtype bfloat16]

With ``mt_backend="fake"`` step 3-4 use the deterministic fake translator (for tests).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from localize.domain import Cue
from localize.glossary import Glossary, load_glossary
from localize.subtitles import format_srt

GGUF_MODEL = "qwen2.5-coder-1.5b-instruct-gguf"
ASR_MODEL = "whisper-base"
#: new tokens per line: the same budget our LLM backend gives one line
MAX_NEW_TOKENS = 16 + 60

Progress = Callable[[str], None]


@dataclass
class BaselineEpisode:
    video: str
    audio_s: float
    asr_load_s: float
    asr_s: float
    mt_load_s: float
    mt_s: float
    lines: int
    srt_s: float
    total_s: float
    srt: str


def transformers_checkpoint(work: Path) -> Path:
    """The packaged GGUF as a transformers checkpoint (dequantised once, then cached)."""
    from localize.llm_convert import gguf_to_transformers
    from localize.models import ModelStore

    target = work / "qwen2.5-coder-1.5b-instruct-hf"
    if (target / "model.safetensors").is_file() and (target / "config.json").is_file():
        return target
    folder = ModelStore().resolve(GGUF_MODEL)
    gguf = next(Path(folder).glob("*.gguf"))
    tmp = work / "qwen2.5-coder-1.5b-instruct-hf.tmp"
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    gguf_to_transformers(gguf, tmp)
    tmp.replace(target)
    return target


def _system_prompt(glossary: Glossary) -> str:
    from localize.translate.base import TranslationContext
    from localize.translate.enforce import glossary_renderings
    from localize.translate.llm import build_system_prompt

    synopsis = glossary.series.synopsis
    context = TranslationContext(
        synopsis=synopsis.get("en") or next(iter(synopsis.values()), ""),
        glossary=glossary_renderings(glossary, "en"),
    )
    return build_system_prompt("zh-Hans", "en", context)


_NUMBER = re.compile(r"^\s*\d{1,3}\s*[.:)、．：）]\s*")


def _clean(reply: str) -> str:
    """The first line of a reply, without a number or quotes the model added."""
    first = next((ln for ln in reply.strip().splitlines() if ln.strip()), "")
    return _NUMBER.sub("", first).strip().strip('"“”')


class _TransformersLine:
    """One line per ``generate`` call; the whole prompt is re-encoded every time."""

    def __init__(self, checkpoint: Path, dtype: str, system: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(checkpoint))
        self.model: Any = AutoModelForCausalLM.from_pretrained(
            str(checkpoint), dtype=getattr(torch, dtype)
        )
        self.model.eval()  # type: ignore[no-untyped-call]
        self.system = system

    def __call__(self, line: str) -> str:
        messages = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": f"Translate into English:\n{line}"},
        ]
        inputs: Any = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with self.torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=MAX_NEW_TOKENS,
                do_sample=False,
                pad_token_id=self.tokenizer.eos_token_id,
            )
        new = out[0, inputs["input_ids"].shape[1] :]
        return _clean(str(self.tokenizer.decode(new, skip_special_tokens=True)))


class _FakeLine:
    def __init__(self) -> None:
        from localize.translate import create_translator

        self.translator = create_translator("fake")

    def __call__(self, line: str) -> str:
        return str(self.translator.translate([line], source="zh-Hans", target="en")[0])


def run_episode(
    video: Path,
    out_dir: Path,
    *,
    glossary: Glossary,
    checkpoint: Path | None,
    dtype: str = "bfloat16",
    mt_backend: str = "llm",
    progress: Progress | None = None,
) -> BaselineEpisode:
    """Subtitle one episode the peer way; nothing survives the call."""
    from faster_whisper import WhisperModel

    from localize.models import ModelStore

    say = progress or (lambda _: None)
    start = time.perf_counter()

    say("loading Whisper")
    t0 = time.perf_counter()
    whisper = WhisperModel(str(ModelStore().resolve(ASR_MODEL)), device="cpu", compute_type="int8")
    asr_load_s = time.perf_counter() - t0

    say("transcribing (beam 5, unbatched)")
    t0 = time.perf_counter()
    segments, info = whisper.transcribe(str(video), language="zh", beam_size=5)
    lines = [(s.start, s.end, s.text.strip()) for s in segments if s.text.strip()]
    asr_s = time.perf_counter() - t0
    del whisper
    gc.collect()

    say("loading the LLM (transformers)")
    t0 = time.perf_counter()
    translate: Callable[[str], str]
    if mt_backend == "fake":
        translate = _FakeLine()
    else:
        if checkpoint is None:
            raise ValueError("the transformers baseline needs a checkpoint folder")
        translate = _TransformersLine(checkpoint, dtype, _system_prompt(glossary))
    mt_load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    english = []
    for i, (_, _, text) in enumerate(lines, 1):
        say(f"translating line {i}/{len(lines)}")
        english.append(translate(text))
    mt_s = time.perf_counter() - t0
    del translate
    gc.collect()

    t0 = time.perf_counter()
    cues = [
        Cue(round(s * 1000), max(round(e * 1000), round(s * 1000) + 1), en or "…")
        for (s, e, _), en in zip(lines, english, strict=True)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    srt = out_dir / f"{video.stem}.en.srt"
    srt.write_text(format_srt(cues), encoding="utf-8")
    srt_s = time.perf_counter() - t0
    return BaselineEpisode(
        video=str(video),
        audio_s=round(float(info.duration), 2),
        asr_load_s=round(asr_load_s, 2),
        asr_s=round(asr_s, 2),
        mt_load_s=round(mt_load_s, 2),
        mt_s=round(mt_s, 2),
        lines=len(lines),
        srt_s=round(srt_s, 3),
        total_s=round(time.perf_counter() - start, 2),
        srt=str(srt),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("bench/results/e2e-work"))
    parser.add_argument("--glossary", type=Path, default=Path("glossaries/ceo-contract-bride.toml"))
    parser.add_argument("--dtype", choices=("bfloat16", "float32"), default="bfloat16")
    parser.add_argument("--mt-backend", choices=("llm", "fake"), default="llm")
    args = parser.parse_args(argv)
    glossary = load_glossary(args.glossary)
    checkpoint = transformers_checkpoint(args.work) if args.mt_backend == "llm" else None
    results: list[dict[str, Any]] = []
    for video in args.videos:

        def say(what: str, name: str = video.name) -> None:
            print(f"{name}: {what}", file=sys.stderr, flush=True)

        episode = run_episode(
            video,
            args.out,
            glossary=glossary,
            checkpoint=checkpoint,
            dtype=args.dtype,
            mt_backend=args.mt_backend,
            progress=say,
        )
        results.append(asdict(episode))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
