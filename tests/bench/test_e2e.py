"""The end-to-end benchmark, run for real in its smallest configuration (fake MT).

It starts a real local Prefect server, runs the episode and catalog flows and the
peer-style baseline in their own processes, and must print its tables and write a JSON
report whose numbers hang together.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localize.sample import SampleEpisode

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(
    episode: SampleEpisode, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], str, str]:
    work = tmp_path_factory.mktemp("e2e-work")
    # the session's sample episode is seed 0: the benchmark reuses it instead of building it
    seed0 = work / "samples" / "seed-0"
    seed0.mkdir(parents=True)
    shutil.copyfile(episode.video, seed0 / "episode.mp4")
    shutil.copyfile(episode.ground_truth, seed0 / "ground_truth.json")
    out = work / "e2e.json"
    env = dict(os.environ, DO_NOT_TRACK="1")
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.e2e", "--quick", "--mt-backend", "fake",
         "--episodes", "1", "--input-seconds", "20", "--lengths", "0.34",
         "--single-sources", "asr", "--work", str(work), "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout, proc.stderr


def test_every_step_ran_and_the_tables_are_printed(
    report: tuple[dict[str, Any], str, str],
) -> None:
    data, stdout, stderr = report
    assert set(data["steps"]) == {"single-asr", "catalog", "baseline", "scaling-0.34min"}
    assert "| single-asr |" in stdout and "| scaling-0.34min |" in stdout
    assert "episodes/hour" in stdout and "Throughput vs baseline" in stdout
    assert "| peak memory < 4 GB |" in stdout
    # progress lines name the step and give elapsed time and what is left
    assert "single-asr:" in stderr and "catalog: 1/1" in stderr and " left]" in stderr
    assert data["machine"]["cpus"] >= 1
    assert data["loadavg_1min"]["start"] >= 0 and data["loadavg_1min"]["end"] >= 0


def test_single_episode_numbers_are_sane(report: tuple[dict[str, Any], str, str]) -> None:
    data, _, _ = report
    step = data["steps"]["single-asr"]
    assert 19 <= step["audio_s"] <= 22
    stages = step["stages"]
    assert {"probe", "transcribe", "translate", "qc", "package"} <= set(stages)
    assert "ocr" not in stages  # source=asr: no OCR
    assert 0 < sum(stages.values()) <= step["wall_s"] + 1
    assert step["wall_s"] <= step["process_wall_s"]
    assert step["cues_zh"] >= 2 and step["cues_en"] >= 2
    # Whisper and the process itself: hundreds of MB, far from gigabytes with fake MT
    assert 150 < step["peak_rss_mb"] < 2500
    assert step["peak_with_server_mb"] > step["peak_rss_mb"]
    assert step["cpu_s"] > 1


def test_catalog_baseline_and_ratio(report: tuple[dict[str, Any], str, str]) -> None:
    data, _, _ = report
    summary = data["summary"]
    catalog = summary["catalog"]
    assert catalog["episodes"] == 1 and not catalog["failed"]
    assert catalog["episodes_per_hour"] == pytest.approx(3600 / catalog["wall_s"], rel=0.01)
    assert abs(sum(catalog["stage_share"].values()) - 1) < 0.02
    assert catalog["by_count"][0]["episodes"] == 1
    assert 0 < catalog["by_count"][0]["time_s"] <= catalog["wall_s"] + 1

    baseline = data["steps"]["baseline"]["episodes"]
    assert len(baseline) == 1 and baseline[0]["lines"] >= 1
    srt = Path(baseline[0]["srt"]).read_text(encoding="utf-8")
    assert srt.count("-->") == baseline[0]["lines"]
    assert baseline[0]["asr_s"] > 0 and baseline[0]["total_s"] >= baseline[0]["asr_s"]
    ratio = summary["throughput_ratio"]
    expected = catalog["episodes_per_hour"] / summary["baseline"]["episodes_per_hour"]
    assert ratio == pytest.approx(expected, rel=0.02)


def test_scaling_run_and_targets(report: tuple[dict[str, Any], str, str]) -> None:
    data, _, _ = report
    [row] = data["summary"]["scaling_length"]
    assert 19 <= row["audio_s"] <= 22
    assert {"transcribe", "ocr"} <= set(row["stages"])  # the default fused source
    assert row["mt"] == "fake" and row["mt_llm_extrapolated_s"] is None
    targets = data["targets"]
    assert targets["subtitle_path_under_40s"]["value_s"] == data["steps"]["single-asr"]["wall_s"]
    assert targets["peak_memory_under_4gb"]["met"] is True
    assert "fake MT" in targets["note"]
