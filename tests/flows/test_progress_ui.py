"""Progress in the Prefect UI and on the command line, from a real catalog run."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from localize import progress
from localize.sample import SampleEpisode

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]

GLOSSARY = Path(__file__).resolve().parents[2] / "glossaries" / "ceo-contract-bride.toml"


def _artifacts(**where: Any) -> list[dict[str, Any]]:
    """Artifacts matching ``where`` (``flow_run_id``, ``key``), newest first, as the UI's
    API returns them (the client's read_artifacts sends nulls 3.8.8's server refuses)."""
    from prefect.client.orchestration import get_client

    body = {"artifacts": {k: {"any_": [str(v)]} for k, v in where.items()}, "sort": "CREATED_DESC"}
    with get_client(sync_client=True) as client:
        found: list[dict[str, Any]] = client.request("POST", "/artifacts/filter", json=body).json()
    return found


def test_catalog_run_reports_progress_in_the_ui_and_on_the_console(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path
) -> None:
    from flows.catalog import localize_catalog
    from flows.catalog_progress import ARTIFACT_KEY

    series = tmp_path / "catalog" / "ceo"
    (series / "episodes").mkdir(parents=True)
    shutil.copyfile(GLOSSARY, series / "glossary.toml")
    # captions only: short cuts of the sample read their burned-in captions quickly
    settings = '[run]\ntargets = ["en"]\nsource = "ocr"\non_qc_errors = "publish"\n'
    (series / "series.toml").write_text(settings)
    cut = ["ffmpeg", "-v", "error", "-y", "-i", str(episode.video), "-c", "copy", "-t", "8"]
    subprocess.run([*cut, str(series / "episodes" / "ep1.mp4")], check=True)
    (series / "episodes" / "ep2.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(512))

    log = io.StringIO()
    with progress.reporting(progress.LineReporter(log)):
        state = localize_catalog(
            str(tmp_path / "catalog"),
            out=str(tmp_path / "out"),
            mt_backend="fake",
            max_parallel=2,
            return_state=True,
        )
    result = state.result()
    assert result.processed == ["ceo/ep1"] and list(result.failed) == ["ceo/ep2"]

    # the UI: a progress artifact on the catalog run, at 100% once every episode ended
    [bar] = _artifacts(flow_run_id=state.state_details.flow_run_id, key=ARTIFACT_KEY)
    assert bar["type"] == "progress" and float(bar["data"]) == 100.0
    assert bar["description"].startswith("2 of 2 episodes finished (1 done, 1 failed); last: ")

    # ...and the episode's run points to its report, published next to its outputs
    mine = str(tmp_path.resolve())  # other tests' catalogs have an ep1 too
    [report_link] = [a for a in _artifacts(key="report-ep1") if mine in str(a["data"])]
    path = re.search(r"`([^`]+report\.html)`", report_link["data"])
    assert path, report_link["data"]
    report = Path(path.group(1))
    assert report.is_file() and report.parent.resolve() == (tmp_path / "out/ceo/ep1").resolve()

    # the console: episodes are rows of their own (series/episode), run in worker threads
    lines = log.getvalue()
    assert "catalog: episodes, 2 episodes" in lines
    assert re.search(r"ceo/ep1: probe\n(.|\n)*ceo/ep1: ocr(.|\n)*ceo/ep1: package", lines), lines
    assert re.search(r"ceo/ep2: probe failed: cannot read ep2\.mp4", lines), lines
    assert "ceo/ep1: done in" in lines and "ceo/ep2: failed after" in lines
