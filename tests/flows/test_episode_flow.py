"""The episode flow on a real Prefect server: outputs, caching, and the review pause."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from localize.fsutil import sha256_file
from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles
from localize.translate.memory import TranslationMemory, series_memory_path

GLOSSARY = Path(__file__).resolve().parents[2] / "glossaries" / "ceo-contract-bride.toml"

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]


def _params(episode: SampleEpisode, out: Path, **kw: Any):  # type: ignore[no-untyped-def]
    from flows.params import EpisodeParams

    base: dict[str, Any] = dict(
        video=str(episode.video),
        series="ceo-contract-bride",
        targets=["en"],
        review=False,
        out_dir=str(out),
        mt_backend="fake",
        on_qc_errors="publish",  # the fake translator's Chinese is a QC error
    )
    base.update(kw)
    return EpisodeParams(**base)


def _task_states(flow_run_id: Any) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    return {run.name: run.state.name for run in runs if run.state}


def test_unattended_run_publishes_subtitles_and_a_report(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from flows.episode import localize_episode

    out = tmp_path / "out" / "ep01"
    state = localize_episode(_params(episode, out), return_state=True)
    result = state.result()
    assert result.review == "skipped"
    zh = read_subtitles(out / "episode.zh-Hans.srt")
    en = read_subtitles(out / "episode.en.vtt")
    assert len(zh.cues) >= 8, "the sample's speech was not transcribed"
    assert [(c.start_ms, c.end_ms) for c in en.cues] == [(c.start_ms, c.end_ms) for c in zh.cues]
    manifest = json.loads((out / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} >= {"episode.en.srt", "qc.json"}
    qc = json.loads((out / "qc.json").read_text())
    assert "en" in json.dumps(qc)
    # one MP4 with every track, and an HLS package, published with the subtitles
    assert {"episode.mp4", "hls/master.m3u8"} <= {f["path"] for f in manifest["files"]}
    master = (out / "hls" / "master.m3u8").read_text()
    assert "TYPE=SUBTITLES" in master and 'LANGUAGE="en"' in master

    # the same run again: recognition and translation come from the cache
    again = localize_episode(_params(episode, out), return_state=True)
    states = _task_states(again.state_details.flow_run_id)
    assert states["transcribe episode"] == "Cached"
    assert states["translate episode to en"] == "Cached"
    assert again.result().files == result.files
    # the numerics the text was computed with, recorded the same when it came from the cache
    numerics = manifest["numerics"]
    assert numerics["compute_threads"] == numerics["asr"]["threads"] == 2
    assert numerics["mt"] is None  # the fake translator computes nothing
    assert json.loads((out / "manifest.json").read_text())["numerics"] == numerics


def test_dubbed_run_publishes_a_mastered_track_and_reports_overruns(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from flows.episode import localize_episode
    from localize.dub import measure_loudness

    out = tmp_path / "dubbed"
    params = _params(episode, out, dub=["en"], tts="fake", music_stem=str(episode.music))
    result = localize_episode(params)
    assert "episode.en.dub.m4a" in result.files
    manifest = json.loads((out / "manifest.json").read_text())
    [audio] = [f for f in manifest["files"] if f["kind"] == "audio"]
    assert audio["language"] == "en" and audio["duration_ms"] > 60_000
    lufs, peak = measure_loudness(out / "episode.en.dub.m4a")
    assert abs(lufs - -16.0) <= 1.0 and peak <= -1.0 + 0.3
    assert manifest["dubs"][0]["bed"] == "stem"
    lines = manifest["dubs"][0]["lines"]
    assert len(lines) > 10 and all(line["voice"] for line in lines)  # speaker and voice per cue
    # no bank yet: the five voices heard are told apart as ?1..?5 (cast names once known)
    speakers = {line["speaker"] for line in lines}
    cast = {"Lin Wan", "Gu Yanshen", "Su Man", "Secretary Chen", "Madam Gu"}
    assert len(speakers) >= 4 and all(s in cast or s.startswith("?") for s in speakers)
    master = (out / "hls" / "master.m3u8").read_text()
    assert master.count("TYPE=AUDIO") == 2  # the original and the English dub
    report = (out / "report.html").read_text()
    assert "dub: how each line was fitted" in report and report.count("<svg") == 2

    # another run rewrites the dub's scratch file (here: by hand) after this one cached
    # its result: the same run again must not publish that audio
    [scratch] = (localize_home / "work").rglob("dub.m4a")
    scratch.write_bytes(episode.music.read_bytes())
    localize_episode(params)
    manifest = json.loads((out / "manifest.json").read_text())
    [again] = [f for f in manifest["files"] if f["kind"] == "audio"]
    assert again["sha256"] != sha256_file(episode.music)
    assert again["sha256"] == audio["sha256"]  # dubbed again (the fake voice is exact)


def _wait_for_paused(timeout: float = 300) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=10,
            )
            if runs:
                return runs[0].id
            time.sleep(0.5)
    raise AssertionError("the flow never paused for review")


def test_review_pause_resume_with_edits(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from prefect.flow_runs import resume_flow_run

    from flows.episode import localize_episode

    out = tmp_path / "reviewed"
    box: dict[str, Any] = {}

    def run() -> None:
        box["state"] = localize_episode(_params(episode, out, review=True), return_state=True)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        # 1) an invalid correction changes nothing and the form comes back
        run_id = _wait_for_paused()
        resume_flow_run(
            run_id,
            run_input={"decision": "approve", "reviewer": "ana", "edits": "999 | no such cue"},
        )
        time.sleep(1)
        run_id = _wait_for_paused()
        # 2) a valid correction with approval
        resume_flow_run(
            run_id,
            run_input={
                "decision": "approve",
                "reviewer": "ana",
                "notes": "fixed line 1",
                "edits": "1 | Mr. Gu, Miss Lin is here.",
            },
        )
    finally:
        worker.join(timeout=600)
    result = box["state"].result()
    assert result.review == "approved"
    en = read_subtitles(out / "episode.en.srt")
    assert en.cues[0].text.replace("\n", " ") == "Mr. Gu, Miss Lin is here."
    review = json.loads((out / "review.json").read_text())
    assert review[-1]["reviewer"] == "ana" and review[-1]["decision"] == "approve"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["review"]["reviewer"] == "ana" and manifest["review"]["edits"] == 1
    assert set(manifest["qc"]) == {"ok", "errors", "warnings", "cues", "timing_repairs"}
    assert review[-1]["edits"][0]["after"] == "Mr. Gu, Miss Lin is here."
    memory = TranslationMemory(series_memory_path("ceo-contract-bride"))
    zh = read_subtitles(out / "episode.zh-Hans.srt")
    hit = memory.lookup(zh.cues[0].text, "en")
    assert hit is not None and hit.origin == "approved"
    assert hit.translation == "Mr. Gu, Miss Lin is here." and hit.who == "ana"


def test_a_draft_edited_offline_comes_back_into_the_paused_run(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The translator takes the draft's XLIFF, edits it in their own tool and sends it
    back with `localize review submit`; a file of the wrong shape changes nothing."""
    from prefect.settings import PREFECT_API_URL

    from flows.episode import localize_episode
    from localize.cli import main
    from tests.test_review_files import _edit_unit

    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    out = tmp_path / "series" / "ep01"
    box: dict[str, Any] = {}

    def run() -> None:
        box["state"] = localize_episode(_params(episode, out, review=True), return_state=True)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        run_id = _wait_for_paused()
        drafts = tmp_path / "series" / ".review" / "ep01"
        xliff = (drafts / "episode.en.xlf").read_text(encoding="utf-8")
        srt = drafts / "episode.en.srt"
        # an SRT missing its last cue is refused by the flow, which asks again
        srt.write_text(srt.read_text(encoding="utf-8").rsplit("\n\n", 2)[0] + "\n")
        code = main(["review", "submit", str(run_id), "--file", str(srt),
                     "--decision", "approve", "--reviewer", "ana"])  # fmt: skip
        assert code == 1
        run_id = _wait_for_paused()
        edited = tmp_path / "episode.en.xlf"
        edited.write_text(_edit_unit(xliff, "1", "Mr. Gu, Miss Lin has arrived."))
        code = main(["review", "submit", str(run_id), "--file", str(edited),
                     "--decision", "approve", "--reviewer", "ana"])  # fmt: skip
        assert code == 0
    finally:
        worker.join(timeout=600)
    assert box["state"].result().review == "approved"
    en = read_subtitles(out / "episode.en.srt")
    assert en.cues[0].text.replace("\n", " ") == "Mr. Gu, Miss Lin has arrived."
    review = json.loads((out / "review.json").read_text())
    assert [(e["index"], e["after"]) for e in review[-1]["edits"]] == [
        (1, "Mr. Gu, Miss Lin has arrived.")
    ]
    assert not (tmp_path / "series" / ".review").exists()


