"""The guides cannot rot: their commands run for real, and what they promise is checked.

How the guides mark their commands (each guide says so at its top):

* a fenced ```` ```console ```` block is **run**: lines starting with ``$ `` are commands,
  run in order, per guide, in a fresh folder with its own ``LOCALIZE_HOME`` (the prepared
  models are symlinked in) against one Prefect server started for this module; the other
  lines are the output the guide shows, and each must appear in what the command printed
  (whitespace collapsed; ``...`` matches anything);
* ``localize episode``, ``localize demo`` and ``localize catalog run`` get
  ``--mt-backend fake`` appended unless the guide chose a backend (:data:`FAKE_MT`): the
  guides show the real default, the test uses the dry-run translator to stay fast. So does
  ``localize catalog status``, so that it compares with what those runs did (otherwise an
  episode done with ``fake`` reads "changed: translation backend changed"). Every
  substitution is printed in the test's output. A command must exit 0, unless it ends
  with a comment ``# exit N`` (e.g. a held episode's 3);
* every other fenced block is **checked, not run**: each ``localize ...`` line must parse
  with the real command line, and each ``prefect deployment run`` names a served
  deployment with parameters that validate.

Also here: docs/troubleshooting.md is what ``scripts/troubleshooting.py`` generates from the
code today, and the translator's guide explains every QC flag the code can raise.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localize.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
GUIDES = ("manager-guide.md", "translator-guide.md")
BIN = Path(sys.executable).parent
#: commands that translate with the LLM by default, and what the test adds to them
FAKE_MT = (("episode",), ("demo",), ("catalog", "run"), ("catalog", "status"))
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
#: a console command's expected exit status, when not 0: ``$ localize ...   # exit 3``
_EXIT = re.compile(r"#\s*exit (\d+)\b")


@dataclass
class Step:
    command: str
    expected: list[str]


@dataclass
class Ran:
    command: str
    argv: list[str]
    code: int
    stdout: str
    stderr: str


def blocks(guide: Path) -> Iterator[tuple[str, str]]:
    """(language, body) of every fenced block of ``guide``."""
    for match in _FENCE.finditer(guide.read_text(encoding="utf-8")):
        yield match.group(1), match.group(2)


def console_steps(guide: Path) -> list[Step]:
    steps: list[Step] = []
    for lang, body in blocks(guide):
        if lang != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:].strip(), []))
            elif line.strip():
                assert steps, f"{guide.name}: output before any command: {line!r}"
                steps[-1].expected.append(line)
    return steps


def _localize_args(words: list[str]) -> list[str] | None:
    """The arguments after ``localize`` (env assignments and comments skipped), or None."""
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words = words[1:]
    return words[1:] if words and words[0] == "localize" else None


def with_fake_mt(args: list[str]) -> list[str]:
    if any(tuple(args[: len(c)]) == c for c in FAKE_MT) and "--mt-backend" not in args:
        return [*args, "--mt-backend", "fake"]
    return args


def _loose(expected: str) -> re.Pattern[str]:
    parts = [re.escape(" ".join(p.split())) for p in expected.split("...")]
    return re.compile(".*?".join(parts))


def _collapse(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def run_guide(guide: Path, work: Path, env: dict[str, str]) -> list[Ran]:
    ran: list[Ran] = []
    for step in console_steps(guide):
        words = shlex.split(step.command, comments=True)
        args = _localize_args(words)
        if args is not None:
            fake = with_fake_mt(args)
            if fake != args:
                print(f"{guide.name}: running `{step.command}` with --mt-backend fake")
            argv = [str(BIN / "localize"), *fake]
        else:
            argv = words  # mkdir, cp: plain programs, no shell
        proc = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        result = Ran(step.command, argv, proc.returncode, proc.stdout, proc.stderr)
        ran.append(result)
        expect = _EXIT.search(step.command)
        code = int(expect.group(1)) if expect else 0
        assert proc.returncode == code, f"{step.command}\n{proc.stdout}\n{proc.stderr}"
        printed = _collapse(proc.stdout + "\n" + proc.stderr)
        for line in step.expected:
            assert _loose(line).search(printed), (
                f"{guide.name}: `{step.command}` did not print {line!r}; it printed:\n{printed}"
            )
    return ran


# ------------------------------------------------------------------- not-run blocks
def test_every_shown_command_parses_and_deployments_exist() -> None:
    from flows.deploy import CATALOG_DEPLOYMENT, EPISODE_DEPLOYMENT
    from flows.params import EpisodeParams

    parser = build_parser()
    deployments = {
        f"localize-episode/{EPISODE_DEPLOYMENT}",
        f"localize-catalog/{CATALOG_DEPLOYMENT}",
    }
    checked = 0
    for name in GUIDES:
        for _lang, body in blocks(DOCS / name):
            for line in body.splitlines():
                line = line.removeprefix("$ ").strip()
                if not line or line.startswith("#"):
                    continue
                try:
                    words = shlex.split(line, comments=True)
                except ValueError:
                    continue  # prose or output, not a command
                args = _localize_args(words)
                if args is not None:
                    parser.parse_args(args)  # SystemExit on an unknown option
                    checked += 1
                elif words[:3] == ["prefect", "deployment", "run"]:
                    assert words[3] in deployments, line
                    if "--params" in words:
                        params = json.loads(words[words.index("--params") + 1])
                        EpisodeParams(**params["params"])  # the deployment's one parameter
                    checked += 1
    assert checked >= 10  # the guides' commands were found, not silently skipped


def test_fake_mt_substitution_is_limited_to_translating_commands() -> None:
    assert with_fake_mt(["episode", "ep.mp4"])[-2:] == ["--mt-backend", "fake"]
    assert with_fake_mt(["catalog", "run", "c"])[-1] == "fake"
    assert with_fake_mt(["catalog", "status", "c"])[-1] == "fake"
    assert with_fake_mt(["glossary", "check", "g.toml"]) == ["glossary", "check", "g.toml"]
    assert with_fake_mt(["episode", "x", "--mt-backend", "llm"])[-1] == "llm"


# ------------------------------------------------------------------------ the docs
def test_troubleshooting_is_generated_from_the_current_code() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "troubleshooting.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_troubleshooting_lists_every_raise_in_the_source() -> None:
    """Independent of the generator: every error class raised in localize/ and flows/ has a
    section, and the literal start of every message is on the page."""
    page = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    raised = 0
    for path in [*(REPO / "localize").rglob("*.py"), *(REPO / "flows").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"raise (\w+Error|ReviewRejected)\(\s*f?\"([^\"{]{12,})", text):
            cls, start = match.groups()
            start = start.split("\\")[0]  # up to an escape such as \n
            # programming errors of the Python protocols, never shown to a user
            if cls in ("ValueError", "KeyError", "AttributeError", "AssertionError",
                       "NotImplementedError"):  # fmt: skip
                continue
            assert f"## {cls}" in page, f"{cls} ({path.name}) has no section"
            assert start.replace("|", "\\|") in page, f"{path.name}: {start!r} is not listed"
            raised += 1
    assert raised > 100


def test_translator_guide_explains_every_qc_flag() -> None:
    from localize.qc import FLAG_CODES

    guide = (DOCS / "translator-guide.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \|", guide, re.M)
    assert sorted(rows) == sorted(FLAG_CODES)


def test_guides_link_to_pages_and_images_that_exist() -> None:
    for name in (*GUIDES, "troubleshooting.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (DOCS / target).resolve().exists(), f"{name}: broken link {target}"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in (*GUIDES, "troubleshooting.md"):
        assert f"(docs/{name})" in readme


# ------------------------------------------------------------------ run the guides
@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server ``localize serve`` runs, on a free port, for the guides' commands."""
    import socket

    from flows.deploy import local_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = tmp_path_factory.mktemp("guide-prefect")
    with local_server(host="127.0.0.1", port=port, home=home) as api:
        yield api


