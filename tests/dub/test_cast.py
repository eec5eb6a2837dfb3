"""The series cast: one voice per character and language, chosen once and kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localize.dub import FakeSynthesizer, KokoroSynthesizer, voice_for
from localize.dub.cast import CastError, cast_path, series_cast
from localize.dub.synth import kokoro_voice_info
from localize.glossary import Glossary, load_glossary, parse_glossary


@pytest.fixture(autouse=True)
def _data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "data"))


@pytest.fixture
def kokoro() -> KokoroSynthesizer:
    return KokoroSynthesizer(model_dir=Path("/nonexistent"))  # listing voices loads nothing


def _with_extra_character(path: Path) -> Glossary:
    text = path.read_text(encoding="utf-8").replace(
        '[[characters]]\nzh = "林晚"',
        '[[characters]]\nzh = "小桃"\nto = { en = "Xiao Tao", es = "Xiao Tao" }\n'
        'gender = "female"\n\n[[characters]]\nzh = "林晚"',
        1,
    )
    return parse_glossary(text)


def test_every_character_gets_its_own_gender_matched_voice_kept_across_episodes(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    glossary = load_glossary(glossary_path)
    cast = series_cast(glossary, "en", kokoro)
    voices = {m.name: m.voice for m in cast.members}
    assert voices["Lin Wan"] == "af_heart" and voices["Gu Yanshen"] == "am_michael"  # glossary
    assert len(set(voices.values())) == len(voices) == 5  # distinct
    for m in cast.members:
        info = kokoro_voice_info(m.voice)
        assert info is not None and info.gender == m.gender and info.language.startswith("en")
    assert cast.narrator not in voices.values()
    refs = cast.voices(glossary)
    assert voice_for(refs, "su_man").voice == voices["Su Man"]  # type: ignore[union-attr]
    assert voice_for(refs, "a passer-by").voice == cast.narrator  # type: ignore[union-attr]
    # episode 37: the stored cast, even when a character joins the glossary first
    again = series_cast(_with_extra_character(glossary_path), "en", kokoro)
    kept = {m.name: m.voice for m in again.members}
    assert {k: kept[k] for k in voices} == voices
    assert kept["Xiao Tao"] not in {*voices.values(), cast.narrator}


def test_automatic_casting_takes_the_clearest_voices_and_never_a_whisper_while_others_are_free(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    from localize.dub.synth import KOKORO_CLARITY, UNCLEAR

    cast = series_cast(_with_extra_character(glossary_path), "en", kokoro)
    chosen = {m.voice for m in cast.members if m.source == "auto"} | {cast.narrator}
    unclear = {v for v, recall in KOKORO_CLARITY.items() if recall < UNCLEAR}
    assert "af_nicole" in unclear and not chosen & unclear
    women = [m.voice for m in cast.members if m.gender == "female" and m.source == "auto"]
    assert women[0] == "af_bella"  # the clearest free woman's voice goes to the first


def test_spanish_borrows_other_kokoro_voices_rather_than_sharing(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    cast = series_cast(load_glossary(glossary_path), "es", kokoro)
    women = [m for m in cast.members if m.gender == "female"]
    assert women[0].voice == "ef_dora"  # the language's own voice to the lead
    assert len({m.voice for m in cast.members}) == 5 and not any(m.shared for m in cast.members)
    assert all(kokoro_voice_info(m.voice).gender == "female" for m in women)  # type: ignore[union-attr]


def test_an_engine_short_of_voices_says_who_shares(glossary_path: Path) -> None:
    cast = series_cast(load_glossary(glossary_path), "en", FakeSynthesizer())
    # fake has one female, one male and one neutral voice: the third woman and the
    # second man share (and the cast says so); the neutral voice goes to Su Man
    shared = [m.name for m in cast.members if m.shared]
    assert shared == ["Lin Wan", "Gu Yanshen", "Secretary Chen", "Madam Gu"]
    assert "SHARED" in cast.table()


def test_a_manager_pins_a_voice_and_it_stays(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    glossary = load_glossary(glossary_path)
    series_cast(glossary, "en", kokoro, pins={"Su Man": "bf_emma", "narrator": "am_fenrir"})
    cast = series_cast(glossary, "en", kokoro)
    su = cast.member("su_man")
    assert su is not None and (su.voice, su.source) == ("bf_emma", "pinned")
    assert cast.narrator == "am_fenrir"
    with pytest.raises(CastError, match="not a character") as err:
        series_cast(glossary, "en", kokoro, pins={"Nobody": "af_sky"})
    assert "Lin Wan" in err.value.hint
    with pytest.raises(CastError, match="no voice 'af_nobody'") as err:
        series_cast(glossary, "en", kokoro, pins={"Su Man": "af_nobody"})
    assert "am_michael" in err.value.hint


def test_a_glossary_voice_the_engine_lacks_is_an_error_listing_its_voices(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    text = glossary_path.read_text(encoding="utf-8").replace('"af_heart"', '"heroine_voice"')
    with pytest.raises(CastError, match="kokoro has no voice 'heroine_voice'") as err:
        series_cast(parse_glossary(text), "en", kokoro)
    assert "af_bella" in err.value.hint
    # a voice of another engine (a glossary written for piper) is not an error: chosen
    piper_text = glossary_path.read_text(encoding="utf-8").replace(
        '"af_heart"', '"en_US-amy-medium"'
    )
    lin = series_cast(parse_glossary(piper_text), "en", kokoro).member("Lin Wan")
    assert lin is not None and lin.source == "auto"


def test_a_cast_file_of_another_series_is_refused(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    glossary = load_glossary(glossary_path)
    path = cast_path(glossary.series.id)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"series": "another-show", "casts": {}}), encoding="utf-8")
    with pytest.raises(CastError, match="belongs to series 'another-show'"):
        series_cast(glossary, "en", kokoro)


def test_cli_prints_the_cast_and_pins_a_voice(
    glossary_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localize.cli import main

    series = str(glossary_path)
    assert main(["cast", series, "--to", "en", "--pin", "Madam Gu=bf_isabella"]) == 0
    assert main(["cast", series, "--to", "en", "es"]) == 0
    out = capsys.readouterr().out
    assert "ceo-contract-bride · en · kokoro" in out and "ceo-contract-bride · es" in out
    madam = next(line for line in out.splitlines() if "Madam Gu" in line)
    assert "bf_isabella" in madam and "pinned" in madam
    assert main(["cast", series, "--to", "en", "--pin", "Madam Gu"]) == 2


def test_each_line_is_spoken_in_its_characters_voice_and_the_report_lists_them(
    glossary_path: Path, tmp_path: Path
) -> None:
    from localize.domain import Cue, CueTrack
    from localize.dub.cast import dub_lines
    from localize.dub.fit import fit_track
    from localize.qc import build_report
    from localize.report import render_html

    glossary = load_glossary(glossary_path)
    tts = FakeSynthesizer()
    cast = series_cast(glossary, "en", tts)
    track = CueTrack(
        "en",
        (
            Cue(0, 1500, "Sign it.", speaker="gu_yanshen"),
            Cue(2000, 3500, "Fine.", speaker="林晚"),
            Cue(4000, 5500, "Who is she?", speaker=None),  # unknown: the narrator
            Cue(6000, 7500, "Again.", speaker="Gu Yanshen"),
        ),
    )
    fitted = fit_track(track, synthesizer=tts, voices=cast.voices(glossary), out_dir=tmp_path)
    lines = dub_lines(fitted.clips, track, cast)
    gu, lin = cast.member("Gu Yanshen"), cast.member("Lin Wan")
    assert gu is not None and lin is not None and gu.voice != lin.voice
    assert [(line.speaker, line.voice) for line in lines] == [
        ("Gu Yanshen", gu.voice), ("Lin Wan", lin.voice), ("", cast.narrator),
        ("Gu Yanshen", gu.voice),
    ]  # fmt: skip
    page = render_html(build_report({"en": track}), title="t", dubs={"en": lines})
    assert f"<tr><td>Gu Yanshen</td><td>{gu.voice}</td><td>2</td><td>1, 4</td></tr>" in page


def test_voices_heard_but_not_known_get_their_own_voices_for_the_episode(
    glossary_path: Path, kokoro: KokoroSynthesizer
) -> None:
    glossary = load_glossary(glossary_path)
    cast = series_cast(glossary, "en", kokoro)
    refs = cast.voices(glossary, {"?1": "female", "?2": "male"}, kokoro)
    cast_voices = {m.voice for m in cast.members} | {cast.narrator}
    assert refs["?1"].voice not in cast_voices and refs["?2"].voice not in cast_voices
    assert kokoro_voice_info(refs["?1"].voice).gender == "female"  # type: ignore[union-attr]
    assert kokoro_voice_info(refs["?2"].voice).gender == "male"  # type: ignore[union-attr]
