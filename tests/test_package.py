"""Publishing: atomic switch, checksummed manifest, idempotent re-publish."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError
from localize.package import publish_episode
from localize.subtitles import read_subtitles

ZH = CueTrack("zh-Hans", (Cue(0, 1200, "你好"), Cue(1500, 3000, "再见")))
EN = CueTrack("en", (Cue(0, 1200, "Hello", source="你好"), Cue(1500, 3000, "Goodbye")))


def _publish(out: Path, en: CueTrack = EN):  # type: ignore[no-untyped-def]
    return publish_episode(
        out,
        series="s",
        episode="ep01",
        source=ZH,
        targets={"en": en},
        qc_json="{}",
        review_json="[]",
    )


def test_publish_writes_subtitles_and_a_true_manifest(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    manifest = _publish(out)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "ep01.zh-Hans.srt",
            "ep01.zh-Hans.vtt",
            "ep01.en.srt",
            "ep01.en.vtt",
            "qc.json",
            "review.json",
            "manifest.json",
        ]
    )
    data = json.loads((out / "manifest.json").read_text())
    for entry in data["files"]:
        body = (out / entry["path"]).read_bytes()
        assert entry["size"] == len(body)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
    assert read_subtitles(out / "ep01.en.vtt").cues[1].text == "Goodbye"
    assert {f.language for f in manifest.files} == {"zh-Hans", "en", None}


def test_republishing_the_same_content_is_a_no_op(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    _publish(out)
    target = out.resolve()
    stamp = (target / "ep01.en.srt").stat().st_mtime_ns
    _publish(out)
    assert out.resolve() == target
    assert (target / "ep01.en.srt").stat().st_mtime_ns == stamp


def test_new_content_switches_in_one_step_and_old_version_goes(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    _publish(out)
    old = out.resolve()
    changed = CueTrack("en", (Cue(0, 1200, "Hi"), Cue(1500, 3000, "Goodbye")))
    _publish(out, changed)
    assert out.resolve() != old and not old.exists()
    assert read_subtitles(out / "ep01.en.srt").cues[0].text == "Hi"
    leftovers = [p.name for p in (tmp_path / ".versions").iterdir()]
    assert len(leftovers) == 1 and not leftovers[0].startswith(".staging")


def test_a_failure_while_writing_leaves_the_published_version_intact(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    _publish(out)
    before = (out / "ep01.en.srt").read_bytes()

    def broken_writer(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish_episode(
            out,
            series="s",
            episode="ep01",
            source=ZH,
            targets={"en": CueTrack("en", (Cue(0, 1, "x"), Cue(2, 3, "y")))},
            extra_writers=(broken_writer,),
        )
    assert (out / "ep01.en.srt").read_bytes() == before
    assert not any(p.name.startswith(".staging") for p in (tmp_path / ".versions").iterdir())


def test_a_foreign_folder_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(LocalizeError, match="not created by localize"):
        _publish(out)
    assert (out / "precious.txt").read_text() == "keep me"


ES = CueTrack("es", (Cue(0, 1200, "Hola", source="你好"), Cue(1500, 3000, "Adiós")))


def _publish_language(out: Path, lang: str, track: CueTrack, drop: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    from localize.package import published_languages

    carried = published_languages(out, episode="ep01", produced=["zh-Hans", lang], drop=drop)
    return publish_episode(
        out,
        series="s",
        episode="ep01",
        source=ZH,
        targets={lang: track},
        review_json=f'{{"approved": "{lang}"}}',
        languages={lang: {"review": {"reviewer": f"{lang}-reviewer"}}},
        carried=carried,
    )


def test_adding_a_language_keeps_the_published_ones_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    _publish_language(out, "en", EN)
    english = {p: (out / p).read_bytes() for p in ("ep01.en.srt", "ep01.en.vtt")}
    review = (out / "review.json").read_text()

    manifest = _publish_language(out, "es", ES)

    assert {p: (out / p).read_bytes() for p in english} == english
    assert (out / "ep01.es.srt").is_file()
    # the English review record survives: in the manifest and as the file that approved it
    data = json.loads((out / "manifest.json").read_text())
    assert data["languages"]["en"]["review"] == {"reviewer": "en-reviewer"}
    assert data["languages"]["es"]["review"] == {"reviewer": "es-reviewer"}
    assert (out / "review.en.json").read_text() == review
    assert {f.language for f in manifest.files} >= {"zh-Hans", "en", "es"}
    for entry in data["files"]:  # the manifest stays true for carried files too
        assert entry["sha256"] == hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest()


def test_a_language_is_removed_only_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    _publish_language(out, "en", EN)
    _publish_language(out, "es", ES)
    _publish_language(out, "es", ES, drop=("en",))
    assert not (out / "ep01.en.srt").exists()
    assert "en" not in json.loads((out / "manifest.json").read_text())["languages"]
    assert (out / "ep01.es.srt").is_file()
