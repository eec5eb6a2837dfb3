"""Text to speech: the ``Synthesizer`` protocol, its backends and voice assignment.

Backends are looked up by name in :data:`SYNTHESIZERS` (like the translators):

==========  ==================================================================  =========
name        what                                                                quality
==========  ==================================================================  =========
``kokoro``  Kokoro-82M (ONNX, packaged): 54 voices, en US/UK, es, pt-BR, zh, ja...  neural
``piper``   piper neural voices (ONNX); default voice en_US-joe-medium, packaged  neural
``espeak``  espeak-ng, every language it knows; robotic                         low
``coqui``   Coqui TTS (``pip install 'localize[coqui]'``), for users with weights neural
``fake``    tones whose length is proportional to the text; for tests, dry runs  none
==========  ==================================================================  =========

A backend writes one mono WAV per call and reports its sample rate and duration; timing
fit (:mod:`localize.dub.fit`) and mixing (:mod:`localize.dub.mix`) take it from there.
Heavy dependencies (piper, onnxruntime, TTS/torch) are imported when a backend is built.
"""

from __future__ import annotations

import importlib
import logging
import math
import re
import tempfile
import time
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from localize.errors import LocalizeError, ModelError
from localize.registry import build_backend
from localize.tools import run_tool

if TYPE_CHECKING:
    from localize.glossary import Glossary
    from localize.models import ModelStore

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SPEAKER",
    "SYNTHESIZERS",
    "CoquiSynthesizer",
    "DubError",
    "EspeakSynthesizer",
    "FakeSynthesizer",
    "KokoroSynthesizer",
    "PiperSynthesizer",
    "SynthResult",
    "SynthesisError",
    "Synthesizer",
    "VoiceInfo",
    "VoiceRef",
    "assign_voices",
    "create_synthesizer",
    "register_synthesizer",
    "speaker_key",
    "synthesizer_for",
    "voice_for",
]

#: key of the series default voice in what :func:`assign_voices` returns
DEFAULT_SPEAKER = "*"


class DubError(LocalizeError):
    """Dubbing failed for a reason the user can act on."""


class SynthesisError(DubError):
    """Speech synthesis failed. ``cue_index`` is 0-based (-1 outside a track)."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "cue_index", "text", "voice")

    def __init__(
        self, message: str, hint: str = "", cue_index: int = -1, text: str = "", voice: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.cue_index = cue_index
        self.text = text
        self.voice = voice


@dataclass(frozen=True)
class VoiceInfo:
    """A voice a backend can speak with. ``quality`` is "neural", "low" or "none"."""

    id: str
    language: str
    gender: str = "unknown"
    quality: str = "neural"


@dataclass(frozen=True)
class VoiceRef:
    """The voice chosen for one speaker: a backend voice id in a language.

    ``requested`` is the glossary's voice id when it was not available and ``voice`` is a
    stand-in (so the report can say so); empty when the request was honoured or absent.
    """

    voice: str
    language: str
    gender: str = "unknown"
    requested: str = ""


@dataclass(frozen=True)
class SynthResult:
    """One synthesised utterance: a mono WAV at ``sample_rate``.

    ``elapsed_s`` is the wall time synthesis took (for the real-time factor).
    """

    path: Path
    sample_rate: int
    duration_ms: int
    voice: str
    elapsed_s: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Synthesis time divided by audio time (lower is faster)."""
        return self.elapsed_s / (self.duration_ms / 1000) if self.duration_ms else math.inf


class Synthesizer(Protocol):
    """Turns one line of text into speech.

    Contract: ``synthesize`` writes a mono WAV to ``out_wav`` and returns its facts, or
    raises :class:`SynthesisError` (never writes silence in place of speech). Backends load
    their models once and are reused across lines and episodes.
    """

    @property
    def name(self) -> str:
        """The backend's name (a key of SYNTHESIZERS)."""
        ...

    @property
    def quality(self) -> str:
        """ "neural", "low" (robotic but intelligible) or "none" (not speech)."""
        ...

    def voices(self, language: str) -> tuple[VoiceInfo, ...]:
        """Voices available for ``language`` (``en``, ``pt-BR``...), best first."""
        ...

    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path) -> SynthResult:
        """Speak ``text`` with ``voice`` into ``out_wav``."""
        ...


