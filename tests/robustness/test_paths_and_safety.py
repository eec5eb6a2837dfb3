"""Names from outside stay inside the output root; no shell, no unsafe loaders; localhost only."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from localize.cli import build_parser
from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError
from localize.package import publish_episode
from localize.paths import UnsafePathError, safe_child, safe_name

REPO = Path(__file__).resolve().parents[2]
ZH = CueTrack("zh-Hans", (Cue(0, 1000, "你好"),))
EN = CueTrack("en", (Cue(0, 1000, "Hello"),))


def _publish(out: Path, **kwargs: Any) -> None:
    args: dict[str, Any] = {"series": "s", "episode": "ep01", "source": ZH, "targets": {"en": EN}}
    args.update(kwargs)
    publish_episode(out, **args)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("episode", ["../evil", "../../evil", "/etc/evil", "a/b", "..", ""])
def test_episode_names_cannot_leave_the_output(tmp_path: Path, episode: str) -> None:
    before = _tree(tmp_path)
    out = tmp_path / "out" / "ep"
    with pytest.raises(UnsafePathError) as info:
        _publish(out, episode=episode)
    assert repr(episode) in info.value.message and info.value.hint
    assert _tree(tmp_path) == before  # nothing written anywhere, not even .versions
    assert not Path("/etc/evil.zh-Hans.srt").exists()


def test_language_tags_cannot_leave_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out" / "ep"
    with pytest.raises(UnsafePathError, match="language tag"):
        _publish(out, targets={"x": CueTrack("../../x", EN.cues)})
    assert not out.exists()
    assert not any(tmp_path.rglob("*.srt"))


@pytest.mark.parametrize("rel", ["../escaped.txt", "/tmp/escaped.txt", "a/../../escaped.txt"])
def test_extra_files_cannot_be_listed_outside_the_version(tmp_path: Path, rel: str) -> None:
    out = tmp_path / "out" / "ep"

    def writer(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        (staging / "ok.txt").write_text("ok")
        return [("ok.txt", "audio", "en", None), (rel, "audio", "en", None)]

    with pytest.raises(UnsafePathError, match="outside"):
        _publish(out, extra_writers=(writer,))
    assert not out.exists()
    assert [
        p for p in (tmp_path / "out" / ".versions").iterdir() if p.is_dir()
    ] == []  # staging cleaned


def test_a_symlink_inside_the_version_cannot_point_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    out = tmp_path / "out" / "ep"

    def writer(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        (staging / "dub.m4a").symlink_to(secret)
        return [("dub.m4a", "audio", "en", None)]

    with pytest.raises(UnsafePathError, match="through a symlink"):
        _publish(out, extra_writers=(writer,))
    assert not out.exists() and secret.read_text() == "private"


def test_an_output_symlink_to_elsewhere_is_replaced_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "data.txt").write_text("keep me")
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "ep"
    out.symlink_to(elsewhere)
    _publish(out)
    assert (elsewhere / "data.txt").read_text() == "keep me"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["data.txt"]
    assert out.resolve().parent == (tmp_path / "out" / ".versions").resolve()


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalizeError) as info:
        _publish(Path("/proc/localize-test/out/ep"))
    assert "cannot create the output folder /proc/localize-test/out" in info.value.message
    assert "--out" in info.value.hint


def test_safe_helpers_accept_plain_names(tmp_path: Path) -> None:
    assert safe_name("第01集 final.v2") == "第01集 final.v2"
    assert safe_child(tmp_path, "hls/en/seg-001.ts") == tmp_path / "hls/en/seg-001.ts"
    for bad in ("C:evil", "a\\..\\b", "x\x00y"):
        with pytest.raises(UnsafePathError):
            safe_name(bad)


# --------------------------------------------------------------------------- static checks
_FORBIDDEN = {
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "os.system": re.compile(r"\bos\.system\("),
    "os.popen": re.compile(r"\bos\.popen\("),
    "yaml.load (use tomllib/json)": re.compile(r"\byaml\.(?:unsafe_)?load\("),
    "pickle.load(s) of files": re.compile(r"\bpickle\.loads?\("),
    "marshal.load": re.compile(r"\bmarshal\.loads?\("),
    "eval/exec": re.compile(r"(?<![\w.])(?:eval|exec)\("),
}


def test_no_shell_and_no_unsafe_loaders_in_the_code() -> None:
    found = []
    for folder in ("localize", "flows"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                for what, pattern in _FORBIDDEN.items():
                    if pattern.search(code):
                        found.append(f"{path.relative_to(REPO)}:{number}: {what}")
    assert not found, "\n".join(found)


# --------------------------------------------------------------------------- services
def test_serve_binds_to_localhost_by_default() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"


def test_local_server_binds_to_localhost_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.deploy as deploy

    assert inspect.signature(deploy.local_server).parameters["host"].default == "127.0.0.1"
    launched: list[list[str]] = []

    class FakeServer:
        returncode = 1

        def __init__(self, args: list[str], **_: Any) -> None:
            launched.append(args)

        def poll(self) -> int:
            return 1

        def terminate(self) -> None: ...

        def wait(self, timeout: float) -> int:
            return 1

    monkeypatch.setattr(deploy, "healthy", lambda url: False)
    monkeypatch.setattr(deploy, "port_is_free", lambda host, port: True)
    monkeypatch.setattr(deploy.subprocess, "Popen", FakeServer)
    with (
        pytest.raises(LocalizeError, match="exited with code 1"),
        deploy.local_server(home=tmp_path),
    ):
        pass
    args = launched[0]
    assert args[args.index("--host") + 1] == "127.0.0.1"


def test_names_ending_in_a_newline_are_refused() -> None:
    """Name patterns once ended in "$", which also matches before a final newline."""
    from localize.catalog import UnsafeNameError, check_name
    from localize.glossary import is_language_code

    with pytest.raises(UnsafeNameError, match="only letters"):
        check_name("ep1\n", "episode name")
    assert check_name("ep1", "episode name") == "ep1"
    assert not is_language_code("en\n") and is_language_code("en")
