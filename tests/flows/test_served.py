"""What a run request to a served deployment may choose (fast checks; the real server
is exercised in test_deployment.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.params import EpisodeParams
from flows.served import RequestRefused, check_episode_request, serve_roots
from tests.flows.catalog_helpers import catalog_clips, make_catalog, published

__all__ = ["catalog_clips"]  # a fixture


def _params(**kw: str) -> EpisodeParams:
    base = {"video": "ep1.mp4", "series": "ceo-contract-bride", "mt_backend": "fake"}
    return EpisodeParams(**{**base, **kw})  # type: ignore[arg-type]


def test_paths_inside_the_roots_and_packaged_models_pass(tmp_path: Path) -> None:
    check_episode_request(
        _params(
            video=str(tmp_path / "in" / "ep1.mp4"),
            out_dir=str(tmp_path / "out"),
            music_stem=str(tmp_path / "in" / "me.wav"),
            series=str(tmp_path / "glossary.toml"),
            asr_model="whisper-base",
        ),
        [tmp_path],
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("video", "/etc/passwd"),
        ("out_dir", "/var/www"),
        ("out_dir", "../../elsewhere"),
        ("music_stem", "/home/other/me.wav"),
        ("series", "/etc/glossary.toml"),
        ("asr_model", "/tmp/model-folder"),
        ("mt_model", "someone/repo-with-code"),
    ],
)
def test_anything_outside_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RequestRefused, match=f"{field} '{value}'") as info:
        check_episode_request(_params(**{field: value}), [tmp_path])
    assert "--root" in info.value.hint


def test_a_symlink_out_of_a_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to("/etc", target_is_directory=True)
    with pytest.raises(RequestRefused, match="out_dir"):
        check_episode_request(
            _params(video=str(root / "ep.mp4"), out_dir=str(root / "link")), [root]
        )


def test_roots_come_from_the_serving_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOCALIZE_CATALOG", str(tmp_path / "catalog"))
    monkeypatch.delenv("LOCALIZE_SERVE_ROOTS", raising=False)
    assert serve_roots() == [tmp_path.resolve(), (tmp_path / "catalog").resolve()]
    monkeypatch.setenv("LOCALIZE_SERVE_ROOTS", f"/srv/a:{tmp_path}")
    assert serve_roots() == [Path("/srv/a"), tmp_path.resolve()]


@pytest.mark.integration
@pytest.mark.usefixtures("prefect_server")
def test_the_nightly_flow_takes_its_folders_and_storage_from_the_operator(
    catalog_clips: dict[str, Path],
    tmp_path: Path,
    localize_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.served import served_catalog

    root = make_catalog(tmp_path / "catalog", {"ep1": catalog_clips["ep1"]})
    out, results = tmp_path / "out", tmp_path / "results"
    monkeypatch.setenv("LOCALIZE_CATALOG", str(root))
    monkeypatch.setenv("LOCALIZE_CATALOG_OUT", str(out))
    monkeypatch.setenv("LOCALIZE_RESULT_STORAGE", str(results))
    monkeypatch.setenv("LOCALIZE_RUNNER", "thread")
    result = served_catalog(mt_backend="fake", max_parallel=1)
    assert result.processed == ["ceo/ep1"] and result.runner.endswith(
        "threads in the flow's process"
    )
    assert "ep1" in published(out)
    assert any(p.is_file() for p in results.rglob("*"))  # the operator's result storage