SynthesizerFactory = Callable[..., Synthesizer]

#: backend name -> factory, or "module:attribute" imported on first use
SYNTHESIZERS: dict[str, str | SynthesizerFactory] = {
    "kokoro": "localize.dub.synth:KokoroSynthesizer",
    "piper": "localize.dub.synth:PiperSynthesizer",
    "espeak": "localize.dub.synth:EspeakSynthesizer",
    "coqui": "localize.dub.synth:CoquiSynthesizer",
    "fake": "localize.dub.synth:FakeSynthesizer",
}
DEFAULT_SYNTHESIZER = "kokoro"
#: languages Kokoro has voices for that ``tts = "auto"`` gives it (the others: espeak-ng)
KOKORO_LANGUAGES = ("en", "es", "pt-br", "pt")


def synthesizer_for(language: str, choice: str = "auto") -> str:
    """The backend for dubbing into ``language``: ``choice`` unless it is "auto", which
    means Kokoro where it has voices (en, es, pt-BR), else espeak-ng (every language)."""
    if choice != "auto":
        return choice
    key = _lang_key(language)
    return "kokoro" if key in KOKORO_LANGUAGES or key.startswith("en-") else "espeak"


def register_synthesizer(name: str, factory: str | SynthesizerFactory) -> None:
    """Add (or replace) a backend, e.g. a cloud TTS service a user wraps."""
    SYNTHESIZERS[name] = factory


def create_synthesizer(backend: str = DEFAULT_SYNTHESIZER, **kwargs: Any) -> Synthesizer:
    """Build a synthesizer by backend name (see :data:`SYNTHESIZERS`)."""
    synthesizer: Synthesizer = build_backend(SYNTHESIZERS, backend, "speech synthesis", **kwargs)
    return synthesizer


# ------------------------------------------------------------------------------ helpers


def _voice_id(voice: VoiceRef | str) -> str:
    return voice.voice if isinstance(voice, VoiceRef) else voice


def _lang_key(code: str) -> str:
    """``pt_BR`` / ``pt-BR`` / ``PT-br`` -> ``pt-br`` for comparisons."""
    return code.replace("_", "-").lower()


def _lang_matches(voice_language: str, language: str) -> bool:
    """True if a voice for ``voice_language`` (en-us) can speak ``language`` (en, en-US)."""
    have, want = _lang_key(voice_language), _lang_key(language)
    return have == want or have.startswith(want + "-") or want.startswith(have + "-")


def _wav_facts(path: Path) -> tuple[int, int]:
    """(sample rate, number of frames) of a WAV file."""
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.getnframes()


def _result(path: Path, voice: str, started: float, what: str) -> SynthResult:
    """Check what a backend wrote and describe it; silence or nothing is an error."""
    try:
        rate, frames = _wav_facts(path)
    except (OSError, EOFError, wave.Error) as exc:
        raise SynthesisError(
            f"{what} did not write a readable WAV file ({exc})",
            "check the voice model; try another voice or backend",
            voice=voice,
        ) from exc
    if frames == 0:
        raise SynthesisError(
            f"{what} produced no audio",
            "the text may have nothing speakable for this voice (wrong language?)",
            voice=voice,
        )
    return SynthResult(
        path=path,
        sample_rate=rate,
        duration_ms=round(frames * 1000 / rate),
        voice=voice,
        elapsed_s=time.perf_counter() - started,
    )


# ------------------------------------------------------------------------------- kokoro

