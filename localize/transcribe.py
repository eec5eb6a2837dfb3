"""Speech recognition: Mandarin audio to a simplified-Chinese ``Transcript``.

Backends implement the small ``Transcriber`` protocol and are looked up by name in
``TRANSCRIBERS``. The real backend is faster-whisper (CTranslate2); ``ScriptedTranscriber``
is a fake shipped for tests and dry runs. Whatever the backend, ``postprocess`` applies
the same guarantees: simplified characters, punctuation, hallucination guards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from localize import progress
from localize.domain import DroppedSegment, Segment, Transcript, Word
from localize.errors import ModelError, TranscriptionError
from localize.media import ASR_SAMPLE_RATE, DEFAULT_WINDOW_S, iter_audio_windows
from localize.models import ModelStore
from localize.numerics import DEFAULT_COMPUTE_THREADS, Numerics, ct2_numerics
from localize.registry import build_backend

log = logging.getLogger(__name__)

#: Steers Whisper towards simplified characters and punctuated Mandarin output.
DEFAULT_PROMPT = "以下是普通话的句子。"
DEFAULT_ASR_MODEL = "whisper-base"

#: Phrases Whisper invents from silence or music (subtitle credits from its training
#: data). Compared after stripping punctuation and spaces.
HALLUCINATED_PHRASES: tuple[str, ...] = (
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "明镜与点点栏目",
    "字幕由Amara.org社区提供",
    "字幕由amara.org社区提供",
    "小编字幕由Amara.org社区提供",
    "中文字幕志愿者",
    "字幕志愿者",
    "优优独播剧场",
    "YoYoTelevisionSeriesExclusive",
    "谢谢观看",
    "感谢观看",
    "请订阅我的频道",
    "点赞订阅",
    "本字幕由",
    "字幕提供",
    "字幕制作",
    "字幕校对",
    "以下是普通话的句子",
)

_PUNCT = "，。？！、；：…—“”‘’（）《》,.?!;:\"'()·"
_SENTENCE_END = "。？！…"
_QUESTION_PARTICLES = ("吗", "么", "呢")
_QUESTION_WORDS = ("为什么", "怎么", "是不是", "什么时候", "哪里", "谁")


@dataclass(frozen=True)
class TranscribeOptions:
    """How to run speech recognition. Defaults suit Mandarin micro-drama dialogue."""

    #: forced language; auto-detection misfires on short, emotional or synthetic speech
    language: str = "zh"
    #: text the decoder sees as "previous" text: steers script (simplified) and style
    initial_prompt: str = DEFAULT_PROMPT
    #: glossary names and terms, so character names come out right
    hotwords: tuple[str, ...] = ()
    #: greedy decoding: on the sample episode (2 CPU cores) beam 5 took 1.5x as long for
    #: no gain in character error rate (0.49 vs 0.46); raise it on a GPU
    beam_size: int = 1
    #: Silero VAD (bundled with faster-whisper) skips music-only stretches
    vad: bool = True
    #: >0 runs faster-whisper's batched pipeline (VAD chunks decoded together): another
    #: ~15% faster on 2 cores at the same error rate; 0 decodes the chunks in sequence
    batch_size: int = 4
    #: segments with no_speech_prob above this AND avg_logprob below the next are dropped
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    #: a unit repeated more times than this in a row is a decoding loop: collapsed
    max_repeats: int = 3
    #: pause (ms) between words where missing punctuation is restored as "，"
    pause_comma_ms: int = 250
    #: refuse audio whose speech is clearly another language (see ``check_language``)
    check_language: bool = True
    #: longer inputs are decoded and recognised in windows of about this many seconds,
    #: cut at a pause, so memory stays bounded (a 3-hour file in one array is 690 MB);
    #: inputs up to this long are recognised in one piece
    window_s: float = DEFAULT_WINDOW_S


class Transcriber(Protocol):
    """A speech recogniser. Implementations load their model once and are reused."""

    #: identifies backend + model + precision; part of cache keys downstream
    model_id: str

    def transcribe(self, audio: npt.NDArray[np.float32], options: TranscribeOptions) -> Transcript:
        """Recognise 16 kHz mono float32 audio. Returns raw segments (no postprocess)."""
        ...

    def language_probabilities(self, audio: npt.NDArray[np.float32]) -> dict[str, float]:
        """Spoken-language probabilities (Whisper codes: "zh", "en"...) for the audio."""
        ...


# --------------------------------------------------------------------------- backends
def _whisper_repo(ref: str) -> str:
    """Map faster-whisper's short names (large-v3, turbo...) to their hub repo ids."""
    try:
        from faster_whisper.utils import _MODELS
    except ImportError:  # pragma: no cover - private table moved
        return ref
    return str(_MODELS.get(ref, ref))


