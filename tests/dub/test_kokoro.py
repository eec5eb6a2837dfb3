"""The Kokoro backend: packaged model and voices (PyPI + npm), real synthesis, voices."""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path

import pytest

from localize.dub import KokoroSynthesizer, SynthesisError, VoiceRef, create_synthesizer
from localize.dub.synth import load_kokoro_voices, synthesizer_for
from localize.errors import ModelError
from localize.models import KOKORO_VOICE_BYTES, KOKORO_VOICES, ModelStore

HAVE_KOKORO = importlib.util.find_spec("kokoro_onnx") is not None


def _kokoro_ready() -> bool:
    return HAVE_KOKORO and ModelStore().is_ready("kokoro-82m")


needs_kokoro = pytest.mark.skipif(
    not _kokoro_ready(),
    reason="needs kokoro-onnx and the packaged model: localize models fetch kokoro-82m",
)


def test_auto_picks_kokoro_where_it_has_voices_and_espeak_elsewhere() -> None:
    assert synthesizer_for("en") == "kokoro"
    assert synthesizer_for("es") == "kokoro"
    assert synthesizer_for("pt-BR") == "kokoro"
    assert synthesizer_for("id") == "espeak"  # Kokoro has no Indonesian voice
    assert synthesizer_for("en", "piper") == "piper"


def test_voices_per_language_with_gender_best_first() -> None:
    tts = KokoroSynthesizer(model_dir=Path("/nonexistent"))  # listing needs no model
    english = tts.voices("en")
    assert english[0].id == "af_heart"  # the pack's best-graded voice
    assert {v.gender for v in english} == {"female", "male"}
    assert len(english) == 28
    assert [v.id for v in tts.voices("es")] == ["ef_dora", "em_alex", "em_santa"]
    assert {v.id for v in tts.voices("pt-BR")} == {"pf_dora", "pm_alex", "pm_santa"}
    assert all(v.language == "en-GB" for v in tts.voices("en-GB"))
    assert tts.voices("id") == ()


def test_a_truncated_voices_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "voices.f32"
    bad.write_bytes(b"\0" * (KOKORO_VOICE_BYTES * len(KOKORO_VOICES) - 4))
    with pytest.raises(ModelError, match=r"voices file .* expected"):
        load_kokoro_voices(bad)


@needs_kokoro
@pytest.mark.slow
def test_kokoro_speaks_english_and_spanish_with_real_weights(tmp_path: Path) -> None:
    tts = create_synthesizer("kokoro")
    out = tmp_path / "en.wav"
    result = tts.synthesize("Mr. Gu, the contract is signed.", VoiceRef("am_michael", "en"), out)
    with wave.open(str(out), "rb") as wav:
        assert wav.getframerate() == 24_000 and wav.getnchannels() == 1
    assert 1.0 < result.duration_ms / 1000 < 6.0  # a short line, not silence or a loop
    es = tts.synthesize("El contrato está firmado.", VoiceRef("ef_dora", "es"), tmp_path / "es.wav")
    assert es.duration_ms > 800
    with pytest.raises(SynthesisError, match="no voice 'en_US-joe-medium'") as err:
        tts.synthesize("Hello.", "en_US-joe-medium", tmp_path / "x.wav")
    assert "af_heart" in err.value.hint and "pm_alex" in err.value.hint