#: Kokoro voice-name prefix letter -> (language of the voice, espeak-ng code for its G2P)
_KOKORO_LANGS = {
    "a": ("en-US", "en-us"),
    "b": ("en-GB", "en-gb"),
    "e": ("es", "es"),
    "f": ("fr", "fr-fr"),
    "h": ("hi", "hi"),
    "i": ("it", "it"),
    "j": ("ja", "ja"),
    "p": ("pt-BR", "pt-br"),
    "z": ("zh", "cmn"),
}
#: how well whisper-tiny.en follows each voice: word recall of the sample's English dub
#: spoken entirely in that voice over the sample's music (``python -m bench.voices
#: --rank VOICE...``, 2026-12-05; the name-free words would score higher, the order holds)
KOKORO_CLARITY: Mapping[str, float] = {
    "af_heart": 0.87, "af_bella": 0.87, "af_aoede": 0.847, "af_nicole": 0.684,
}  # fmt: skip
#: below this a voice is cast last: af_nicole whispers (it dropped the sample's mix to
#: 0.819 recall as the third woman's voice)
UNCLEAR = 0.8
#: the voice pack's own quality grades (af_heart A, af_bella A-, ...) order the voices
#: not measured yet; the others follow in pack order
_KOKORO_GRADED = (
    "af_heart", "af_bella", "bf_emma", "am_michael", "am_fenrir", "am_puck",
    "bm_george", "bm_fable", "af_aoede", "af_kore", "af_sarah", "bf_isabella", "am_adam",
)  # fmt: skip


def kokoro_casting_order(voice_id: str) -> tuple[int, float, int]:
    """Sort key, clearest first: measured clear voices by recall, then the unmeasured by
    the pack's grade, then the rest, and voices measured unclear last."""
    clarity = KOKORO_CLARITY.get(voice_id)
    graded = _KOKORO_GRADED.index(voice_id) if voice_id in _KOKORO_GRADED else len(_KOKORO_GRADED)
    if clarity is None:
        return (1, 0.0, graded)
    return (0 if clarity >= UNCLEAR else 2, -clarity, graded)


def kokoro_voice_info(voice_id: str) -> VoiceInfo | None:
    """``af_heart`` -> en-US female; None for a name that is not a Kokoro voice."""
    lang = _KOKORO_LANGS.get(voice_id[:1])
    gender = {"f": "female", "m": "male"}.get(voice_id[1:2])
    if lang is None or gender is None or voice_id[2:3] != "_":
        return None
    return VoiceInfo(voice_id, lang[0], gender, "neural")


