"""An episode translated through an OpenAI-compatible endpoint (the fake server on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localize.sample import SampleEpisode
from tests.translate.fake_openai import fake_openai_server

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_server")]

KEY = "sk-episode-test-0b1f9e77-never-written"


def test_usage_is_in_the_manifest_and_the_key_in_no_file(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.episode import localize_episode
    from flows.params import EpisodeParams

    monkeypatch.setenv("MT_KEY_FOR_TEST", KEY)
    out = tmp_path / "out" / "ep01"
    with fake_openai_server() as server:
        params = EpisodeParams(
            video=str(episode.video),
            series="ceo-contract-bride",
            targets=["en"],
            review=False,
            on_qc_errors="publish",  # the fake server's lines may fail QC: publish anyway
            out_dir=str(out),
            mt_backend="openai",
            mt_model="fake-model",
            mt_endpoint=server.url,
            mt_api_key_env="MT_KEY_FOR_TEST",
        )
        localize_episode(params)
        assert server.headers and server.headers[0]["Authorization"] == f"Bearer {KEY}"
    manifest = json.loads((out / "manifest.json").read_text())
    usage = manifest["languages"]["en"]["mt_usage"]
    assert usage["requests"] == len(server.bodies) and usage["prompt_tokens"] > 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Translation endpoint usage" in report
    assert f"<td>en</td><td>{usage['requests']}</td>" in report
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [p for p in written if KEY.encode() in p.read_bytes()]


def test_the_key_can_come_from_a_prefect_secret_block(
    episode: SampleEpisode, tmp_path: Path, localize_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    from flows.episode import localize_episode
    from flows.params import EpisodeParams

    monkeypatch.delenv("LOCALIZE_MT_API_KEY", raising=False)
    Secret(value=KEY).save("localize-mt-key-test", overwrite=True)
    out = tmp_path / "out" / "ep01"
    with fake_openai_server() as server:
        state = localize_episode(
            EpisodeParams(
                video=str(episode.video),
                series="ceo-contract-bride",
                targets=["en"],
                review=False,
                on_qc_errors="publish",
                out_dir=str(out),
                mt_backend="openai",
                mt_model="fake-model",
                mt_endpoint=server.url,
                mt_api_key_secret="localize-mt-key-test",
            ),
            return_state=True,
        )
        assert state.is_completed()
        assert server.headers[0]["Authorization"] == f"Bearer {KEY}"
    # what Prefect recorded (parameters, task runs, logs) holds the block's name, not the key
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.sorting import TaskRunSort

    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
        logs = client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200, offset=0
        )
    recorded = json.dumps(
        [run.model_dump(mode="json"), *(t.model_dump(mode="json") for t in tasks)]
    ) + " ".join(log.message for log in logs)
    assert "localize-mt-key-test" in recorded and KEY not in recorded
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in written if KEY.encode() in p.read_bytes()]
