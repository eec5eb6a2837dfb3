"""Catalog discovery, safe names, the hash cache and per-language status (pure, fast)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from localize.catalog import (
    CHANGED,
    DONE,
    FAILED,
    INTERRUPTED,
    NEW,
    REVIEW,
    CatalogState,
    UnsafeNameError,
    check_name,
    discover,
    format_table,
    inside,
    natural_key,
    plan,
    review_ended,
    state_lock,
)
from localize.cli import main

GLOSSARY = Path(__file__).resolve().parent.parent / "glossaries" / "ceo-contract-bride.toml"


def _series(root: Path, name: str, episodes: list[str], settings: str = "") -> Path:
    folder = root / name
    (folder / "episodes").mkdir(parents=True)
    shutil.copyfile(GLOSSARY, folder / "glossary.toml")
    if settings:
        (folder / "series.toml").write_text(settings, encoding="utf-8")
    for ep in episodes:
        (folder / "episodes" / ep).write_bytes(f"video {ep}".encode())
    return folder


def _publish(out_dir: Path, episode: str, langs: list[str]) -> str:
    """A fake published episode (manifest only); returns its content id."""
    from localize.catalog import manifest_id

    out_dir.mkdir(parents=True, exist_ok=True)
    files = [{"path": f"{episode}.{lang}.srt", "sha256": lang * 4} for lang in langs]
    manifest = {"series": "s", "episode": episode, "files": files}
    (out_dir / "manifest.json").write_text(json.dumps(manifest))
    return manifest_id(manifest)


def test_natural_order() -> None:
    names = ["ep10.mp4", "ep2.mp4", "ep1.mp4", "Ep3.mp4"]
    assert sorted(names, key=natural_key) == ["ep1.mp4", "ep2.mp4", "Ep3.mp4", "ep10.mp4"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("..", "empty or dots"),
        ("/etc", "a path"),
        ("a/b", "a path"),
        (".hidden", "only letters"),
        ("名字", "only letters"),
        ("", "empty"),
    ],
)
def test_unsafe_names_are_rejected_with_a_reason(name: str, why: str) -> None:
    with pytest.raises(UnsafeNameError, match=why):
        check_name(name, "series id")
    assert check_name("ceo-contract_bride.2", "series id") == "ceo-contract_bride.2"


def test_inside_refuses_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (root / "evil").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafeNameError, match="outside"):
        inside(root, "evil", "ep1")
    assert inside(root, "good", "ep1") == root / "good" / "ep1"


def test_discovery_orders_and_rejects(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _series(root, "b-series", ["ep10.mp4", "ep2.mp4", "notes.txt", "ep1.mkv"])
    _series(root, "a-series", ["e1.mp4"], settings='[run]\ntargets = ["en", "es"]\n')
    (root / "no-glossary" / "episodes").mkdir(parents=True)
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(b"x")
    (root / "b-series" / "episodes" / "ep3.mp4").symlink_to(outside)
    (root / "b-series" / "episodes" / "bad name.mp4").write_bytes(b"x")
    (root / "a-series" / "episodes" / "e1.mkv").write_bytes(b"x")  # same stem twice

    catalog = discover(root)
    assert [s.id for s in catalog.series] == ["a-series", "b-series"]
    assert [e.name for e in catalog.series[1].episodes] == ["ep1", "ep2", "ep10"]
    assert catalog.series[0].episodes == ()
    assert catalog.series[0].settings == {"targets": ["en", "es"]}
    reasons = {Path(r.path).name: r.reason for r in catalog.rejected}
    assert "outside the catalog" in reasons["ep3.mp4"]
    assert "only letters" in reasons["bad name.mp4"]
    assert "no glossary.toml" in reasons["no-glossary"]
    assert "share this episode name" in reasons["e1.*"]


def test_unknown_settings_reject_the_series(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"], settings="[run]\ntarget = ['en']\n")
    catalog = discover(root)
    assert catalog.series == ()
    assert "unknown settings ['target']" in catalog.rejected[0].reason


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ("run = 5\n", "not a table"),
        ("[run]\ndub = true\n", "dub: Input should be a valid list"),
        ('[run]\ntargets = ["xx"]\n', "targets.0: Input should be 'en'"),
        ('[run]\ndub = ["es"]\n', "dub languages ['es'] must also be in targets"),
        ('[run]\nmt_backend = "gpt"\n', "mt_backend: Input should be 'llm'"),
        ('[run]\ncaption_band = "0.9,0.1"\n', "caption_band"),
    ],
)
def test_a_bad_series_toml_rejects_that_series_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: str, why: str
) -> None:
    root = tmp_path / "catalog"
    _series(root, "bad", ["ep1.mp4"], settings=settings)
    _series(root, "good", ["ep1.mp4"], settings='[run]\ntargets = ["en", "es"]\n')
    out = tmp_path / "out"
    plans, rejected = plan(discover(root), CatalogState.load(out), out)
    assert [p.episode.key for p in plans] == ["good/ep1"]
    assert [Path(r.path).relative_to(root).as_posix() for r in rejected] == ["bad/series.toml"]
    assert why in rejected[0].reason
    assert main(["catalog", "status", str(root), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"rejected {root / 'bad' / 'series.toml'}: " in text
    assert why in text
    assert ["good", "ep1", "es", "new"] in [line.split() for line in text.splitlines()]


def test_run_overrides_are_checked_with_the_series_settings(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"], settings='[run]\ntargets = ["en", "es"]\ndub = ["es"]\n')
    out = tmp_path / "out"
    plans, rejected = plan(discover(root), CatalogState.load(out), out)
    assert plans[0].settings["dub"] == ["es"] and not rejected
    plans, rejected = plan(discover(root), CatalogState.load(out), out, {"targets": ["en"]})
    assert plans == [] and "must also be in targets" in rejected[0].reason


def test_compute_threads_is_a_series_setting_that_decides_the_output(tmp_path: Path) -> None:
    """Episodes done before the setting existed stay done at the default; another thread
    count may round differently, so it marks them changed (and says why)."""
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"])
    out = tmp_path / "out"
    state = CatalogState.load(out)
    [before], _ = plan(discover(root), state, out)
    old = {k: v for k, v in before.fingerprint("en").items() if k != "compute_threads"}
    content = _publish(before.out_dir, "ep1", ["en"])
    state.record(before.episode, ["en"], DONE, old, manifest=content)
    state.save()

    def status(settings: str = "", **overrides: object) -> tuple[str, str]:
        (root / "s" / "series.toml").write_text(settings, encoding="utf-8")
        [item], _ = plan(discover(root), CatalogState.load(out), out, overrides)
        return item.languages[0].status, item.languages[0].detail

    assert status() == (DONE, "")
    assert status("[run]\ncompute_threads = 2\n") == (DONE, "")  # the default
    assert status("[run]\ncompute_threads = 1\n") == (CHANGED, "compute threads changed")
    assert status(compute_threads=4) == (CHANGED, "compute threads changed")


def test_hashes_are_cached_by_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4", "ep2.mp4"])
    out = tmp_path / "out"
    state = CatalogState.load(out)
    plans, _ = plan(discover(root), state, out)
    assert state.hashed == 2
    state.save()
    again = CatalogState.load(out)
    plans2, _ = plan(discover(root), again, out)
    assert again.hashed == 0
    assert [p.content_hash for p in plans2] == [p.content_hash for p in plans]
    video = root / "s" / "episodes" / "ep2.mp4"
    video.write_bytes(b"a new cut")
    os.utime(video, ns=(1, 1))
    plans3, _ = plan(discover(root), again, out)
    assert again.hashed == 1
    assert plans3[1].content_hash != plans[1].content_hash


def test_status_new_done_changed_failed_review(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4", "ep2.mp4", "ep3.mp4", "ep4.mp4"])
    out = tmp_path / "out"
    state = CatalogState.load(out)
    plans, _ = plan(discover(root), state, out, {"targets": ["en", "es"]})
    assert {s.status for p in plans for s in p.languages} == {NEW}
    ep1, ep2, ep3, _ = plans
    content = _publish(ep1.out_dir, "ep1", ["en", "es"])
    for lang in ("en", "es"):
        state.record(ep1.episode, [lang], DONE, ep1.fingerprint(lang), manifest=content)
        state.record(ep2.episode, [lang], FAILED, ep2.fingerprint(lang), error="corrupt video")
        state.record(ep3.episode, [lang], REVIEW, ep3.fingerprint(lang))
    state.save()

    def statuses(**overrides: object) -> dict[tuple[str, str], tuple[str, str]]:
        st = CatalogState.load(out)
        found, _ = plan(discover(root), st, out, {"targets": ["en", "es"], **overrides})
        return {
            (s.episode.name, s.language): (s.status, s.detail) for p in found for s in p.languages
        }

    now = statuses()
    assert now[("ep1", "en")] == (DONE, "")
    assert now[("ep2", "es")] == (FAILED, "corrupt video")
    assert now[("ep3", "en")][0] == REVIEW
    assert now[("ep4", "en")][0] == NEW
    assert not any(s.needs_run for s in ep1.languages if s.status == DONE)

    # a different model: every recorded episode changed, and says what changed
    changed = statuses(mt_model="another-model")
    assert changed[("ep1", "en")] == (CHANGED, "translation model changed")
    # the glossary is edited (one rendering): changed
    glossary = root / "s" / "glossary.toml"
    glossary.write_text(
        glossary.read_text(encoding="utf-8").replace("Lin Wan,", "Lin Wan (a designer),", 1),
        encoding="utf-8",
    )
    assert statuses()[("ep1", "en")] == (CHANGED, "glossary changed")
    shutil.copyfile(GLOSSARY, glossary)
    # the published output disappears: changed
    (ep1.out_dir / "manifest.json").unlink()
    assert statuses()[("ep1", "es")] == (CHANGED, "published output is missing")


def test_a_review_whose_run_has_ended_is_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"])
    out = tmp_path / "out"
    state = CatalogState.load(out)
    (ep1,), _ = plan(discover(root), state, out)
    state.record(ep1.episode, ["en"], REVIEW, ep1.fingerprint("en"), run="run-1")
    state.save()
    args = ["catalog", "status", str(root), "--out", str(out)]

    def status() -> list[str]:
        assert main(args) == 0
        return capsys.readouterr().out.splitlines()[2].split()[:4]  # after outputs, header

    # a catalog run holds the output folder: it may still be waiting for the review
    with state_lock(out):
        assert status() == ["s", "ep1", "en", REVIEW]
    # no run holds it (the run was killed): the review will never come
    assert status() == ["s", "ep1", "en", INTERRUPTED]
    (again,), _ = plan(discover(root), CatalogState.load(out), out, stale_review=review_ended)
    assert again.languages[0].status == INTERRUPTED and again.needs_run
    assert "has ended" in again.languages[0].detail


def test_table_and_cli_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep2.mp4", "ep10.mp4"])
    (root / "..evil").mkdir()
    out = tmp_path / "out"
    assert main(["catalog", "status", str(root), "--out", str(out), "--to", "en", "es"]) == 0
    text = capsys.readouterr().out
    outputs, *lines = text.splitlines()
    assert outputs == f"outputs: {out.absolute()}"  # the folder it compared
    assert lines[0].split() == ["SERIES", "EPISODE", "LANG", "STATUS", "DETAIL"]
    assert [ln.split()[:4] for ln in lines[1:5]] == [
        ["s", "ep2", "en", "new"],
        ["s", "ep2", "es", "new"],
        ["s", "ep10", "en", "new"],
        ["s", "ep10", "es", "new"],
    ]
    assert (out / ".catalog" / "state.json").is_file()
    assert format_table([]).startswith("SERIES")


def test_nightly_deployment_runs_at_two_in_shanghai() -> None:
    from flows.deploy import catalog_deployment

    deployment = catalog_deployment()
    assert deployment.name == "nightly"
    # folders, runner, scheduler and storage are the operator's, not a run request's
    schema = deployment._parameter_openapi_schema.model_dump(exclude_unset=True)
    assert not {"catalog", "out", "runner", "dask_address", "result_storage"} & set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 2 * * *"  # type: ignore[union-attr]
    assert schedule.schedule.timezone == "Asia/Shanghai"  # type: ignore[union-attr]


def test_the_state_lock_admits_one_run_and_names_the_holder(tmp_path: Path) -> None:
    from localize.catalog import CatalogBusyError, state_lock

    out = tmp_path / "out"
    busy = rf"(?s)pid {os.getpid()} on .*--wait"
    with (
        state_lock(out),
        pytest.raises(CatalogBusyError, match=busy) as info,
        state_lock(out, wait=0.2),
    ):
        pass
    assert "another catalog run is writing" in info.value.message
    with state_lock(out):  # released on exit: the next run gets it at once
        pass
    assert not (out / ".catalog" / "lock.owner").exists()


def test_status_does_not_write_back_state_while_a_run_holds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localize.catalog import state_lock

    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"])
    out = tmp_path / "out"
    with state_lock(out):
        # the run records an outcome after status has read the state...
        assert main(["catalog", "status", str(root), "--out", str(out)]) == 0
        assert not (out / ".catalog" / "state.json").exists()
    # ...and with no run, status keeps the hash cache (merged into the saved state)
    state = CatalogState.load(out)
    state.episodes["s/ep1"] = {"en": {"status": DONE}}
    state.save()
    assert main(["catalog", "status", str(root), "--out", str(out)]) == 0
    saved = CatalogState.load(out)
    assert saved.episodes["s/ep1"]["en"]["status"] == DONE
    assert len(saved.hashes) == 1
    capsys.readouterr()


def _version(series_dir: Path, name: str, *, link: bool) -> Path:
    folder = series_dir / ".versions" / name
    folder.mkdir(parents=True)
    _publish(folder, name.split("-")[0], ["en"])
    if link:
        (series_dir / name.split("-")[0]).symlink_to(f".versions/{name}")
    return folder


def test_sweep_removes_what_a_killed_publish_left_and_keeps_published_versions(
    tmp_path: Path,
) -> None:
    from localize.catalog import sweep_stale

    out = tmp_path / "out"
    series = out / "s"
    live = _version(series, "ep1-aaaa", link=True)
    _version(series, "ep2-bbbb", link=False)  # renamed into place, link never switched
    (series / ".versions" / ".staging-ep3-4242").mkdir()  # killed while writing
    (series / ".versions" / ".staging-ep3-4242" / "ep3.en.srt").write_text("1\n")
    (series / ".ep2.link-4242").symlink_to(".versions/ep2-bbbb")
    (out / ".catalog").mkdir()
    (out / ".catalog" / ".state.json.4242.tmp").write_text("{")

    removed = sweep_stale(out)
    assert sorted(removed) == [
        ".catalog/.state.json.4242.tmp",
        "s/.ep2.link-4242",
        "s/.versions/.staging-ep3-4242",
        "s/.versions/ep2-bbbb",
    ]
    assert sorted(p.name for p in (series / ".versions").iterdir() if p.is_dir()) == ["ep1-aaaa"]
    assert (series / "ep1").resolve() == live.resolve()
    assert sweep_stale(out) == []


def test_check_published_finds_a_tampered_or_missing_file(tmp_path: Path) -> None:
    from localize.catalog import check_published
    from localize.fsutil import sha256_file

    folder = tmp_path / "ep1"
    folder.mkdir()
    srt = folder / "ep1.en.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    entry = {"path": srt.name, "size": srt.stat().st_size, "sha256": sha256_file(srt)}
    (folder / "manifest.json").write_text(json.dumps({"files": [entry]}))
    assert check_published(folder) == []
    srt.write_text(srt.read_text().replace("Hi", "Ho"))
    assert check_published(folder) == ["ep1.en.srt: size or sha256 differs from the manifest"]
    srt.unlink()
    assert check_published(folder) == ["ep1.en.srt: missing"]
    assert "no readable manifest" in check_published(tmp_path)[0]


def test_runner_choice_and_the_dask_address_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.runners import RunnerError, build_task_runner, resolve_runner

    monkeypatch.delenv("LOCALIZE_DASK_ADDRESS", raising=False)
    assert resolve_runner("thread", default_workers=3).workers == 3
    local = resolve_runner("dask", workers=2)
    assert (local.address, local.describe()) == (
        None,
        "dask: a local cluster of 2 worker processes",
    )
    runner = build_task_runner(local)
    assert runner.cluster_kwargs["host"] == "127.0.0.1"  # type: ignore[attr-defined]
    assert runner.cluster_kwargs["n_workers"] == 2  # type: ignore[attr-defined]
    monkeypatch.setenv("LOCALIZE_DASK_ADDRESS", "10.0.0.5:8786")
    assert resolve_runner("dask").address == "tcp://10.0.0.5:8786"
    assert resolve_runner("dask", dask_address="tls://sched:8786").address == "tls://sched:8786"
    assert build_task_runner(resolve_runner("dask")).address == "tcp://10.0.0.5:8786"  # type: ignore[attr-defined]
    with pytest.raises(RunnerError, match="unknown runner 'spark'"):
        resolve_runner("spark")
    with pytest.raises(RunnerError, match="at least 1"):
        resolve_runner("dask", workers=0)


def test_a_held_episode_shows_its_qc_errors_and_stays_held_unless_a_run_would_publish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localize.catalog import HELD, held_detail, rerun_held

    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"])
    out = tmp_path / "out"
    state = CatalogState.load(out)
    [ep1], _ = plan(discover(root), state, out)
    detail = held_detail(5, out / "s" / "ep1.held")
    state.record(ep1.episode, ["en"], HELD, ep1.fingerprint("en"), error=detail)
    state.save()

    assert main(["catalog", "status", str(root), "--out", str(out)]) == 0
    row = capsys.readouterr().out.splitlines()[2]  # after the outputs line and the header
    assert row.split()[:4] == ["s", "ep1", "en", "held"]
    assert " ".join(row.split()).endswith(f"held (5 QC errors) draft at {out}/s/ep1.held")
    [again], _ = plan(discover(root), CatalogState.load(out), out)
    assert [s.status for s in again.languages] == [HELD]
    # an unchanged held episode is not run again (and does not notify every night)...
    assert not again.needs_run and not rerun_held(again.settings, review=False)
    # ...unless the run would publish it: with review, or on_qc_errors = "publish"
    assert rerun_held(again.settings, review=True)
    [publish], _ = plan(discover(root), state, out, {"on_qc_errors": "publish"})
    assert rerun_held(publish.settings, review=False)
    # a change (here the video) makes it "changed": it runs like any other
    (root / "s" / "episodes" / "ep1.mp4").write_bytes(b"another cut")
    [changed], _ = plan(discover(root), CatalogState.load(out), out)
    assert changed.languages[0].status == CHANGED and changed.needs_run


def test_series_toml_sets_the_qc_gate_and_held_names_are_reserved(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4", "ep1.held.mp4"], settings='[run]\non_qc_errors = "publish"\n')
    catalog = discover(root)
    assert catalog.series[0].settings == {"on_qc_errors": "publish"}
    assert [e.name for e in catalog.series[0].episodes] == ["ep1"]
    [rejected] = catalog.rejected
    assert "kept for held drafts" in rejected.reason


def test_the_catalog_sweep_keeps_held_drafts(tmp_path: Path) -> None:
    from localize.catalog import sweep_stale

    series = tmp_path / "out" / "s"
    live = _version(series, "ep1-aaaa", link=True)
    held = _version(series, "ep1.held-cccc", link=True)  # the draft of a held run
    assert sweep_stale(tmp_path / "out") == []
    assert (series / "ep1").resolve() == live.resolve()
    assert (series / "ep1.held").resolve() == held.resolve() and held.is_dir()


def test_every_command_publishes_under_one_output_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """There were three defaults (cwd out/, the cache, /var/lib in the docs); now one."""
    from localize.catalog import default_out
    from localize.models import output_root

    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("LOCALIZE_OUT", raising=False)
    assert output_root() == tmp_path / "data" / "out"
    monkeypatch.setenv("LOCALIZE_OUT", str(tmp_path / "deliveries"))
    root = tmp_path / "catalog"
    _series(root, "s", ["ep1.mp4"])
    assert default_out(root) == tmp_path / "deliveries" / "catalog"
    # status says which folder it compared with the catalog
    assert main(["catalog", "status", str(root)]) == 0
    assert capsys.readouterr().out.startswith(f"outputs: {tmp_path / 'deliveries' / 'catalog'}\n")