@dataclass
class KokoroSynthesizer:
    """Kokoro-82M (int8 ONNX on onnxruntime, 24 kHz) with the 54 voices of kokoro-js.

    The model and voices are the packaged ``kokoro-82m`` (assembled from PyPI and npm,
    sha256-pinned) or ``model_dir`` holding ``kokoro-v1.0.int8.onnx`` and ``voices.f32``.
    A voice id is a Kokoro voice (``af_heart``, ``am_michael``, ``ef_dora``, ``pm_alex``);
    the text is turned into phonemes by espeak-ng (bundled by ``espeakng-loader``) in the
    target language. Loads once, on first use; ``threads`` is onnxruntime's intra-op count.
    """

    name: ClassVar[str] = "kokoro"
    quality: ClassVar[str] = "neural"

    store: ModelStore | None = None
    model_dir: Path | None = None
    threads: int = 2
    speed: float = 1.0
    _engine: Any = field(default=None, init=False, repr=False)
    _styles: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    load_s: float = field(default=0.0, init=False)

    def _folder(self) -> Path:
        if self.model_dir is not None:
            return Path(self.model_dir).expanduser()
        if self.store is None:
            from localize.models import ModelStore

            self.store = ModelStore()
        return self.store.resolve("kokoro-82m")

    def voices(self, language: str) -> tuple[VoiceInfo, ...]:
        from localize.models import KOKORO_VOICES

        infos = [kokoro_voice_info(v) for v in KOKORO_VOICES]
        found = [v for v in infos if v is not None and _lang_matches(v.language, language)]
        want = _lang_key(language)
        found.sort(
            key=lambda v: (
                _lang_key(v.language) != want and "-" in want,
                kokoro_casting_order(v.id),
            )
        )
        return tuple(found)

    def all_voices(self) -> tuple[VoiceInfo, ...]:
        """Every Kokoro voice: one of another language speaks the target language with
        its phonemes (with an accent), so a cast short of voices can borrow it."""
        from localize.models import KOKORO_VOICES

        every = [v for v in map(kokoro_voice_info, KOKORO_VOICES) if v is not None]
        return tuple(sorted(every, key=lambda v: kokoro_casting_order(v.id)))

    def _load(self) -> Any:
        if self._engine is not None:
            return self._engine
        started = time.perf_counter()
        folder = self._folder()
        self._styles = load_kokoro_voices(folder / "voices.f32")
        try:
            import onnxruntime as ort
            from kokoro_onnx import Kokoro
        except ImportError as exc:
            raise ModelError(
                f"the kokoro backend needs the kokoro-onnx package ({exc})",
                "pip install kokoro-onnx==0.6.1 (it pulls onnxruntime, phonemizer and "
                "espeakng-loader, no torch)",
                model="kokoro-82m",
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                str(folder / "kokoro-v1.0.int8.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own types for a bad model
            raise ModelError(
                f"cannot load the Kokoro model from {folder}: {exc}",
                "run: localize models fetch --force kokoro-82m",
                model="kokoro-82m",
            ) from exc
        with tempfile.TemporaryDirectory() as tmp:
            # kokoro-onnx wants a voices archive; styles are passed per call instead
            np.savez(Path(tmp) / "none.npz")
            self._engine = Kokoro.from_session(session, str(Path(tmp) / "none.npz"))
        self.load_s = time.perf_counter() - started
        return self._engine

    def _style(self, voice_id: str) -> Any:
        self._load()
        if voice_id not in self._styles:
            known = ", ".join(sorted(self._styles))
            raise SynthesisError(
                f"Kokoro has no voice {voice_id!r}",
                f"Kokoro voices: {known}",
                voice=voice_id,
            )
        return self._styles[voice_id]

    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path) -> SynthResult:
        voice_id = _voice_id(voice) or "af_heart"
        style = self._style(voice_id)
        language = _kokoro_g2p_language(voice_id, voice)
        started = time.perf_counter()
        try:
            audio, rate = self._engine.create(text, voice=style, speed=self.speed, lang=language)
        except Exception as exc:  # phonemizer and onnxruntime raise many types
            raise SynthesisError(
                f"Kokoro failed to speak {text!r} with {voice_id} ({language}): {exc}",
                "check the text for unusual characters; try the espeak backend to compare",
                text=text,
                voice=voice_id,
            ) from exc
        pcm = np.round(np.clip(np.asarray(audio, dtype=np.float64), -1, 1) * 32767).astype("<i2")
        with wave.open(str(out_wav), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(int(rate))
            wav.writeframes(pcm.tobytes())
        return _result(out_wav, voice_id, started, f"Kokoro ({voice_id})")


def _kokoro_g2p_language(voice_id: str, voice: VoiceRef | str) -> str:
    """espeak-ng code for the phonemes: the target language of a VoiceRef, spoken with
    the voice's own accent when the voice is of that language (en + bf_emma: en-gb)."""
    own_language, own_code = _KOKORO_LANGS[voice_id[:1]]
    if not isinstance(voice, VoiceRef) or _lang_matches(own_language, voice.language):
        return own_code
    key = _lang_key(voice.language)
    for language, code in _KOKORO_LANGS.values():
        if _lang_matches(language, key):
            return code
    return key


def load_kokoro_voices(path: Path) -> dict[str, Any]:
    """The style tables of ``voices.f32`` (the packaged concatenation), by voice name.

    Raises ModelError when the file's size does not fit the pinned voice list."""
    from localize.models import KOKORO_VOICE_BYTES, KOKORO_VOICES

    expected = len(KOKORO_VOICES) * KOKORO_VOICE_BYTES
    size = path.stat().st_size if path.is_file() else -1
    if size != expected:
        raise ModelError(
            f"the Kokoro voices file {path} has {size} bytes, expected {expected}",
            "run: localize models fetch --force kokoro-82m (then localize models verify "
            "kokoro-82m)",
            model="kokoro-82m",
        )
    table = np.fromfile(path, dtype="<f4").reshape(len(KOKORO_VOICES), 510, 1, 256)
    return dict(zip(KOKORO_VOICES, table, strict=True))


# -------------------------------------------------------------------------------- piper

#: speakers of well-known single-speaker piper voices (voice files do not say)
_PIPER_GENDERS = {
    "joe": "male",
    "ryan": "male",
    "john": "male",
    "danny": "male",
    "hfc_male": "male",
    "alan": "male",
    "amy": "female",
    "lessac": "female",
    "kristin": "female",
    "kathleen": "female",
    "hfc_female": "female",
    "jenny_dioco": "female",
}


def _piper_gender(voice_id: str) -> str:
    """``en_US-amy-medium`` -> "female"; "unknown" for voices not in the table."""
    parts = voice_id.split("-")
    return _PIPER_GENDERS.get(parts[1], "unknown") if len(parts) >= 3 else "unknown"


@dataclass
class PiperSynthesizer:
    """Piper neural TTS (ONNX Runtime, CPU real-time factor ~0.05).

    A voice id is the name of a packaged voice (``en_US-joe-medium``, resolved by the
    model store as ``piper-<id>``), a path to a voice's ``.onnx`` file (its ``.onnx.json``
    beside it), or the stem of an ``.onnx`` file in one of ``voice_dirs``. Voices load
    once, on first use. ``length_scale`` > 1 speaks slower, < 1 faster.
    """

    name: ClassVar[str] = "piper"
    quality: ClassVar[str] = "neural"

    store: ModelStore | None = None
    default_voice: str = "en_US-joe-medium"
    voice_dirs: tuple[Path, ...] = ()
    length_scale: float | None = None
    _loaded: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def _store(self) -> ModelStore:
        if self.store is None:
            from localize.models import ModelStore

            self.store = ModelStore()
        return self.store

    def _packaged_ids(self) -> list[str]:
        from localize.models import PACKAGED

        return [
            name.removeprefix("piper-")
            for name, model in PACKAGED.items()
            if model.kind == "tts" and name.startswith("piper-")
        ]

    def _onnx_path(self, voice: str) -> Path:
        from localize.models import PACKAGED

        if voice.endswith(".onnx") and Path(voice).expanduser().is_file():
            return Path(voice).expanduser()
        packaged = f"piper-{voice}"
        if packaged in PACKAGED:
            folder = self._store().resolve(packaged)
            return folder / (PACKAGED[packaged].main_file or f"{voice}.onnx")
        for folder in self.voice_dirs:
            candidate = Path(folder).expanduser() / f"{voice}.onnx"
            if candidate.is_file():
                return candidate
        known = ", ".join(sorted(self._packaged_ids() + [v.id for v in self._dir_voices()]))
        raise SynthesisError(
            f"piper voice {voice!r} is not available",
            f"available voices: {known or 'none'}; download the voice's .onnx and .onnx.json "
            "into a folder and pass it as voice_dirs, or give the .onnx path as the voice id",
            voice=voice,
        )

    def _dir_voices(self) -> list[VoiceInfo]:
        import json

        found: list[VoiceInfo] = []
        for folder in self.voice_dirs:
            for onnx in sorted(Path(folder).expanduser().glob("*.onnx")):
                config = onnx.with_name(onnx.name + ".json")
                try:
                    meta = json.loads(config.read_text(encoding="utf-8"))
                    language = str(meta["language"]["code"])
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # not a piper voice (or no config): not offered
                found.append(VoiceInfo(onnx.stem, language, _piper_gender(onnx.stem)))
        return found

    def voices(self, language: str) -> tuple[VoiceInfo, ...]:
        # packaged ids are <lang>_<REGION>-<name>-<quality>, like the folder voices
        packaged = [VoiceInfo(v, v.split("-")[0], _piper_gender(v)) for v in self._packaged_ids()]
        everything = [*packaged, *self._dir_voices()]
        return tuple(v for v in everything if _lang_matches(v.language, language))

    def _voice(self, voice: str) -> Any:
        if voice not in self._loaded:
            path = self._onnx_path(voice)
            try:
                from piper import PiperVoice
            except ImportError as exc:
                raise SynthesisError(
                    f"the piper backend needs the piper-tts package ({exc})",
                    "pip install piper-tts",
                    voice=voice,
                ) from exc
            try:
                self._loaded[voice] = PiperVoice.load(str(path))
            except Exception as exc:  # onnxruntime and json raise many types
                raise SynthesisError(
                    f"cannot load the piper voice {voice!r} from {path}: {exc}",
                    "the .onnx file and its .onnx.json must come from the same piper voice; "
                    "for packaged voices run: localize models fetch --force piper-" + voice,
                    voice=voice,
                ) from exc
        return self._loaded[voice]

    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path) -> SynthResult:
        voice_id = _voice_id(voice) or self.default_voice
        model = self._voice(voice_id)
        started = time.perf_counter()
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=self.length_scale)
        try:
            with wave.open(str(out_wav), "wb") as wav:
                model.synthesize_wav(text, wav, syn_config=config)
        except Exception as exc:  # piper surfaces phonemizer/onnx errors as-is
            raise SynthesisError(
                f"piper failed to speak {text!r} with {voice_id}: {exc}",
                "check the text for unusual characters; try the espeak backend to compare",
                text=text,
                voice=voice_id,
            ) from exc
        return _result(out_wav, voice_id, started, f"piper ({voice_id})")


