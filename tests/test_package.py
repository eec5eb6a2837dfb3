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