def test_captions_carry_an_episode_whose_speech_is_refused(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whisper's detector takes some synthetic Mandarin for Thai (one sample seed in ten):
    with captions on screen (fused source) the episode still comes out, from the
    captions; from speech alone the refusal is the run's error and nothing is published."""
    import flows.episode as episode_flow
    from localize.errors import TranscriptionError
    from tests.media_helpers import cut_clip

    clip = cut_clip(episode.video, tmp_path / "ep08.mp4", 20)  # its own content hash
    asked: list[bool] = []

    def refuse(*args: Any, check_language: bool = True, **kwargs: Any) -> Any:
        asked.append(check_language)
        raise TranscriptionError(
            "the speech in ep08.mp4 sounds like 'th' (92%), not 'zh' (4%)", "check the file"
        )

    monkeypatch.setattr(episode_flow, "transcribe_to_cues", refuse)
    fused = tmp_path / "fused"
    state = episode_flow.localize_episode(
        _params(episode, fused, video=str(clip)), return_state=True
    )
    assert state.is_completed(), state.message
    zh = read_subtitles(fused / "ep08.zh-Hans.srt")
    on_screen = [c for c in episode.lines if c.end_ms <= 20_000]
    assert len(on_screen) >= 3 and len(zh.cues) >= len(on_screen)
    assert asked == [True]
    qc = json.loads((fused / "qc.json").read_text())
    codes = {f["code"] for lang in qc["languages"] for f in lang["flags"]}
    assert "source-conflict" not in codes  # no speech: nothing for captions to disagree with

    alone = tmp_path / "asr"
    state = episode_flow.localize_episode(
        _params(episode, alone, video=str(clip), source="asr", language_check=False),
        return_state=True,
    )
    assert state.is_failed()
    assert asked == [True, False]  # the series' choice reaches the recogniser
    assert not alone.exists()


def test_a_line_approved_after_a_cached_run_wins_on_the_next_run(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    """Translation results are cached; a reviewer's line approved later must still win."""
    from flows.episode import localize_episode

    out = tmp_path / "out" / "ep01"
    localize_episode(_params(episode, out, source="ocr"))
    zh = read_subtitles(out / "episode.zh-Hans.srt")
    first = read_subtitles(out / "episode.en.srt")
    approved = "Mr. Gu, the contract is signed."
    assert first.cues[2].text != approved
    memory = TranslationMemory(series_memory_path("ceo-contract-bride"))
    memory.approve([(zh.cues[2].text, approved)], "en", who="Lin", episode="episode")

    again = localize_episode(_params(episode, out, source="ocr"), return_state=True)
    states = _task_states(again.state_details.flow_run_id)
    assert states["translate episode to en"] == "Completed"  # not served from the cache
    en = read_subtitles(out / "episode.en.srt")
    assert en.cues[2].text.replace("\n", " ") == approved
    assert [c.text for i, c in enumerate(en.cues) if i != 2] == [
        c.text for i, c in enumerate(first.cues) if i != 2
    ]


def test_adding_a_language_keeps_the_reviewed_one_and_rebuilds_the_mp4(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    import subprocess

    from flows.episode import localize_episode

    out = tmp_path / "out" / "ep01"
    localize_episode(_params(episode, out, source="ocr", targets=["en"]))
    english = (out / "episode.en.srt").read_bytes()

    localize_episode(_params(episode, out, source="ocr", targets=["es"]))
    assert (out / "episode.en.srt").read_bytes() == english
    assert (out / "episode.es.srt").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["languages"]) == {"en", "es"}
    streams = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream_tags=language",
            "-of",
            "json",
            str(out / "episode.mp4"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    languages = {s.get("tags", {}).get("language") for s in json.loads(streams)["streams"]}
    assert {"eng", "spa"} <= languages
    master = (out / "hls" / "master.m3u8").read_text()
    assert 'LANGUAGE="en"' in master and 'LANGUAGE="es"' in master

    localize_episode(_params(episode, out, source="ocr", targets=["es"], drop_languages=["en"]))
    assert not (out / "episode.en.srt").exists()


def test_timing_slips_are_repaired_before_qc_and_recorded_unless_turned_off(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline's own 40 ms gaps and 600 ms cues are fixed and counted in the report
    and manifest; with the setting off they reach QC as flags for a person."""
    import flows.episode as episode_flow
    from localize.domain import Cue, CueTrack, Transcript
    from tests.media_helpers import cut_clip

    clip = cut_clip(episode.video, tmp_path / "ep09.mp4", 12)
    slips = CueTrack(
        "zh-Hans",
        (
            Cue(1000, 3000, "顾总，您好"),
            Cue(3040, 5000, "这份合同我签了"),  # 40 ms gap
            Cue(6000, 6600, "好"),  # 600 ms, free time after it
            Cue(9000, 11000, "你刚才说什么？"),
        ),
    )

    def recognise(*args: Any, **kwargs: Any) -> Any:
        return slips, Transcript("zh-Hans", 12_000, ())

    monkeypatch.setattr(episode_flow, "transcribe_to_cues", recognise)

    def run(out: Path, **kw: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
        episode_flow.localize_episode(_params(episode, out, video=str(clip), source="asr", **kw))
        manifest = json.loads((out / "manifest.json").read_text())
        qc = json.loads((out / "qc.json").read_text())
        return manifest, qc, (out / "report.html").read_text()

    manifest, qc, page = run(tmp_path / "repaired")
    codes = {f["code"] for lang in qc["languages"] for f in lang["flags"]}
    assert not codes & {"gap", "too-short"}
    assert manifest["qc"]["timing_repairs"] == len(qc["timing_repairs"]) == 4  # zh and en
    assert "4 timing repairs" in page
    zh = read_subtitles(tmp_path / "repaired" / "ep09.zh-Hans.srt")
    assert zh.cues[1].start_ms - zh.cues[0].end_ms >= 80

    manifest, qc, page = run(tmp_path / "as-is", timing_repairs=False)
    codes = {f["code"] for lang in qc["languages"] for f in lang["flags"]}
    assert {"gap", "too-short"} <= codes
    assert manifest["qc"]["timing_repairs"] == 0 and "timing repair" not in page


def _draft_rows(episode: str) -> list[dict[str, Any]]:
    """The rows of the newest draft table artifact, as the UI's API returns them."""
    from prefect.client.orchestration import get_client

    body = {"artifacts": {"key": {"any_": [f"draft-{episode}"]}}, "sort": "CREATED_DESC"}
    with get_client(sync_client=True) as client:
        found = client.request("POST", "/artifacts/filter", json=body).json()
    data = found[0]["data"]
    rows: list[dict[str, Any]] = json.loads(data) if isinstance(data, str) else data
    return rows


def test_the_paused_draft_shows_speakers_and_a_correction_moves_the_dub_and_the_bank(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from prefect.flow_runs import resume_flow_run

    from flows.episode import localize_episode
    from localize.dub import FakeSynthesizer
    from localize.dub.cast import series_cast
    from localize.glossary import load_glossary
    from localize.speakers import VoiceBank

    out = tmp_path / "reviewed-dub"
    params = _params(episode, out, review=True, dub=["en"], tts="fake",
                     music_stem=str(episode.music))  # fmt: skip
    box: dict[str, Any] = {}

    def run() -> None:
        box["state"] = localize_episode(params, return_state=True)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        run_id = _wait_for_paused()
        rows = _draft_rows("episode")
        heard = [row.get("speaker", "") for row in rows]
        assert sum(1 for s in heard if s.startswith("?")) > 10  # no bank yet: ?1, ?2...
        assert heard[2].startswith("?")
        resume_flow_run(  # cue 3 is a woman's line: a man's name moves it to his voice
            run_id,
            run_input={"decision": "approve", "reviewer": "ana", "edits": "3 | @Gu Yanshen"},
        )
    finally:
        worker.join(timeout=600)
    assert box["state"].result().review == "approved"
    lines = json.loads((out / "manifest.json").read_text())["dubs"][0]["lines"]
    glossary = load_glossary(GLOSSARY)
    member = series_cast(glossary, "en", FakeSynthesizer()).member("Gu Yanshen")
    assert member is not None
    assert lines[2]["speaker"] == "Gu Yanshen" and lines[2]["voice"] == member.voice
    same_voice_before = [
        line["voice"] for i, line in enumerate(lines) if heard[i] == heard[2] and i != 2
    ]
    assert same_voice_before and member.voice not in same_voice_before
    assert "顾言深" in VoiceBank.load("ceo-contract-bride").centroids  # the correction taught it


def test_a_dub_without_speaker_attribution_speaks_every_line_in_the_narrators_voice(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from flows.episode import localize_episode
    from localize.dub import FakeSynthesizer
    from localize.dub.cast import series_cast
    from localize.glossary import load_glossary

    out = tmp_path / "one-voice"
    localize_episode(_params(episode, out, dub=["en"], tts="fake", speakers=False,
                             music_stem=str(episode.music)))  # fmt: skip
    lines = json.loads((out / "manifest.json").read_text())["dubs"][0]["lines"]
    narrator = series_cast(load_glossary(GLOSSARY), "en", FakeSynthesizer()).narrator
    assert len(lines) > 10 and {line["voice"] for line in lines} == {narrator}
    assert {line["speaker"] for line in lines} == {""}