# ------------------------------------------------------------------------------- espeak

#: espeak-ng voice variants offered per language, so several characters can differ
_FEMALE, _MALE = ("f3", "f2", "f4"), ("m3", "m2", "m5")
_ESPEAK_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")


@dataclass
class EspeakSynthesizer:
    """espeak-ng: every language it knows, robotic. LOW QUALITY: a fallback and a check.

    A voice id is an espeak voice (``en-us``, ``es``, ``pt-br``, ``id``, ``vi``...),
    optionally with a variant (``en-us+f3``). ``voices()`` offers each language's voices
    with female (``+f3``...) and male (``+m3``...) variants so characters can differ.
    Mandarin voices (``cmn...``) get numbered pinyin, since espeak cannot read hanzi.
    ``speed`` is words per minute.
    """

    name: ClassVar[str] = "espeak"
    quality: ClassVar[str] = "low"

    speed: int = 165
    timeout: float = 60.0

    def voices(self, language: str) -> tuple[VoiceInfo, ...]:
        proc = run_tool(
            ["espeak-ng", f"--voices={_lang_key(language).split('-')[0]}"],
            timeout=self.timeout,
            what="listing espeak-ng voices",
        )
        found: list[VoiceInfo] = []
        seen: set[str] = set()
        for line in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
            match = _ESPEAK_LINE.match(line)
            if not match:
                continue
            _priority, lang, age_gender, _name, file = match.groups()
            if file.startswith("mb/") or lang in seen or not _lang_matches(lang, language):
                continue  # mbrola voices need extra packages
            seen.add(lang)
            gender = {"M": "male", "F": "female"}.get(age_gender.rpartition("/")[2], "unknown")
            found.append(VoiceInfo(lang, lang, gender, "low"))
            found += [VoiceInfo(f"{lang}+{v}", lang, "female", "low") for v in _FEMALE]
            found += [VoiceInfo(f"{lang}+{v}", lang, "male", "low") for v in _MALE]
        # the exact language first (en-us before en-gb-scotland for "en-US")
        want = _lang_key(language)
        found.sort(key=lambda v: (v.language != want, not want.startswith(v.language)))
        return tuple(found)

    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path) -> SynthResult:
        voice_id = _voice_id(voice) or "en-us"
        spoken = text
        if voice_id.startswith("cmn"):
            from localize.sample.build import pinyin_for_espeak

            variant = voice_id.partition("+")[2]
            voice_id = "cmn-latn-pinyin" + (f"+{variant}" if variant else "")
            spoken = pinyin_for_espeak(text)
        started = time.perf_counter()
        # the text goes in on stdin, so a line starting with "-" is never an option
        run_tool(
            ["espeak-ng", "-b", "1", "-v", voice_id, "-s", str(self.speed), "-w", str(out_wav)],
            timeout=self.timeout,
            what=f"speaking {text!r} with espeak-ng ({voice_id})",
            stdin=spoken.encode("utf-8"),
        )
        return _result(out_wav, voice_id, started, f"espeak-ng ({voice_id})")


