"""Synthesizer backends, the registry and voice assignment."""

from __future__ import annotations

import importlib.util
import pickle
import sys
import types
import wave
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from localize.dub import (
    DEFAULT_SPEAKER,
    CoquiSynthesizer,
    DubError,
    EspeakSynthesizer,
    FakeSynthesizer,
    PiperSynthesizer,
    SynthesisError,
    VoiceRef,
    assign_voices,
    create_synthesizer,
    register_synthesizer,
    voice_for,
)
from localize.errors import ModelError
from localize.glossary import load_glossary, parse_glossary
from localize.models import ModelStore
from localize.tools import ToolFailedError

HAVE_TTS = importlib.util.find_spec("TTS") is not None


def _facts(path: Path) -> tuple[int, int, float]:
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getnframes() / wav.getframerate()


# ------------------------------------------------------------------------------ registry


def test_registry_builds_backends_by_name() -> None:
    assert isinstance(create_synthesizer("fake"), FakeSynthesizer)
    assert isinstance(create_synthesizer("espeak", speed=180), EspeakSynthesizer)
    with pytest.raises(ModelError, match="unknown speech synthesis backend 'nope'") as info:
        create_synthesizer("nope")
    assert "piper" in info.value.hint and "espeak" in info.value.hint
    register_synthesizer("my-fake", lambda **kw: FakeSynthesizer(ms_per_char=10, **kw))
    assert create_synthesizer("my-fake").ms_per_char == 10  # type: ignore[attr-defined]


def test_backends_declare_their_quality() -> None:
    assert PiperSynthesizer.quality == "neural"
    assert EspeakSynthesizer.quality == "low"
    assert "LOW QUALITY" in (EspeakSynthesizer.__doc__ or "")
    assert FakeSynthesizer.quality == "none"


def test_fake_length_is_proportional_to_text(tmp_path: Path) -> None:
    tts = FakeSynthesizer(ms_per_char=50, pad_ms=0)
    short = tts.synthesize("abcd", "v", tmp_path / "a.wav")
    long = tts.synthesize("abcd" * 3, "v", tmp_path / "b.wav")
    assert (short.duration_ms, long.duration_ms) == (200, 600)
    assert short.sample_rate == 22_050


def test_synthesis_errors_pickle() -> None:
    error = SynthesisError("boom", "fix it", cue_index=3, text="Hi", voice="v")
    again = pickle.loads(pickle.dumps(error))
    assert (again.cue_index, again.text, again.voice, str(again)) == (3, "Hi", "v", str(error))


# -------------------------------------------------------------------------------- espeak


def test_espeak_speaks_english_and_offers_gendered_voices(tmp_path: Path) -> None:
    tts = EspeakSynthesizer()
    voices = tts.voices("en-US")
    assert voices[0].id == "en-us"
    assert any(v.gender == "female" for v in voices)
    assert all(v.quality == "low" for v in voices)
    # a line starting with "-" is text, not an option
    result = tts.synthesize(
        "-- Hello there, how are you?", VoiceRef("en-us+f3", "en"), tmp_path / "e.wav"
    )
    rate, channels, seconds = _facts(result.path)
    assert (rate, channels) == (22_050, 1) and 0.8 < seconds < 4
    assert tts.voices("es") and tts.voices("pt-BR")[0].id == "pt-br"


def test_espeak_unknown_voice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolFailedError, match="espeak-ng"):
        EspeakSynthesizer().synthesize("Hello", "xx-nonexistent", tmp_path / "e.wav")


# --------------------------------------------------------------------------------- piper


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    pytest.importorskip("piper", reason="piper-tts is not installed (pip install piper-tts)")
    return PiperSynthesizer()


