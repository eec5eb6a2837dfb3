"""Publishing: atomic switch, checksummed manifest, idempotent re-publish."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError
from localize.package import check_output_location, publish_episode
from localize.subtitles import read_subtitles

ZH = CueTrack("zh-Hans", (Cue(0, 1200, "你好"), Cue(1500, 3000, "再见")))
EN = CueTrack("en", (Cue(0, 1200, "Hello", source="你好"), Cue(1500, 3000, "Goodbye")))
EN_NEW = CueTrack("en", (Cue(0, 1200, "Hi there", source="你好"), Cue(1500, 3000, "Bye")))


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
    leftovers = [p.name for p in (tmp_path / ".versions").iterdir() if p.is_dir()]
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


def test_every_file_and_folder_is_fsynced_before_the_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut after the switch must find the new version on disk: the kernel is
    told to write every file and folder (and the rename into .versions) before the
    link is replaced. (That the disk honours fsync cannot be tested here.)"""
    import os

    import localize.package as package

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(package.os, "fsync", fsync)
    monkeypatch.setattr(package.os, "replace", replace)
    out = tmp_path / "ep01"
    _publish(out)
    switch = events.index(("replace", str(out)))
    version = out.resolve()
    staged = [path for kind, path in events[:switch] if kind == "fsync"]
    names = {Path(p).name for p in staged}
    assert {p.name for p in version.iterdir()} <= names  # every file of the version
    assert any(Path(p).name.startswith(".staging-ep01") for p in staged)  # its folder
    rename = events.index(("replace", str(version)))
    assert ("fsync", str(version.parent)) in events[rename:switch]  # the rename itself
    assert ("fsync", str(tmp_path)) in events[switch:]  # and the new link


def test_a_sweep_waits_for_a_publish_into_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog's sweep of an idle tree and a manual publish into it: the sweep must
    not take the version being switched in for litter."""
    import threading

    from localize.catalog import check_published
    from localize.package import sweep_unpublished

    out = tmp_path / "ep01"
    _publish(out)
    at_switch, go_on = threading.Event(), threading.Event()
    real_symlink_to = Path.symlink_to

    def symlink_to(self: Path, target: str | Path, target_is_directory: bool = False) -> None:
        if self.name.startswith(".ep01.link-"):  # renamed into .versions, not yet linked
            at_switch.set()
            go_on.wait(30)
        real_symlink_to(self, target, target_is_directory)

    monkeypatch.setattr(Path, "symlink_to", symlink_to)
    publisher = threading.Thread(target=_publish, args=(out, EN_NEW))
    publisher.start()
    assert at_switch.wait(30)
    sweeper = threading.Thread(target=sweep_unpublished, args=(tmp_path,), kwargs={"idle": True})
    sweeper.start()
    sweeper.join(1.0)  # let it run (it should be waiting for the publish)
    go_on.set()
    publisher.join(30)
    sweeper.join(30)
    assert check_published(out) == []
    assert read_subtitles(out / "ep01.en.srt").cues[0].text == "Hi there"


def test_old_versions_are_removed_through_a_symlinked_output_path(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    out = tmp_path / "link" / "ep01"
    _publish(out)
    _publish(out, EN_NEW)
    versions = [p.name for p in (real / ".versions").iterdir() if p.is_dir()]
    assert versions == [out.resolve().name]
    assert read_subtitles(out / "ep01.en.srt").cues[0].text == "Hi there"


def test_an_empty_folder_made_for_the_output_is_accepted(tmp_path: Path) -> None:
    out = tmp_path / "ep01"
    out.mkdir()  # made by the user (or a script) before the run
    check_output_location(out)
    _publish(out)
    assert out.is_symlink()
    assert read_subtitles(out / "ep01.en.srt").cues[0].text == "Hello"


@pytest.mark.parametrize("kind", ["non-empty folder", "file"])
def test_the_output_location_check_refuses_what_localize_did_not_make(
    tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "ep01"
    if kind == "file":
        out.write_text("keep me")
    else:
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
    with pytest.raises(LocalizeError, match="exists and was not created by localize"):
        check_output_location(out)
    check_output_location(tmp_path / "absent")  # absent: fine
    _publish(tmp_path / "done")
    check_output_location(tmp_path / "done")  # published before: fine


def test_a_held_draft_survives_the_sweep_and_is_removed_by_unpublish(tmp_path: Path) -> None:
    from localize.gate import discard_held, held_dir
    from localize.package import sweep_unpublished

    out = tmp_path / "ep01"
    _publish(out)
    draft = held_dir(out)
    assert draft == tmp_path / "ep01.held"
    _publish(draft)
    version = draft.resolve()
    # the catalog's post-kill sweep (idle: no publish running) keeps drafts and outputs
    sweep_unpublished(tmp_path, idle=True)
    assert (draft / "ep01.en.srt").is_file() and (out / "ep01.en.srt").is_file()
    assert discard_held(out)
    assert not draft.exists() and not draft.is_symlink() and not version.exists()
    assert (out / "ep01.en.srt").is_file()
    assert not discard_held(out)  # nothing left to remove


def test_manifest_extra_records_qc_review_and_dubs() -> None:
    from dataclasses import dataclass

    from localize import __version__
    from localize.package import manifest_extra
    from localize.qc import build_report
    from localize.review import Edit, ReviewHistory, make_record
    from localize.segment import load_style_profile

    @dataclass(frozen=True)
    class Dub:
        language: str = "en"
        integrated_lufs: float = -16.0
        true_peak_dbtp: float = -2.0
        bed: str = "stem"
        lines: tuple[Line, ...] = ()

    @dataclass(frozen=True)
    class Line:
        index: int
        speaker: str | None
        voice: str

    en = CueTrack("en", (Cue(0, 2000, "Hello."),))
    report = build_report({"en": en}, {"en": load_style_profile("en")})
    edit = Edit("en", 1, "Hi.", "Hello.")
    history = ReviewHistory(
        (
            make_record("request changes", "Ana", "", 1, (edit,)),
            make_record("approve", "Bo", "", 2, ()),
        )
    )
    dub = Dub(lines=(Line(1, "Lin Wan", "af_heart"),))
    extra = manifest_extra(report, history, numerics={"threads": 2}, dubs=[dub])
    assert extra["qc"]["ok"] is report.ok and extra["qc_ok"] is report.ok
    assert extra["review"]["decision"] == "approve" and extra["review"]["reviewer"] == "Bo"
    assert (extra["review"]["rounds"], extra["review"]["edits"]) == (2, 1)
    assert extra["dubs"] == [
        {"language": "en", "integrated_lufs": -16.0, "true_peak_dbtp": -2.0, "bed": "stem",
         "lines": [{"cue": 1, "speaker": "Lin Wan", "voice": "af_heart"}]}
    ]  # fmt: skip
    assert extra["localize_version"] == __version__ and extra["numerics"] == {"threads": 2}
    assert manifest_extra(report, None)["review"] is None