# -------------------------------------------------------------------------------- coqui


class CoquiSynthesizer:
    """Coqui TTS (the ``TTS`` package: ``pip install 'localize[coqui]'``), optional.

    ``model`` is a Coqui model name (``tts_models/en/vctk/vits``, downloaded by Coqui on a
    machine with internet) or a folder holding ``model.pth`` + ``config.json``. A voice id
    is a speaker name of a multi-speaker model, or "" for single-speaker models. Coqui
    needs torch; nothing is imported until the synthesizer is built.
    """

    name: ClassVar[str] = "coqui"
    quality: ClassVar[str] = "neural"

    def __init__(self, model: str = "tts_models/en/vctk/vits", *, device: str = "cpu") -> None:
        try:  # imported by name: the package is optional and ships no type information
            TTS = importlib.import_module("TTS.api").TTS
        except ImportError as exc:
            raise ModelError(
                f"the coqui backend needs the Coqui TTS package ({exc})",
                "pip install 'localize[coqui]' (it pulls torch; install the CPU build of torch "
                "first if you have no GPU), or use the piper backend",
                model=model,
            ) from exc
        folder = Path(model).expanduser()
        try:
            if folder.is_dir():
                tts = TTS(
                    model_path=str(folder / "model.pth"),
                    config_path=str(folder / "config.json"),
                    progress_bar=False,
                )
            else:
                tts = TTS(model_name=model, progress_bar=False)
            self._tts = tts.to(device)
        except Exception as exc:  # Coqui raises many types for missing/corrupt models
            raise ModelError(
                f"cannot load the Coqui TTS model {model!r}: {exc}",
                "check the model name (tts --list_models) or the folder (model.pth and "
                "config.json); offline, copy the model folder to this machine",
                model=model,
            ) from exc
        self.model = model
        #: the model's language, from its name (tts_models/<lang>/...), if it says
        parts = model.split("/")
        self._language = parts[1] if len(parts) > 2 and parts[0] == "tts_models" else ""

    def voices(self, language: str) -> tuple[VoiceInfo, ...]:
        languages: Sequence[str] = getattr(self._tts, "languages", None) or [self._language]
        if not any(not lang or _lang_matches(lang, language) for lang in languages):
            return ()
        speakers: Sequence[str] = getattr(self._tts, "speakers", None) or [""]
        return tuple(VoiceInfo(str(s), language) for s in speakers)

    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path) -> SynthResult:
        voice_id = _voice_id(voice)
        kwargs: dict[str, Any] = {}
        if voice_id:
            kwargs["speaker"] = voice_id
        if getattr(self._tts, "is_multi_lingual", False) and isinstance(voice, VoiceRef):
            kwargs["language"] = voice.language
        started = time.perf_counter()
        try:
            self._tts.tts_to_file(text=text, file_path=str(out_wav), **kwargs)
        except Exception as exc:
            raise SynthesisError(
                f"Coqui TTS failed to speak {text!r} with {voice_id or 'its voice'}: {exc}",
                "check the speaker name against voices(); try the piper backend",
                text=text,
                voice=voice_id,
            ) from exc
        return _result(out_wav, voice_id, started, f"Coqui TTS ({self.model})")


