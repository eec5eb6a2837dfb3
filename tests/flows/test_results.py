"""Stored task results are typed JSON, and a stored result that could run code when read
(a pickle, or Prefect's JSON with an arbitrary decoder) is refused and recomputed."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from flows.episode import DubSummary, EpisodeResult
from flows.results import RESULTS, UntrustedResultError, trusted_record
from localize.domain import Cue, CueTrack, DroppedSegment, Segment, Transcript, Word
from localize.media import AudioStream, MediaInfo, VideoStream
from localize.ocr import CaptionBand
from localize.ocr.scan import OcrEvent, OcrResult
from localize.package import Manifest, ManifestEntry
from localize.qc import Flag, build_report
from localize.report import DubLine
from localize.sample import SampleEpisode
from localize.translate.enforce import LineOutcome
from tests.flows.test_episode_flow import _task_states

TRACK = CueTrack("zh-Hans", (Cue(0, 1200, "你好\n世界", source="x"), Cue(1500, 2000, "好")))


def _ocr_result() -> OcrResult:
    event = OcrEvent(0, 1200, "你好", 0.93, 0, 30)
    return OcrResult(
        track=TRACK,
        events=(event,),
        band=CaptionBand.parse("0.7,0.9"),
        band_source="detected",
        fps=25.0,
        duration_ms=2000,
        no_captions=False,
        warnings=("a warning",),
    )


RETURNED = {
    "transcribe": (
        TRACK,
        Transcript(
            "zh",
            2000,
            (Segment(0, 900, "你好", (Word(0, 400, "你", 0.9),), -0.2, 0.01),),
            "whisper-base",
            (DroppedSegment(Segment(900, 1000, "谢谢观看"), "outro"),),
        ),
    ),
    "ocr": _ocr_result(),
    "translate": (TRACK, [LineOutcome(1, "你好", "Hello", "model", 1, ("glossary",))]),
    "dub": DubSummary(
        "en",
        "/w/dub.m4a",
        2000,
        -16.0,
        -1.5,
        "ducked",
        (Flag("dub-overrun", "warning", "en", 2, "too long", 1.2, 1.0),),
        (DubLine(1, "Hello", 1.1, 40, 0),),
    ),
    "episode": EpisodeResult("/out", ["a.srt"], True, "skipped", 0),
    "probe": (
        MediaInfo(
            Path("/in/ep1.mp4"),
            2000,
            "mov,mp4",
            (VideoStream(0, "h264", 720, 1280, 25.0),),
            (AudioStream(1, "aac", 44100, 2, "chi"),),
        ),
        "sha256",
    ),
    "qc": build_report(
        {"zh-Hans": TRACK, "en": CueTrack("en", (Cue(0, 1200, "你好"), Cue(1500, 2000, "Hi")))},
        source=TRACK,
        episode="ep1",
        outcomes={"en": [LineOutcome(1, "你好", "你好", "model", 2, ("still Chinese",))]},
    ),
    "package": Manifest(
        "ceo",
        "ep1",
        (ManifestEntry("ep1.en.srt", "subtitles", "en", 10, "ab", None),),
        {"qc": {"ok": True, "errors": 0}, "dubs": [{"language": "en", "lufs": -16.0}]},
    ),
}


@pytest.mark.parametrize("what", list(RETURNED))
def test_what_each_task_returns_comes_back_with_its_types(what: str) -> None:
    value = RETURNED[what]
    blob = RESULTS.dumps(value)
    json.loads(blob)  # plain JSON, no pickle inside
    back = RESULTS.loads(blob)
    assert back == value and repr(back) == repr(value)  # same types all the way down


@pytest.mark.parametrize(
    "payload",
    [
        {"dataclass": "os:system", "fields": {"command": "true"}},
        {"dataclass": "subprocess:Popen", "fields": {"args": ["true"]}},
        {"dataclass": "localize.markdown:escape_markdown", "fields": {"text": "x"}},
        {"set": [1]},
    ],
)
def test_only_localize_dataclasses_are_built(payload: dict[str, Any]) -> None:
    with pytest.raises(UntrustedResultError):
        RESULTS.loads(json.dumps(payload).encode())


class Marker:
    """Unpickling this creates a file: the proof that a payload ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def _pickle_record(marker: Path, serializer: dict[str, Any]) -> bytes:
    blob = base64.encodebytes(pickle.dumps(Marker(marker))).decode()
    return json.dumps(
        {"metadata": {"serializer": serializer, "storage_key": "k"}, "result": blob}
    ).encode()


def test_a_record_naming_another_serializer_is_refused_unread(tmp_path: Path) -> None:
    for serializer in (
        {"type": "pickle", "picklelib": "cloudpickle"},
        {"type": "json", "object_decoder": "builtins.exec"},
    ):
        with pytest.raises(UntrustedResultError, match="not written by localize"):
            trusted_record("k", _pickle_record(tmp_path / "ran", serializer))
    with pytest.raises(UntrustedResultError):
        trusted_record("k", pickle.dumps(Marker(tmp_path / "ran")))
    assert not (tmp_path / "ran").exists()


@pytest.mark.integration
@pytest.mark.usefixtures("prefect_server")
def test_a_poisoned_cache_is_refused_and_recomputed(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from flows.episode import localize_episode
    from flows.params import EpisodeParams
    from flows.results import save_result_storage

    results = tmp_path / "results"
    flow = localize_episode.with_options(result_storage=save_result_storage(str(results)))
    params = EpisodeParams(
        video=str(episode.video),
        series="ceo-contract-bride",
        targets=["en"],
        review=False,
        out_dir=str(tmp_path / "out"),
        mt_backend="fake",
        source="ocr",
    )
    first = flow(params)
    stored = [p for p in results.rglob("*") if p.is_file()]
    records = [json.loads(p.read_bytes()) for p in stored]
    cached = [r for r in records if "metadata" in r]  # task caches; the flow's result is bare
    assert cached and all(r["metadata"]["serializer"]["type"] == "localize-json" for r in cached)
    # someone with write access to the storage swaps every cached result for a pickle
    marker = tmp_path / "payload-ran"
    for path in stored:
        path.write_bytes(_pickle_record(marker, {"type": "pickle", "picklelib": "pickle"}))

    again = flow(params, return_state=True)
    assert not marker.exists(), "a stored pickle was unpickled"
    assert again.result() == first  # the run finished with the same outputs...
    states = _task_states(again.state_details.flow_run_id)
    # ...because the cached stages ran again instead of reading the poisoned cache
    assert states["ocr episode"] == states["translate episode to en"] == "Completed"


@pytest.mark.integration
@pytest.mark.usefixtures("prefect_server")
def test_localize_episode_caches_through_the_guarded_storage(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from localize.cli import main

    argv = [
        "episode", str(episode.video), "--series", "ceo-contract-bride", "--to", "en",
        "--mt-backend", "fake", "--no-review", "--on-qc-errors", "publish", "--source", "ocr",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    assert main(argv) == 0
    # the stage caches went through the guarded storage (not Prefect's default folder)
    records = [json.loads(p.read_bytes()) for p in (localize_home / "results").rglob("*")
               if p.is_file()]  # fmt: skip
    cached = [r for r in records if "metadata" in r]
    assert cached and all(r["metadata"]["serializer"]["type"] == "localize-json" for r in cached)