def _guide_env(work: Path, api: str | None) -> dict[str, str]:
    import os

    from localize.models import localize_home

    home = work.parent / "home"
    home.mkdir()
    (home / "models").symlink_to(localize_home() / "models", target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LOCALIZE_"))}
    # series state and outputs of the guide stay in its folder, never the user's data dir
    env.update(LOCALIZE_HOME=str(home), LOCALIZE_DATA=str(work.parent / "data"), DO_NOT_TRACK="1")
    if api:
        env["PREFECT_API_URL"] = api
    return env


@pytest.mark.slow
@pytest.mark.integration
def test_manager_guide_runs_as_written(prefect_api: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    ran = run_guide(DOCS / "manager-guide.md", work, _guide_env(work, prefect_api))
    commands = [r.command.split()[:3] for r in ran]
    assert ["localize", "catalog", "run"] in commands

    # the unattended episode run: QC found errors (the fake translator's Chinese), so it
    # is held: a draft and its report next to the output, nothing published, exit 3
    held, episode, added = [r for r in ran if r.argv[1:2] == ["episode"]]
    assert held.code == 3 and "--on-qc-errors" not in held.argv
    draft = work / "out" / "ep1.held"
    assert "held: " in held.stdout and f"draft at {draft}; re-run with review on" in held.stdout
    # adding French later kept English byte for byte (the guide's `cmp` passed) and
    # published both
    assert re.search(r"subtitles .*\(zh-Hans, fr, (en, es|es, en)\)", added.stdout), added.stdout
    # published on purpose: progress as one line per stage (stderr is not a terminal)
    lines = re.findall(r"^\[\d+:\d\d\] ep1: ([^,(\n]+)", episode.stderr, re.M)
    stages = [s.strip() for i, s in enumerate(lines) if i == 0 or s != lines[i - 1]]
    expected = ["start", "probe", "transcribe", "ocr", "translate en", "translate es", "qc"]
    assert stages[: len(expected) + 1] == [*expected, "package"], episode.stderr
    assert "ep1: done in" in episode.stderr
    # ...and a summary naming the outputs and the lines that need attention
    out = episode.stdout
    report = work / "out" / "ep1" / "report.html"
    assert report.is_file() and str(report) in out
    for name in ("ep1.en.srt", "ep1.es.vtt", "ep1.mp4", "hls/master.m3u8", "qc.json"):
        assert name in out, out
    # the fake translator leaves Chinese in every line: all of them are flagged, as errors
    assert re.search(r"^  en: (\d+) of \1 lines flagged \(\1 with errors\)$", out, re.M), out
    assert re.search(r"^    #1 +0:01  source-script", out, re.M), out

    assert not draft.exists()  # the draft goes once the episode is published

    # the catalog runs: the first holds the episode, the second publishes it; the summary
    # names the episode, its flagged lines and its report
    held_run, catalog = [r for r in ran if r.argv[1:3] == ["catalog", "run"]]
    assert held_run.code == 0
    assert re.search(r"held +ceo-contract-bride/ep1: \(\d+ QC errors\) draft at ", held_run.stdout)
    assert "1 localized, 0 already up to date, 0 failed" in catalog.stdout
    assert re.search(r"done +ceo-contract-bride/ep1: flagged lines: .*en \d+", catalog.stdout)
    assert "catalog: episodes, 1 episodes" in catalog.stderr


def test_translator_guide_runs_as_written(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "glossaries").symlink_to(REPO / "glossaries", target_is_directory=True)
    ran = run_guide(DOCS / "translator-guide.md", work, _guide_env(work, None))
    assert ran, "the translator's guide has no console block"