# --------------------------------------------------------------------------------- fake


@dataclass
class FakeSynthesizer:
    """A stand-in for tests and dry runs: a tone ``ms_per_char`` long per character.

    The pitch depends on the voice, so speakers stay apart in a spectrogram. ``fail_on``
    makes it raise for texts containing that string (to test error paths); ``calls``
    records every text spoken.
    """

    name: ClassVar[str] = "fake"
    quality: ClassVar[str] = "none"

    ms_per_char: float = 60.0
    sample_rate: int = 22_050
    amplitude: float = 0.3
    #: leading and trailing silence, like real engines add
    pad_ms: int = 50
    fail_on: str | None = None
    calls: list[str] = field(default_factory=list)

    def voices(self, language: str) -> tuple[VoiceInfo, ...]:
        return (
            VoiceInfo(f"fake-{language}-a", language, "female", "none"),
            VoiceInfo(f"fake-{language}-b", language, "male", "none"),
            VoiceInfo(f"fake-{language}-c", language, "unknown", "none"),
        )

    def tone_ms(self, text: str) -> int:
        """How long the tone for ``text`` is (without the padding)."""
        return max(1, round(len(text.strip()) * self.ms_per_char))

    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path) -> SynthResult:
        voice_id = _voice_id(voice)
        self.calls.append(text)
        if self.fail_on is not None and self.fail_on in text:
            raise SynthesisError(
                f"fake synthesis failure for {text!r}", "remove fail_on", text=text, voice=voice_id
            )
        started = time.perf_counter()
        rate = self.sample_rate
        n = self.tone_ms(text) * rate // 1000
        pad = np.zeros(self.pad_ms * rate // 1000)
        frequency = 200.0 + sum(voice_id.encode()) % 400
        tone = self.amplitude * np.sin(2 * np.pi * frequency * np.arange(n) / rate)
        samples = np.concatenate([pad, tone, pad])
        pcm = np.round(samples * 32767).astype("<i2")
        with wave.open(str(out_wav), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm.tobytes())
        return _result(out_wav, voice_id, started, "fake synthesizer")


# ----------------------------------------------------------------------- voice assignment


def speaker_key(name: str) -> str:
    """How speakers are compared: ``Lin Wan``, ``lin_wan`` and ``lin-wan`` are one key."""
    return re.sub(r"[\s_\-.]+", "_", name.strip()).strip("_").casefold()


def voice_for(voices: Mapping[str, VoiceRef], speaker: str | None) -> VoiceRef | None:
    """The voice of ``speaker`` in an assignment, else the series default, else None."""
    if speaker:
        if speaker in voices:
            return voices[speaker]
        wanted = speaker_key(speaker)
        for name, ref in voices.items():
            if speaker_key(name) == wanted:
                return ref
    return voices.get(DEFAULT_SPEAKER)


def assign_voices(
    glossary: Glossary,
    language: str,
    *,
    synthesizer: Synthesizer | None = None,
    default: str | None = None,
) -> dict[str, VoiceRef]:
    """A voice per character of the glossary for dubbing into ``language``.

    Each character gets the voice its glossary entry names for the language (``voice =
    { en = "..." }``, or for the base language: ``en`` serves ``en-US``). Without one, or
    when ``synthesizer`` is given and cannot provide it, a voice of the character's gender
    is chosen from ``synthesizer.voices(language)``, rotating so characters of one gender
    differ when the backend has several; with no voice of that gender, the series default.
    The series default is ``default`` or else the backend's first voice for the language;
    it is stored under :data:`DEFAULT_SPEAKER` and serves speakers the glossary does not
    know. Each character is keyed by its Chinese name, aliases and renderings (look up
    with :func:`voice_for`, which also matches ``lin_wan`` to "Lin Wan").

    Raises DubError when no voice at all is available for the language.
    """
    available = synthesizer.voices(language) if synthesizer is not None else None
    ids = {v.id for v in available} if available is not None else None
    if default is None:
        if not available:
            backend = synthesizer.name if synthesizer is not None else "the synthesizer"
            raise DubError(
                f"no voice for {language!r}: {backend} has none and no default was given",
                "pass default='<voice id>', add voices to the glossary, or use a backend "
                "that speaks this language (espeak covers most languages, at low quality)",
            )
        default = available[0].id
    result: dict[str, VoiceRef] = {DEFAULT_SPEAKER: VoiceRef(default, language)}
    base = _lang_key(language).split("-")[0]
    used: dict[str, int] = {}
    for entry in glossary.characters:
        gender = entry.gender or "unknown"
        requested = entry.voice.get(language) or entry.voice.get(base) or ""
        if requested and (ids is None or requested in ids):
            ref = VoiceRef(requested, language, gender)
        else:
            candidates = [v.id for v in available or () if v.gender == gender]
            if candidates:
                choice = candidates[used.get(gender, 0) % len(candidates)]
                used[gender] = used.get(gender, 0) + 1
            else:
                choice = default
            ref = VoiceRef(choice, language, gender, requested)
            if requested:
                log.warning(
                    "voice %r for %s is not available in %s; using %r",
                    requested,
                    entry.zh,
                    synthesizer.name if synthesizer is not None else "the synthesizer",
                    choice,
                )
        names = {entry.zh, *entry.aliases}
        for rendering in entry.renderings.values():
            names |= {rendering, speaker_key(rendering)}
        for name in names:
            result[name] = ref
    return result
