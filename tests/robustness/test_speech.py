"""Audio with no usable Mandarin speech: silence, music, another language (real Whisper)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.cli import main
from localize.models import ModelStore

pytestmark = pytest.mark.skipif(
    not ModelStore().is_ready("whisper-base"),
    reason="needs the whisper-base model: localize models fetch whisper-base",
)


@pytest.mark.parametrize("fixture", ["silence", "music"])
def test_no_speech_gives_an_empty_flagged_result(
    fixture: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    audio: Path = request.getfixturevalue(fixture)
    out = tmp_path / "out.zh.srt"
    assert main(["transcribe", str(audio), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: no speech found in {audio}; wrote an empty {out}" in err
    assert out.exists() and out.read_text(encoding="utf-8") == ""


def test_non_mandarin_speech_is_refused_with_an_override(
    english_speech: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.zh.srt"
    assert main(["transcribe", str(english_speech), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"the speech in {english_speech.name} sounds like 'en'" in err
    assert "--no-language-check" in err
    assert not out.exists()
    # the override: the user says it is Mandarin after all, and gets a transcript
    assert main(["transcribe", str(english_speech), "--out", str(out), "--no-language-check"]) == 0
    assert out.exists()