def test_piper_speaks_a_sentence(piper: PiperSynthesizer, tmp_path: Path) -> None:
    text = "Mr. Gu, Miss Lin is already waiting for you in the VIP lounge."
    piper.synthesize("Warm up.", piper.default_voice, tmp_path / "warm.wav")  # loads the voice
    result = piper.synthesize(text, VoiceRef("en_US-joe-medium", "en"), tmp_path / "p.wav")
    rate, channels, seconds = _facts(result.path)
    assert (rate, channels) == (22_050, 1)
    assert 2.0 < seconds < 6.0
    assert result.duration_ms == pytest.approx(seconds * 1000, abs=1)
    print(f"\npiper: {seconds:.2f} s of speech in {result.elapsed_s:.2f} s, "
          f"RTF {result.real_time_factor:.3f}")  # fmt: skip
    assert result.real_time_factor < 1.0


def test_piper_voices_and_unknown_voice(piper: PiperSynthesizer, tmp_path: Path) -> None:
    assert [v.id for v in piper.voices("en")] == ["en_US-joe-medium"]
    assert piper.voices("en-US") and not piper.voices("es")
    with pytest.raises(SynthesisError, match=r"en_US-amy-medium.*not available") as info:
        piper.synthesize("Hi", "en_US-amy-medium", tmp_path / "x.wav")
    assert "voice_dirs" in info.value.hint


def test_piper_finds_voices_in_folders(tmp_path: Path) -> None:
    pytest.importorskip("piper")
    source = ModelStore().resolve("piper-en_US-joe-medium")
    folder = tmp_path / "voices"
    folder.mkdir()
    for suffix in (".onnx", ".onnx.json"):
        (folder / f"my-voice{suffix}").symlink_to(source / f"en_US-joe-medium{suffix}")
    tts = PiperSynthesizer(voice_dirs=(folder,))
    assert "my-voice" in [v.id for v in tts.voices("en")]
    result = tts.synthesize("Hello.", "my-voice", tmp_path / "h.wav")
    assert result.duration_ms > 200


# --------------------------------------------------------------------------------- coqui


@pytest.mark.skipif(HAVE_TTS, reason="Coqui TTS is installed: the missing-package path can't run")
def test_coqui_without_the_package_says_how_to_install() -> None:
    with pytest.raises(ModelError, match="Coqui TTS") as info:
        CoquiSynthesizer()
    assert "pip install 'localize[coqui]'" in info.value.hint


class _StubTTS:
    """Stands in for TTS.api.TTS: records calls, writes a short tone."""

    calls: list[dict[str, Any]] = []  # noqa: RUF012

    def __init__(self, model_name: str = "", progress_bar: bool = True, **kw: Any) -> None:
        self.model_name = model_name
        self.speakers = ["p225", "p226"]
        self.languages = None
        self.is_multi_lingual = False

    def to(self, device: str) -> _StubTTS:
        return self

    def tts_to_file(self, text: str, file_path: str, **kwargs: Any) -> None:
        self.calls.append({"text": text, **kwargs})
        FakeSynthesizer(pad_ms=0).synthesize(text, "x", Path(file_path))


def test_coqui_backend_plumbing_with_a_stub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The backend's own code, against a stand-in for the TTS package (no torch, no weights)."""
    package = types.ModuleType("TTS")
    api = types.ModuleType("TTS.api")
    api.TTS = _StubTTS  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "TTS", package)
    monkeypatch.setitem(sys.modules, "TTS.api", api)
    tts = create_synthesizer("coqui", model="tts_models/en/vctk/vits")
    assert [v.id for v in tts.voices("en")] == ["p225", "p226"]
    assert tts.voices("de") == ()
    result = tts.synthesize("Hello there", VoiceRef("p226", "en"), tmp_path / "c.wav")
    assert result.duration_ms > 0
    assert _StubTTS.calls[-1] == {"text": "Hello there", "speaker": "p226"}


@pytest.mark.skipif(not HAVE_TTS, reason="Coqui TTS (the TTS package) is not installed")
def test_coqui_real(tmp_path: Path) -> None:  # pragma: no cover - needs TTS + weights
    import os

    model = os.environ.get("LOCALIZE_COQUI_MODEL")
    if not model:
        pytest.skip("set LOCALIZE_COQUI_MODEL to a Coqui model name or folder to run this")
    tts = CoquiSynthesizer(model)
    voice = (tts.voices("en") or (None,))[0]
    result = tts.synthesize("Hello there.", voice.id if voice else "", tmp_path / "c.wav")
    assert result.duration_ms > 300


