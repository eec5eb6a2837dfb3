"""Clean masters: captions painted out, checked by reading the pictures back with OCR."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from localize.cli import main
from localize.domain import Cue, CueTrack
from localize.errors import ModelError
from localize.media import probe
from localize.picture.check import band_psnr, check_clean
from localize.picture.clean import CaptionSpans, clean_video
from localize.picture.errors import DiskFullError
from localize.picture.fill import FILLERS, build_filler
from localize.picture.frames import geometry
from localize.subtitles import write_subtitles
from tests.picture.scenes import Scene


def _frame_times(video: Path) -> list[str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "frame=pts_time", "-of", "csv=p=0", str(video)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.split()


def test_inpaint_removes_the_captions_and_leaves_the_rest(
    still: Scene, reader: object, tmp_path: Path
) -> None:
    out = tmp_path / "clean.mp4"
    report = clean_video(still.captioned, out, method="inpaint", spans=still.spans)
    check = check_clean(str(still.captioned), str(out), still.spans, reader=reader)  # type: ignore[arg-type]
    assert check.chars_there >= 10  # OCR did read the captions in the source
    assert check.residual <= 0.02, check.chars_left
    assert check.min_psnr_db >= 45.0
    assert check.flags() == []
    # same frames at the same times, audio kept, H.264 High yuv420p
    assert report.frames == len(_frame_times(still.captioned))
    assert _frame_times(out) == _frame_times(still.captioned)
    info = probe(out)
    assert info.has_audio and info.video[0].codec == "h264"
    stream = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=profile,pix_fmt", "-of", "csv=p=0", str(out)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert stream == "High,yuv420p"
    assert not list(tmp_path.glob(".*")), "no partial or plate files left behind"


@pytest.mark.parametrize("scene", ["still", "pan"])
def test_inpaint_beats_blur_against_the_true_background(
    scene: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    s: Scene = request.getfixturevalue(scene)
    psnr = {}
    for method in ("inpaint", "blur", "box"):
        out = tmp_path / f"{method}.mp4"
        clean_video(s.captioned, out, method=method, spans=s.spans)
        psnr[method] = band_psnr(str(s.background), str(out), s.spans)
    before = band_psnr(str(s.background), str(s.captioned), s.spans)
    assert psnr["inpaint"] > psnr["blur"] + 3, psnr
    assert min(psnr.values()) > before + 10, (psnr, before)


def test_blur_and_box_also_remove_the_text(still: Scene, reader: object, tmp_path: Path) -> None:
    for method in ("blur", "box"):
        out = tmp_path / f"{method}.mp4"
        clean_video(still.captioned, out, method=method, spans=still.spans)
        check = check_clean(str(still.captioned), str(out), still.spans, reader=reader)  # type: ignore[arg-type]
        assert check.residual <= 0.02 and check.min_psnr_db >= 45.0, (method, check)


def test_out_may_be_in_a_folder_not_made_yet(still: Scene, tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "clean.mp4"
    clean_video(still.captioned, out, method="inpaint", spans=still.spans)
    assert probe(out).has_video


def test_no_captions_gives_a_copy_with_a_note(still: Scene, tmp_path: Path) -> None:
    out = tmp_path / "clean.mp4"
    report = clean_video(still.background, out, spans=CaptionSpans(None, ()))
    assert "no burned-in captions" in report.note
    assert out.read_bytes() == still.background.read_bytes()


def test_a_full_disk_leaves_nothing_at_out(still: Scene, tiny_disk: Path) -> None:
    out = tiny_disk / "clean.mp4"
    with pytest.raises(DiskFullError) as caught:
        clean_video(still.captioned, out, method="box", spans=still.spans)
    assert "free some space" in caught.value.hint
    assert list(tiny_disk.iterdir()) == []


def test_unknown_method_names_the_choices_and_plugins_load_by_name() -> None:
    with pytest.raises(ModelError, match="inpaint"):
        build_filler("lama")
    FILLERS["test-plugin"] = "localize.picture.fill:BoxFiller"
    try:
        assert type(build_filler("test-plugin")).__name__ == "BoxFiller"
    finally:
        del FILLERS["test-plugin"]


def test_cli_clean_with_a_hint_and_check(still: Scene, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    hint = tmp_path / "hint.json"
    spans = still.spans
    assert spans.band is not None
    hint.write_text(
        json.dumps(
            {
                "band": spans.band.as_dict(),
                "fps": geometry(still.captioned).fps,
                "events": [{"start_frame": s, "end_frame": e} for s, e in spans.spans],
            }
        )
    )
    out = tmp_path / "clean.mp4"
    code = main(["clean", str(still.captioned), "--out", str(out), "--hint", str(hint), "--check"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "residual Chinese 0.0%" in printed


def test_cli_clean_finds_the_captions_itself(still: Scene, tmp_path: Path) -> None:
    out = tmp_path / "clean.mp4"
    assert main(["clean", str(still.captioned), "--out", str(out), "--method", "blur"]) == 0
    assert band_psnr(str(still.background), str(out), still.spans) > 30


def test_cli_clean_from_a_caption_file(still: Scene, tmp_path: Path) -> None:
    captions = tmp_path / "still.zh.srt"
    fps = 25
    cues = tuple(
        Cue(round(s * 1000 / fps), round(e * 1000 / fps), t)
        for (s, e), t in zip(still.spans.spans, still.spans.texts, strict=True)
    )
    write_subtitles(CueTrack("zh-Hans", cues), captions)
    out = tmp_path / "clean.mp4"
    code = main(["clean", str(still.captioned), "--out", str(out), "--captions", str(captions),
                 "--caption-band", "0.76,0.86"])  # fmt: skip
    assert code == 0
    assert band_psnr(str(still.background), str(out), still.spans) > 40


@pytest.mark.parametrize("rotation", [90, 270])
def test_a_rotated_source_keeps_its_rotation(still: Scene, tmp_path: Path, rotation: int) -> None:
    rotated = tmp_path / f"rot{rotation}.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(still.captioned), "-c", "copy",
         "-metadata:s:v:0", f"rotate={rotation}", str(rotated)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "clean.mp4"
    # the band of the displayed (landscape) picture: a strip across it
    spans = CaptionSpans(still.spans.band, still.spans.spans)
    clean_video(rotated, out, method="blur", spans=spans)
    assert probe(out).video[0].rotation == probe(rotated).video[0].rotation == rotation
    assert (probe(out).video[0].width, probe(out).video[0].height) == (360, 640)
    check = check_clean(str(rotated), str(out), spans)
    assert check.min_psnr_db >= 45.0  # displayed the same way as the source


def test_the_sample_aspect_ratio_is_kept(still: Scene, tmp_path: Path) -> None:
    anamorphic = tmp_path / "sar.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(still.captioned), "-c", "copy",
         "-bsf:v", "h264_metadata=sample_aspect_ratio=4/3", str(anamorphic)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "clean.mp4"
    clean_video(anamorphic, out, method="box", spans=still.spans)
    assert geometry(out).sar == geometry(anamorphic).sar == "4:3"


def test_cli_clean_of_a_video_without_captions_copies_it_and_says_so(
    still: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "clean.mp4"
    assert main(["clean", str(still.background), "--out", str(out)]) == 0
    assert "no burned-in captions found" in capsys.readouterr().err
    assert out.read_bytes() == still.background.read_bytes()


def test_captions_without_a_free_frame_are_still_removed(tmp_path: Path, reader: object) -> None:
    """Back-to-back captions leave no caption-free plate: spatial inpainting only."""
    from tests.picture.scenes import make_scene

    scene = make_scene(tmp_path / "scene", continuous=True)
    out = tmp_path / "clean.mp4"
    clean_video(scene.captioned, out, method="inpaint", spans=scene.spans)
    check = check_clean(str(scene.captioned), str(out), scene.spans, reader=reader)  # type: ignore[arg-type]
    assert check.chars_there >= 15
    assert check.residual <= 0.02 and check.min_psnr_db >= 45.0
    assert band_psnr(str(scene.background), str(out), scene.spans) > 30