class FasterWhisperTranscriber:
    """faster-whisper (CTranslate2 Whisper). Any CT2 Whisper folder or repo id works."""

    def __init__(
        self,
        model: str = DEFAULT_ASR_MODEL,
        *,
        store: ModelStore | None = None,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> None:
        from faster_whisper import WhisperModel

        store = store or ModelStore()
        path = store.resolve(_whisper_repo(model))
        self.numerics = self.plan_numerics(cpu_threads, device, compute_type)
        self.device, self.compute_type = self.numerics.device, self.numerics.compute_type
        try:
            self._model = WhisperModel(
                str(path),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.numerics.threads,
                num_workers=self.numerics.inter_threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(
                f"cannot load the speech model {model!r} from {path}: {exc}",
                "the folder must be a CTranslate2 Whisper model (model.bin, config.json, "
                "tokenizer.json); convert a transformers checkpoint with "
                "ct2-transformers-converter, or use a faster-whisper repo id",
                model=model,
            ) from exc
        self.model_id = f"faster-whisper:{model}:{self.compute_type}"

    @staticmethod
    def plan_numerics(
        threads: int = DEFAULT_COMPUTE_THREADS, device: str = "auto", compute_type: str = "auto"
    ) -> Numerics:
        """int8 on CPU, float16 on a GPU, unless the caller says otherwise; ``threads``
        fixed by the caller, not the machine's core count (see :mod:`localize.numerics`)."""
        return ct2_numerics(threads, device, compute_type)

    def transcribe(self, audio: npt.NDArray[np.float32], options: TranscribeOptions) -> Transcript:
        kwargs: dict[str, Any] = dict(
            language=options.language,
            task="transcribe",
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt or None,
            hotwords=" ".join(options.hotwords) or None,
            vad_filter=options.vad,
            word_timestamps=True,
            # conditioning on the previous window is the main source of loops in
            # dialogue with music; each VAD chunk stands on its own
            condition_on_previous_text=False,
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.log_prob_threshold,
        )
        if options.vad:
            kwargs["vad_parameters"] = {"min_silence_duration_ms": 300, "speech_pad_ms": 200}
        if options.batch_size > 0:
            from faster_whisper import BatchedInferencePipeline

            pipeline = BatchedInferencePipeline(model=self._model)
            kwargs.pop("condition_on_previous_text")
            raw, _info = pipeline.transcribe(audio, batch_size=options.batch_size, **kwargs)
        else:
            raw, _info = self._model.transcribe(audio, **kwargs)
        segments = tuple(_segment_from_whisper(s) for s in raw)  # decoding happens here
        return Transcript(
            language="zh-Hans",
            duration_ms=round(len(audio) * 1000 / ASR_SAMPLE_RATE),
            segments=segments,
            model=self.model_id,
        )

    def language_probabilities(self, audio: npt.NDArray[np.float32]) -> dict[str, float]:
        _lang, _prob, ranked = self._model.detect_language(
            audio, vad_filter=True, language_detection_segments=3
        )
        return {str(code): float(p) for code, p in ranked}


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _segment_from_whisper(s: Any) -> Segment:
    words = tuple(
        Word(_ms(w.start), _ms(w.end), w.word, float(w.probability)) for w in (s.words or ())
    )
    return Segment(
        start_ms=_ms(s.start),
        end_ms=_ms(s.end),
        text=s.text,
        words=words,
        avg_logprob=float(s.avg_logprob),
        no_speech_prob=float(s.no_speech_prob),
    )


@dataclass
class ScriptedTranscriber:
    """A fake recogniser that returns given segments: for tests and dry runs."""

    segments: Sequence[Segment] = ()
    model_id: str = "scripted"
    calls: list[int] = field(default_factory=list)
    languages: dict[str, float] = field(default_factory=lambda: {"zh": 1.0})

    def language_probabilities(self, audio: npt.NDArray[np.float32]) -> dict[str, float]:
        return dict(self.languages)

    def transcribe(self, audio: npt.NDArray[np.float32], options: TranscribeOptions) -> Transcript:
        self.calls.append(len(audio))
        return Transcript(
            language="zh-Hans",
            duration_ms=round(len(audio) * 1000 / ASR_SAMPLE_RATE),
            segments=tuple(self.segments),
            model=self.model_id,
        )


#: backend name -> factory(model_ref, store) ; the CLI and flows pick by name
TRANSCRIBERS: dict[str, str | Callable[..., Any]] = {
    "faster-whisper": FasterWhisperTranscriber,
    "scripted": ScriptedTranscriber,
}


def create_transcriber(backend: str = "faster-whisper", **kwargs: Any) -> Transcriber:
    """Build a speech recogniser by backend name (see ``TRANSCRIBERS``)."""
    transcriber: Transcriber = build_backend(TRANSCRIBERS, backend, "speech recognition", **kwargs)
    return transcriber


# ------------------------------------------------------------------- postprocessing
def _to_simplified() -> Callable[[str], str]:
    import opencc

    converter = opencc.OpenCC("t2s")
    return lambda text: str(converter.convert(text))


_FULL_WIDTH = str.maketrans({",": "，", "?": "？", "!": "！", ";": "；", ":": "：", ".": "。"})


def _clean(text: str) -> str:
    """Chinese typography: no spaces between CJK characters (Whisper often emits them),
    and full-width punctuation after CJK text (Whisper mixes in ASCII ",", "?")."""
    text = text.strip()
    text = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text)
    # only punctuation that follows a CJK character: "Amara.org" and "3.5" stay as they are
    return re.sub(
        r"(?<=[\u3400-\u9fff\uf900-\ufaff])[,?!;:.]",
        lambda m: m.group(0).translate(_FULL_WIDTH),
        text,
    )


def _clean_words(words: list[Word]) -> list[Word]:
    """``_clean`` each word with its left neighbour as context, so a lone "," after a
    Chinese word still becomes "，"; words left empty are removed."""
    out: list[Word] = []
    for w in words:
        context = out[-1].text[-1] if out else ""
        text = _clean(context + w.text)[len(context) :] if context else _clean(w.text)
        if text.strip():
            out.append(replace(w, text=text))
    return out


def _bare(text: str) -> str:
    return re.sub(rf"[\s{re.escape(_PUNCT)}]", "", text)


def _is_hallucinated_phrase(text: str) -> bool:
    bare = _bare(text).lower()
    return bool(bare) and any(_bare(p).lower() in bare for p in HALLUCINATED_PHRASES)


#: the names a prompt lists are short: longer pieces are the prompt's sentences
_MAX_TERM_CHARS = 6
#: what Whisper puts between names it echoes from a prompt ("苏曼、陈秘书，顾总。")
_LIST_SEPARATORS = "、，, "


def prompt_terms(prompt: str) -> tuple[str, ...]:
    """The short pieces (names, terms) of an initial prompt, longest first.

    ``"以下是普通话的句子。人物：顾总、苏曼、陈秘书。"`` -> ``("陈秘书", "人物", "顾总", "苏曼")``.
    """
    pieces = re.split(rf"[\s{re.escape(_PUNCT)}]+", prompt)
    terms = {p for p in pieces if 2 <= len(p) <= _MAX_TERM_CHARS}
    return tuple(sorted(terms, key=lambda t: (-len(t), t)))


def _terms_pattern(terms: Sequence[str]) -> str:
    return "(?:" + "|".join(map(re.escape, terms)) + ")"


def is_prompt_echo(text: str, terms: Sequence[str]) -> bool:
    """True if ``text`` is nothing but two or more of the prompt's names, in any order,
    joined by list punctuation: Whisper repeating its prompt over music or silence."""
    if not terms:
        return False
    name = _terms_pattern(terms)
    sep = f"[{re.escape(_LIST_SEPARATORS)}]*"
    pattern = rf"\s*{name}(?:{sep}{name})+[{re.escape(_PUNCT)}\s]*"
    return re.fullmatch(pattern, text) is not None


def _trim_trailing_echo(text: str, terms: Sequence[str]) -> tuple[str, list[bool]]:
    """Remove a list of two or more prompt names joined by "、" that ends a sentence
    ("是，总裁苏曼、陈秘书。" -> "是，总裁。"), with a keep-mask over the characters
    of ``text`` so word timings can follow. Real dialogue rarely ends in such a list."""
    keep = [True] * len(text)
    if not terms:
        return text, keep
    name = _terms_pattern(terms)
    match = re.search(rf"{name}(?:、{name})+(?=[{re.escape(_SENTENCE_END)}]*$)", text)
    if match is None or not _bare(text[: match.start()]):
        return text, keep
    for i in range(match.start(), match.end()):
        keep[i] = False
    return "".join(c for c, k in zip(text, keep, strict=True) if k), keep


def _collapse_repeats(text: str, max_repeats: int) -> tuple[str, list[bool]]:
    """Collapse a unit repeated more than ``max_repeats`` times in a row to one copy.

    Returns the new text and a keep-mask over the input characters (so word timings can
    follow). Legit emphasis ("不要不要") stays; decoding loops ("对对对对对对对...") go.
    """
    keep = [True] * len(text)
    i = 0
    while i < len(text):
        best: tuple[int, int] | None = None  # (unit length, repeat count)
        for unit in range(1, min(16, (len(text) - i) // (max_repeats + 1)) + 1):
            pattern = text[i : i + unit]
            if not _bare(pattern):
                continue
            count = 1
            while text[i + count * unit : i + (count + 1) * unit] == pattern:
                count += 1
            if count > max_repeats and (best is None or count * unit > best[0] * best[1]):
                best = (unit, count)
        if best:
            unit, count = best
            for j in range(i + unit, i + unit * count):
                keep[j] = False
            i += unit * count
        else:
            i += 1
    return "".join(c for c, k in zip(text, keep, strict=True) if k), keep


def _restore_punctuation(words: list[Word], pause_ms: int) -> list[Word]:
    """Add "，" at pauses and a final "。"/"？" when the recogniser gave none at all."""
    if not words or any(ch in _PUNCT for w in words for ch in w.text):
        return words
    out: list[Word] = []
    for i, w in enumerate(words):
        text = w.text
        if i + 1 < len(words) and words[i + 1].start_ms - w.end_ms >= pause_ms:
            text += "，"
        out.append(replace(w, text=text))
    sentence = "".join(w.text for w in out)
    last = out[-1]
    question = sentence.endswith(_QUESTION_PARTICLES) or any(q in sentence for q in _QUESTION_WORDS)
    out[-1] = replace(last, text=last.text + ("？" if question else "。"))
    return out


def postprocess(
    transcript: Transcript,
    options: TranscribeOptions = TranscribeOptions(),
    *,
    to_simplified: Callable[[str], str] | None = None,
) -> Transcript:
    """Apply the recogniser-independent guarantees to a raw transcript.

    1. simplified characters (OpenCC t2s), no spaces between CJK characters;
    2. hallucination guards: credit phrases, no-speech + low-confidence segments, the
       same text repeated across segments, repetition loops inside a segment;
    3. punctuation restored where the model dropped it.
    Everything removed is recorded in ``Transcript.dropped`` and logged.
    """
    convert = to_simplified or _to_simplified()
    kept: list[Segment] = []
    dropped = list(transcript.dropped)

    def drop(seg: Segment, reason: str) -> None:
        log.info("dropped segment %d-%d ms %r: %s", seg.start_ms, seg.end_ms, seg.text, reason)
        dropped.append(DroppedSegment(seg, reason))

    pieces: list[Segment] = []
    for raw_seg in transcript.segments:
        words = _clean_words([replace(w, text=convert(w.text)) for w in raw_seg.words])
        text = "".join(w.text for w in words) if words else _clean(convert(raw_seg.text))
        pieces.extend(_split_sentences(replace(raw_seg, text=text, words=tuple(words))))

    for seg in pieces:
        words = list(seg.words)
        text = seg.text
        if not _bare(text):
            drop(seg, "empty")
            continue
        if _is_hallucinated_phrase(text):
            drop(seg, "known hallucinated phrase")
            continue
        if len(_bare(text)) >= 4 and _bare(text) in _bare(options.initial_prompt):
            drop(seg, "an echo of the initial prompt")
            continue
        terms = prompt_terms(options.initial_prompt)
        if is_prompt_echo(text, terms):
            drop(seg, "an echo of the names in the initial prompt")
            continue
        trimmed, keep_mask = _trim_trailing_echo(text, terms)
        if trimmed != text:
            log.info("removed names echoed from the prompt: %r -> %r", text, trimmed)
            dropped.append(DroppedSegment(seg, f"prompt names echoed, trimmed to {trimmed!r}"))
            words = _filter_words(words, keep_mask)
            text = trimmed
        if (
            seg.no_speech_prob > options.no_speech_threshold
            and seg.avg_logprob < options.log_prob_threshold
        ):
            drop(seg, f"no speech (p={seg.no_speech_prob:.2f}, logprob={seg.avg_logprob:.2f})")
            continue
        recent = [_bare(k.text) for k in kept[-options.max_repeats :]]
        if len(recent) == options.max_repeats and all(r == _bare(text) for r in recent):
            drop(seg, "the same text repeated across segments")
            continue
        collapsed, keep_mask = _collapse_repeats(text, options.max_repeats)
        if collapsed != text:
            log.info("collapsed a repetition loop in %r -> %r", text, collapsed)
            dropped.append(DroppedSegment(seg, f"repetition loop collapsed to {collapsed!r}"))
            words = _filter_words(words, keep_mask)
            text = collapsed
        words = _restore_punctuation(words, options.pause_comma_ms)
        if words:
            text = "".join(w.text for w in words)
            seg = replace(seg, start_ms=words[0].start_ms, end_ms=max(seg.end_ms, words[-1].end_ms))
        elif not any(ch in _PUNCT for ch in text):
            text += "。"
        kept.append(replace(seg, text=text, words=tuple(words)))
    return replace(transcript, segments=tuple(kept), dropped=tuple(dropped))


#: a pause this long between words ends a sentence even without punctuation
_SENTENCE_PAUSE_MS = 1500


def _split_sentences(seg: Segment) -> list[Segment]:
    """Cut a segment into sentences at sentence punctuation or long pauses.

    The batched recogniser returns segments of up to 30 s; guards must judge a sentence
    at a time, so one invented phrase never takes a whole paragraph of dialogue with it.
    """
    if not seg.words:
        return [seg]
    groups: list[list[Word]] = [[]]
    for i, word in enumerate(seg.words):
        if groups[-1] and word.start_ms - seg.words[i - 1].end_ms >= _SENTENCE_PAUSE_MS:
            groups.append([])
        groups[-1].append(word)
        if word.text.rstrip("”’」』）) ").endswith(tuple(_SENTENCE_END)):
            groups.append([])
    return [
        replace(
            seg,
            start_ms=group[0].start_ms,
            end_ms=group[-1].end_ms,
            text="".join(w.text for w in group),
            words=tuple(group),
        )
        for group in groups
        if group
    ]


def _filter_words(words: list[Word], keep_mask: list[bool]) -> list[Word]:
    out: list[Word] = []
    pos = 0
    for w in words:
        mask = keep_mask[pos : pos + len(w.text)]
        pos += len(w.text)
        text = "".join(c for c, k in zip(w.text, mask, strict=True) if k)
        if text:
            out.append(replace(w, text=text))
    return out


def transcribe_file(
    path: Path | str,
    transcriber: Transcriber,
    options: TranscribeOptions = TranscribeOptions(),
) -> Transcript:
    """Decode a media file and recognise its speech, with all guarantees applied.

    The audio is streamed in windows of about ``options.window_s`` seconds cut at quiet
    points (see ``localize.media.iter_audio_windows``): each window is recognised on its
    own and its times are shifted to the file's timeline, then the guards of
    ``postprocess`` run once over the whole transcript (so a loop repeated across a
    window boundary is still caught). A file no longer than one window is recognised
    in one piece, exactly as a whole-file decode would be. The language check listens
    to the first window (Whisper only uses the first 30-90 s of speech anyway).

    A file with no speech yields a transcript with no segments (callers flag it); a file
    with no audio stream raises MediaError.
    """
    name = Path(path).name
    segments: list[Segment] = []
    dropped: list[DroppedSegment] = []
    duration_ms = 0
    raw: Transcript | None = None
    windows = iter_audio_windows(path, window_s=options.window_s)
    try:
        for window in windows:
            if window.index == 0:
                if window.last and window.samples.size == 0:
                    raise TranscriptionError(
                        f"{name} has an audio stream with no samples",
                        "the soundtrack is empty; re-export the episode with its audio",
                    )
                if options.check_language:
                    probabilities = transcriber.language_probabilities(window.samples)
                    check_language(probabilities, options.language, path)
            else:
                log.info("recognising %s from %.0f s", name, window.start_ms / 1000)
            raw = transcriber.transcribe(window.samples, options)
            if window.index == 0 and window.last:
                return postprocess(raw, options)  # one piece: nothing to shift
            segments.extend(_shifted(s, window.start_ms) for s in raw.segments)
            dropped.extend(
                DroppedSegment(_shifted(d.segment, window.start_ms), d.reason) for d in raw.dropped
            )
            duration_ms = window.end_ms
            progress.reach(window.end_ms / 1000)  # seconds of audio recognised
    finally:
        windows.close()  # stops ffmpeg at once if recognition failed
    assert raw is not None  # the reader yields at least one window
    merged = replace(raw, duration_ms=duration_ms, segments=tuple(segments), dropped=tuple(dropped))
    return postprocess(merged, options)


def _shifted(seg: Segment, offset_ms: int) -> Segment:
    """``seg`` moved ``offset_ms`` later (a window's times onto the file's timeline)."""
    if not offset_ms:
        return seg
    words = tuple(
        replace(w, start_ms=w.start_ms + offset_ms, end_ms=w.end_ms + offset_ms) for w in seg.words
    )
    return replace(
        seg, start_ms=seg.start_ms + offset_ms, end_ms=seg.end_ms + offset_ms, words=words
    )


#: Whisper's detector confuses synthetic or emotional Mandarin with Thai or Vietnamese
#: (the sample episode scores zh 0.15, th 0.56), so only refuse when the expected
#: language is all but excluded and another one is near certain (English: en 0.98, zh 0.00)
_EXPECTED_BELOW = 0.05
_OTHER_ABOVE = 0.8


def check_language(probabilities: dict[str, float], expected: str, path: Path | str) -> None:
    """Raise TranscriptionError when the speech is clearly not in ``expected``."""
    if not probabilities:
        return
    top, top_p = max(probabilities.items(), key=lambda kv: kv[1])
    if (
        top != expected
        and top_p > _OTHER_ABOVE
        and probabilities.get(expected, 0.0) < _EXPECTED_BELOW
    ):
        raise TranscriptionError(
            f"the speech in {Path(path).name} sounds like {top!r} ({top_p:.0%}), "
            f"not {expected!r} ({probabilities.get(expected, 0.0):.0%})",
            "this pipeline transcribes Mandarin dialogue: check that this is the original "
            "Chinese episode (not a dub); if it is Mandarin, run again with the language "
            "check off (--no-language-check; in a catalog, language_check = false in the "
            "series.toml [run] table)",
        )