# ------------------------------------------------------------------------ voice assignment

GLOSSARY = dedent(
    """
    [series]
    id = "demo"
    title = { en = "Demo" }
    targets = ["en"]

    [[characters]]
    zh = "林晚"
    to = { en = "Lin Wan" }
    gender = "female"
    voice = { en = "fake-en-x" }

    [[characters]]
    zh = "顾言深"
    to = { en = "Gu Yanshen" }
    gender = "male"
    voice = { en = "fake-en-b" }

    [[characters]]
    zh = "苏曼"
    to = { en = "Su Man" }
    gender = "female"

    [[characters]]
    zh = "老王"
    to = { en = "Old Wang" }
    gender = "other"
    """
)


def test_assign_voices_from_glossary_with_fallbacks() -> None:
    glossary = parse_glossary(GLOSSARY)
    voices = assign_voices(glossary, "en", synthesizer=FakeSynthesizer(), default="fake-en-c")
    assert voices[DEFAULT_SPEAKER] == VoiceRef("fake-en-c", "en")
    # the glossary's voice when the backend has it
    assert voices["顾言深"] == VoiceRef("fake-en-b", "en", "male")
    # not available: a voice of the same gender, and the request is remembered
    assert voices["林晚"] == VoiceRef("fake-en-a", "en", "female", requested="fake-en-x")
    assert voices["苏曼"].voice == "fake-en-a"  # the only female voice
    assert voices["老王"].voice == "fake-en-c"  # no "other" voice: the series default
    # speakers are found by Chinese name, rendering or cast-id spelling
    assert voice_for(voices, "Lin Wan") is voices["林晚"]
    assert voice_for(voices, "lin_wan") is voices["林晚"]
    assert voice_for(voices, "stranger") is voices[DEFAULT_SPEAKER]
    assert voice_for(voices, None) is voices[DEFAULT_SPEAKER]


def test_assign_voices_without_a_backend_trusts_the_glossary() -> None:
    voices = assign_voices(parse_glossary(GLOSSARY), "en", default="d")
    assert voices["林晚"].voice == "fake-en-x"
    assert voices["苏曼"].voice == "d"


def test_assign_voices_rotates_within_a_gender() -> None:
    tts = EspeakSynthesizer()
    voices = assign_voices(parse_glossary(GLOSSARY), "en", synthesizer=tts)
    assert voices[DEFAULT_SPEAKER].voice == "en-gb"  # espeak's first voice for "en"
    # two women, two different female variants of the same accent
    assert voices["林晚"].voice == "en-gb+f3"
    assert voices["苏曼"].voice == "en-gb+f2"
    assert voices["顾言深"].voice == "en-gb"  # espeak lists its base voices as male


def test_assign_voices_needs_some_voice() -> None:
    with pytest.raises(DubError, match="no voice for 'xx'"):
        assign_voices(parse_glossary(GLOSSARY), "xx", synthesizer=PiperSynthesizer())


def test_sample_glossary_with_piper(glossary_path: Path) -> None:
    pytest.importorskip("piper")
    voices = assign_voices(load_glossary(glossary_path), "en", synthesizer=PiperSynthesizer())
    # only joe is packaged: everyone gets him, and the wished-for voices are recorded
    assert {v.voice for v in voices.values()} == {"en_US-joe-medium"}
    assert voice_for(voices, "lin_wan") == VoiceRef(
        "en_US-joe-medium", "en", "female", requested="af_heart"
    )


@pytest.mark.parametrize(
    ("language", "choice", "backend"),
    [("en", "auto", "kokoro"), ("es", "auto", "kokoro"), ("pt-BR", "auto", "kokoro"),
     ("id", "auto", "espeak"), ("en", "espeak", "espeak"), ("es", "fake", "fake")],
)  # fmt: skip
def test_auto_picks_kokoro_where_it_has_voices_and_espeak_elsewhere(
    language: str, choice: str, backend: str
) -> None:
    from localize.dub.synth import synthesizer_for

    assert synthesizer_for(language, choice) == backend
