"""The ``localize-episode`` flow: probe -> transcribe -> translate -> QC -> review -> package.

Tasks are thin wrappers over ``localize`` and are cached on their inputs (the video's
content hash, model ids, the glossary version) plus their own source, with results
persisted: a re-run after a crash or a change redoes only what changed.
"""

from __future__ import annotations

import functools
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.context import get_run_context
from prefect.events import emit_event
from prefect.flow_runs import pause_flow_run, suspend_flow_run

from flows.params import EpisodeParams
from flows.results import RESULTS
from flows.review_input import ReviewInput
from flows.review_page import offer_review_page
from localize import __version__, progress
from localize.domain import CueTrack, Transcript, format_clock
from localize.errors import LocalizeError, TranscriptionError
from localize.fsutil import sha256_file
from localize.gate import (
    HELD_EVENT,
    HOLD,
    check_locations,
    discard_held,
    held_dir,
    held_message,
    must_hold,
)
from localize.glossary import Glossary, load_glossary
from localize.markdown import code_span, escape_markdown
from localize.media import MediaInfo, probe
from localize.models import localize_home, output_root
from localize.numerics import DEFAULT_COMPUTE_THREADS
from localize.ocr import OcrResult
from localize.package import (
    ExtraWriter,
    Manifest,
    manifest_extra,
    publish_episode,
    published_languages,
)
from localize.picture.episode import PictureFile
from localize.pipeline import (
    SourceStages,
    choose_source,
    choose_targets,
    merge_flags,
    produced_with,
    repair_episode_timing,
    stage_plan,
    transcribe_to_cues,
    wants_pictures,
)
from localize.pool import ModelPool
from localize.qc import Flag, QCReport, build_report
from localize.report import DubLine, render_html
from localize.review import (
    ReviewHistory,
    ReviewInputError,
    apply_corrections,
    cue_speakers,
    make_record,
    remember_approved,
)
from localize.review_files import (
    read_corrections,
    remove_review_draft,
    review_draft_dir,
    write_review_draft,
)
from localize.segment import load_style_profile
from localize.series import resolve_glossary_path
from localize.timing import TimingRepair, describe_repairs
from localize.translate.enforce import LineOutcome, translate_cues
from localize.translate.memory import TranslationMemory, series_memory_path

CACHE = INPUTS + TASK_SOURCE
#: how many "request changes" rounds before the run stops asking
MAX_REVIEW_ROUNDS = 5


_POOL_LOCK = threading.Lock()


@functools.cache
def _pool() -> ModelPool:
    return ModelPool()


def model_pool() -> ModelPool:
    """One pool per worker process: each model loads once and serves every episode
    (locked: parallel catalog episodes must not build two pools)."""
    with _POOL_LOCK:
        return _pool()


def _translator(
    backend: str,
    model: str,
    endpoint: str | None,
    key_env: str,
    key_secret: str | None,
    threads: int = DEFAULT_COMPUTE_THREADS,
) -> Any:
    """``key_secret`` names a Prefect Secret block: read here, on the worker, so the key
    is never a parameter (parameters are stored and shown by Prefect).

    Returns ``Any``, not the ``Translator`` that ``model_pool().translator`` is typed as:
    ``translate_task`` reads the ``openai`` backend's ``usage``, which the protocol has
    not, and changing that task's text to say so changes its cache key (TASK_SOURCE),
    redoing every cached translation. Type it when that task changes anyway."""
    key = None
    if key_secret:
        from prefect.blocks.system import Secret

        key = str(Secret.load(key_secret).get())  # type: ignore[union-attr]
    return model_pool().translator(backend, model, endpoint, key_env, key, threads=threads)


def run_numerics(params: EpisodeParams, *, asr: bool) -> dict[str, Any]:
    """Threads, device and compute type of the episode's models, as this worker loads
    them (for the manifest: which numerics made the published text)."""
    return model_pool().numerics(
        params.compute_threads,
        asr_backend="faster-whisper" if asr else None,
        mt_backend=params.mt_backend,
    )


# ---------------------------------------------------------------------------- tasks
@task(name="probe", task_run_name="probe {episode}")
def probe_task(video: str, episode: str) -> tuple[MediaInfo, str]:
    """Describe the video and hash its content (the cache key of everything after)."""
    info = probe(Path(video))
    return info, sha256_file(Path(video))


@task(
    name="transcribe",
    task_run_name="transcribe {episode}",
    cache_policy=CACHE,
    persist_result=True,
    result_serializer=RESULTS,
)
def transcribe_task(
    video: str,
    content_hash: str,
    episode: str,
    asr_model: str,
    glossary_path: str,
    glossary_version: str,
    language_check: bool = True,
    code_version: str = __version__,
    compute_threads: int = DEFAULT_COMPUTE_THREADS,
) -> tuple[CueTrack, Transcript]:
    logger = get_run_logger()
    glossary = load_glossary(Path(glossary_path))
    logger.info("recognising speech with %s", asr_model)
    track, transcript = transcribe_to_cues(
        Path(video),
        model=asr_model,
        glossary=glossary,
        pool=model_pool(),
        check_language=language_check,
        threads=compute_threads,
    )
    for dropped in transcript.dropped:
        logger.info(
            "dropped %r at %.1fs: %s",
            dropped.segment.text,
            dropped.segment.start_ms / 1000,
            dropped.reason,
        )
    logger.info("%d cues of Chinese subtitles", len(track.cues))
    return track, transcript


@task(
    name="ocr",
    task_run_name="ocr {episode}",
    cache_policy=CACHE,
    persist_result=True,
    result_serializer=RESULTS,
)
def ocr_task(
    video: str,
    content_hash: str,
    episode: str,
    caption_band: str | None,
    code_version: str = __version__,
) -> OcrResult:
    from localize.ocr import CaptionBand, ocr_video

    logger = get_run_logger()
    band = CaptionBand.parse(caption_band) if caption_band else None
    result = ocr_video(Path(video), band=band)
    for warning in result.warnings:
        logger.warning("%s", warning)
    logger.info(
        "%d burned-in captions read (band %s, %s)",
        len(result.track.cues),
        result.band,
        result.band_source,
    )
    return result


@task(
    name="translate",
    task_run_name="translate {episode} to {target}",
    cache_policy=CACHE,
    persist_result=True,
    result_serializer=RESULTS,
)
def translate_task(
    source: CueTrack,
    target: str,
    episode: str,
    backend: str,
    model: str,
    glossary_path: str,
    glossary_version: str,
    series_id: str,
    approved_digest: str = "",
    code_version: str = __version__,
    compute_threads: int = DEFAULT_COMPUTE_THREADS,
    endpoint: str | None = None,
    key_env: str = "LOCALIZE_MT_API_KEY",
    key_secret: str | None = None,
) -> tuple[CueTrack, list[LineOutcome], dict[str, int] | None]:
    """``approved_digest`` is part of the cache key (and otherwise unused): a line
    approved in review after a cached run makes the next run translate again, so the
    memory's approved text wins over the cached machine output."""
    logger = get_run_logger()
    glossary = load_glossary(Path(glossary_path))
    translator = _translator(backend, model, endpoint, key_env, key_secret, compute_threads)
    memory = TranslationMemory(series_memory_path(series_id))
    spent = getattr(translator, "usage", None)
    track, outcomes = translate_cues(
        source, translator, target=target, glossary=glossary, memory=memory, episode=episode
    )
    usage = None
    if spent is not None:  # an endpoint: what this episode cost in requests and tokens
        usage = (translator.usage - spent).as_dict()
        logger.info("%s: endpoint usage %s", target, usage)
    reused = sum(o.origin.startswith("memory") for o in outcomes)
    flagged = sum(bool(o.problems) for o in outcomes)
    logger.info(
        "%s: %d lines, %d from translation memory, %d still flagged",
        target,
        len(outcomes),
        reused,
        flagged,
    )
    return track, outcomes, usage


@task(name="qc", task_run_name="qc {episode}")
def qc_task(
    episode: str,
    source: CueTrack,
    targets: dict[str, CueTrack],
    glossary_path: str,
    media_duration_ms: int,
    outcomes: dict[str, list[LineOutcome]] | None = None,
    extra_flags: dict[str, list[Flag]] | None = None,
    timing_repairs: tuple[TimingRepair, ...] = (),
) -> QCReport:
    glossary = load_glossary(Path(glossary_path))
    tracks = {source.language: source, **targets}
    profiles = {lang: load_style_profile(lang) for lang in tracks}
    return build_report(
        tracks,
        profiles,
        source=source,
        glossary=glossary,
        media_duration_ms=media_duration_ms,
        outcomes=outcomes,
        episode=episode,
        extra_flags=extra_flags,
        timing_repairs=timing_repairs,
    )


@dataclass(frozen=True)
class DubSummary:
    """What the dub task produced for one language (picklable, for the result cache)."""

    language: str
    m4a: str
    duration_ms: int
    integrated_lufs: float
    true_peak_dbtp: float
    bed: str
    flags: tuple[Flag, ...]
    lines: tuple[DubLine, ...] = ()
    #: of ``m4a`` as the dub step wrote it: a cached summary whose file was since
    #: rewritten (or removed) is caught before it is published
    sha256: str = ""

    def intact(self) -> bool:
        return Path(self.m4a).is_file() and sha256_file(Path(self.m4a)) == self.sha256


@task(
    name="dub",
    task_run_name="dub {episode} in {language}",
    cache_policy=CACHE,
    persist_result=True,
    result_serializer=RESULTS,
)
def dub_task(
    video: str,
    content_hash: str,
    episode: str,
    language: str,
    track: CueTrack,
    glossary_path: str,
    glossary_version: str,
    tts: str,
    music_stem: str | None,
    duration_ms: int,
    work_dir: str,
    code_version: str = __version__,
    reviewed: bool = False,
) -> DubSummary:
    """``track``'s speakers come from :func:`speakers_task` (before review) and the
    reviewer; a reviewed track's named speakers teach the series' voice bank."""
    from localize.dub import create_synthesizer, dub_track, overrun_flags
    from localize.dub.cast import dub_lines, series_cast
    from localize.dub.synth import synthesizer_for
    from localize.speakers import anonymous_genders, learn_speakers

    logger = get_run_logger()
    glossary = load_glossary(Path(glossary_path))
    synthesizer = create_synthesizer(synthesizer_for(language, tts))
    cast = series_cast(glossary, language, synthesizer)
    if reviewed:
        learn_speakers(track, Path(video), glossary.series.id, canonical=cast.character_of)
    voices = cast.voices(glossary, anonymous_genders(track, Path(video)), synthesizer)
    result = dub_track(
        track,
        synthesizer=synthesizer,
        voices=voices,
        bed=Path(music_stem) if music_stem else None,
        original_audio=None if music_stem else Path(video),
        duration_ms=duration_ms,
        out_dir=Path(work_dir) / f"dub-{language}-{_cache_key()[:16]}",
    )
    flags = tuple(overrun_flags(result.report, language))
    logger.info(
        "%s dub: %d lines, %d stretched, %d too long; %.1f LUFS, %.1f dBTP (%s bed)",
        language,
        len(result.clips),
        len(result.report.stretched),
        len(flags),
        result.integrated_lufs,
        result.true_peak_dbtp,
        result.bed_kind,
    )
    lines = dub_lines(result.clips, track, cast)
    return DubSummary(
        language,
        str(result.m4a),
        duration_ms,
        result.integrated_lufs,
        result.true_peak_dbtp,
        result.bed_kind,
        flags,
        lines,
        sha256_file(result.m4a),
    )


@task(name="speakers", task_run_name="who speaks {episode}")
def speakers_task(
    video: str, episode: str, targets: dict[str, CueTrack], glossary_path: str
) -> dict[str, CueTrack]:
    """Who speaks each cue, heard before review so the draft shows it (not cached: the
    series' voice bank learns between runs)."""
    from localize.speakers import attribute_targets, speaker_names

    glossary = load_glossary(Path(glossary_path))
    names = speaker_names(glossary, next(iter(targets), ""))
    return attribute_targets(targets, Path(video), glossary.series.id, names=names)


def _cache_key() -> str:
    """The running task's cache key: its scratch folder is named by it, so no run with
    other inputs writes into the folder a cached result points at (a fresh name when
    the task runs uncached)."""
    from prefect.transactions import get_transaction

    txn = get_transaction()
    return txn.key if txn and txn.key else uuid.uuid4().hex


@task(name="pictures", task_run_name="pictures of {episode}")
def picture_task(
    video: str,
    episode: str,
    clean: str,
    burn: dict[str, CueTrack],
    source: CueTrack,
    ocr: OcrResult | None,
    work_dir: str,
    burn_style: str = "",
) -> tuple[list[PictureFile], dict[str, list[Flag]]]:
    """The clean master and the burned languages, read back with OCR (QC flags)."""
    from localize.picture.clean import CaptionSpans
    from localize.picture.episode import episode_pictures

    spans = (
        CaptionSpans(ocr.band, tuple((e.start_frame, e.end_frame) for e in ocr.events))
        if ocr is not None
        else None
    )
    files, flags = episode_pictures(
        Path(video),
        episode,
        Path(work_dir) / "pictures",
        clean=clean,
        burn=burn,
        source=source,
        spans=spans,
        style=burn_style,
    )
    get_run_logger().info(
        "pictures: %s; %d read-back flags",
        ", ".join(f"{f.rel} ({f.note})" if f.note else f.rel for f in files) or "none",
        sum(len(f) for f in flags.values()),
    )  # fmt: skip
    return files, flags


def episode_work_dir(series_id: str, episode: str) -> Path:
    """Scratch space for intermediate files (dub clips, stems) of one episode."""
    return localize_home() / "work" / series_id / episode


@task(name="package", task_run_name="package {episode}")
def package_task(
    out_dir: str,
    series: str,
    episode: str,
    source: CueTrack,
    targets: dict[str, CueTrack],
    report: QCReport,
    review: ReviewHistory | None,
    dubs: list[DubSummary] | None = None,
    video: str | None = None,
    drop: list[str] | None = None,
    numerics: dict[str, Any] | None = None,
    produced_with: dict[str, str] | None = None,
    mt_usage: dict[str, dict[str, int]] | None = None,
    pictures: list[PictureFile] | None = None,
) -> Manifest:
    """Publish subtitles, dubs, the MP4 with every track and the HLS package at once.

    Languages already published that this run does not produce are kept (unless in
    ``drop``): adding Spanish never loses the reviewed English."""

    def add_dubs(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        entries: list[tuple[str, str, str | None, int | None]] = []
        for dub in dubs or []:
            rel = f"{episode}.{dub.language}.dub.m4a"
            shutil.copyfile(dub.m4a, staging / rel)
            if sha256_file(staging / rel) != dub.sha256:
                raise LocalizeError(
                    f"{dub.m4a} changed after its dub step wrote it",
                    "run again: the dub is redone; nothing was published",
                )
            entries.append((rel, "audio", dub.language, dub.duration_ms))
        return entries

    def add_pictures(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        entries: list[tuple[str, str, str | None, int | None]] = []
        for picture in pictures or []:
            shutil.copyfile(picture.path, staging / picture.rel)
            entries.append((picture.rel, "video", picture.language, picture.duration_ms))
        return entries

    from localize.renditions import hls_writer, mp4_writer

    # languages published before and not produced by this run stay, byte for byte
    carried = published_languages(
        Path(out_dir), episode=episode, produced=[source.language, *targets], drop=drop or ()
    )
    subtitles = {source.language: source, **targets}
    dub_audio = {d.language: Path(d.m4a) for d in dubs or []}
    if carried is not None:
        for lang in carried.languages:
            subtitles.setdefault(lang, carried.track(lang))
            if (carried_dub := carried.dub(lang)) is not None:
                dub_audio.setdefault(lang, carried_dub)
    renditions = (
        (
            mp4_writer(
                Path(video),
                episode=episode,
                original_language=source.language,
                subtitles=subtitles,
                dubs=dub_audio,
            ),
            hls_writer(
                Path(video),
                episode=episode,
                original_language=source.language,
                subtitles=subtitles,
                dubs=dub_audio,
            ),
        )
        if video
        else ()
    )

    manifest = publish_episode(
        Path(out_dir),
        series=series,
        episode=episode,
        source=source,
        targets=targets,
        qc_json=report.to_json(),
        review_json=review.to_json() if review else None,
        extra_writers=(
            add_dubs,
            add_pictures,
            report_writer(report, series, episode, source, dubs, mt_usage),
            *renditions,
        ),
        languages=_language_records(targets, review, produced_with, mt_usage or {}),
        carried=carried,
        extra={
            **manifest_extra(report, review, numerics=numerics, dubs=dubs or []),
            "pictures": [p.manifest_entry() for p in pictures or []],
        },
    )
    get_run_logger().info("published %d files to %s", len(manifest.files), out_dir)
    if discard_held(Path(out_dir)):
        get_run_logger().info("removed the held draft %s: the episode is published", out_dir)
    create_markdown_artifact(
        f"Episode report: {code_span(str(Path(out_dir).resolve() / 'report.html'))} "
        "(QC summary, reading-speed timelines, glossary adherence, dub fit).",
        key=f"report-{_slug(episode)}",
        description=f"Where the published report of {escape_markdown(episode)} is",
    )
    return manifest


def _language_records(
    targets: dict[str, CueTrack],
    review: ReviewHistory | None,
    produced_with: dict[str, str] | None,
    mt_usage: dict[str, dict[str, int]],
) -> dict[str, dict[str, object]]:
    """Per language this run produced: what produced it and who approved it. Only
    what the content depends on (no run ids, no clock): publishing the same content
    again writes the same manifest."""
    approval = (
        {"reviewer": review.rounds[-1].reviewer, "at": review.rounds[-1].at}
        if review and review.rounds
        else None
    )
    return {
        lang: {
            "produced_with": dict(produced_with or {}),
            "review": approval,
            **({"mt_usage": mt_usage[lang]} if lang in mt_usage else {}),
        }
        for lang in targets
    }


def report_writer(
    report: QCReport,
    series: str,
    episode: str,
    source: CueTrack,
    dubs: list[DubSummary] | None,
    mt_usage: dict[str, dict[str, int]] | None = None,
) -> ExtraWriter:
    """A publish step writing ``report.html`` (QC summary, timelines, dub fit, what a
    translation endpoint was asked)."""

    def add_report(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        page = render_html(
            report,
            title=f"{series} - {episode}",
            duration_ms=max((c.end_ms for c in source.cues), default=0),
            dubs={d.language: d.lines for d in dubs or []},
            mt_usage=mt_usage,
        )
        (staging / "report.html").write_text(page, encoding="utf-8")
        return [("report.html", "report", None, None)]

    return add_report


@task(name="hold", task_run_name="hold {episode}")
def hold_task(
    out_dir: str,
    series: str,
    episode: str,
    source: CueTrack,
    targets: dict[str, CueTrack],
    report: QCReport,
    dubs: list[DubSummary] | None = None,
) -> str:
    """QC has errors and nobody reviewed: write the draft and its QC report to
    ``<out>.held`` (atomically, like a publish), leave ``out`` as it was, tell the
    manager (log, artifact, the ``localize.episode.held`` event). Returns the draft's path."""
    draft = held_dir(Path(out_dir))
    publish_episode(
        draft,
        series=series,
        episode=episode,
        source=source,
        targets=targets,
        qc_json=report.to_json(),
        extra_writers=(report_writer(report, series, episode, source, dubs),),
        extra={"held": {"qc_errors": report.error_count, "out_dir": str(out_dir)}},
    )
    message = held_message(report.error_count, draft.absolute())
    get_run_logger().warning("%s", message)
    create_markdown_artifact(
        f"**{escape_markdown(episode)} is held, not published.** {escape_markdown(message)}. "
        f"QC report: {code_span(str(draft.absolute() / 'report.html'))}.",
        key=f"held-{_slug(episode)}",
        description=f"{escape_markdown(episode)} was held: QC has errors and there was no review",
    )
    emit_held_event(series, episode, report, draft, Path(out_dir))
    return str(draft)


def emit_held_event(
    series: str, episode: str, report: QCReport, draft: Path, out_dir: Path
) -> None:
    """The Prefect event automations notify on (related: this flow and task run)."""
    emit_event(
        event=HELD_EVENT,
        resource={
            "prefect.resource.id": f"localize.episode.{series}.{episode}",
            "prefect.resource.name": f"{series}/{episode}",
            "localize.series": series,
            "localize.episode": episode,
        },
        payload={
            "qc_errors": report.error_count,
            "qc_warnings": report.warning_count,
            "draft": str(draft.absolute()),
            "report": str(draft.absolute() / "report.html"),
            "out_dir": str(out_dir.absolute()),
        },
    )


# ---------------------------------------------------------------------------- review
def publish_draft(
    episode: str,
    source: CueTrack,
    targets: dict[str, CueTrack],
    report: QCReport,
    round_: int,
    files: Path | None = None,
) -> None:
    """The whole draft as a table artifact (searchable, paged) and a QC summary; with
    ``files``, also as SRT and XLIFF files there for offline review."""
    rows = []
    flags_by_cue = report.flags_by_cue()
    if files is not None:
        write_review_draft(files, episode, source, targets, flags_by_cue)
    speakers = cue_speakers(source, targets)
    for i, cue in enumerate(source.cues, 1):
        row: dict[str, Any] = {
            "index": i,
            "time": f"{format_clock(cue.start_ms)} - {format_clock(cue.end_ms)}",
            # table cells render as Markdown in the UI: subtitle text is shown as text
            source.language: escape_markdown(cue.text, newline=" "),
        }
        for lang, track in targets.items():
            row[lang] = escape_markdown(track.cues[i - 1].text)
        if speakers:
            row["speaker"] = escape_markdown(speakers[i - 1])
        row["qc"] = escape_markdown("; ".join(flags_by_cue.get(i, [])))
        rows.append(row)
    create_table_artifact(
        rows,
        key=f"draft-{_slug(episode)}",
        description=f"Draft of {escape_markdown(episode)}, review round {round_}: source, "
        "translations, QC flags",
    )
    create_markdown_artifact(
        report.to_markdown(),
        key=f"qc-{_slug(episode)}",
        description=f"QC report for {escape_markdown(episode)}",
    )


def _review_description(
    episode: str, targets: list[str], report: QCReport, error: str, files: Path
) -> str:
    lines = [
        f"## Review of {escape_markdown(episode)}",
        "",
        f"The draft is in the **Artifacts** tab (`draft-{_slug(episode)}`): every cue with its "
        f"source, the {escape_markdown(', '.join(targets))} translation and QC flags.",
        "",
        f"QC: **{'passes' if report.ok else 'has errors'}** "
        f"({report.error_count} errors, {report.warning_count} warnings).",
        "",
        "Write corrections one per line as `INDEX | new text` "
        f"(or `LANG:INDEX | new text`; first language is {targets[0]}). "
        "`INDEX | @Name` says who speaks the cue (the **speaker** column): the dub gives "
        "it that character's voice and the series learns the voice.",
        "",
        f"Offline: the draft is also in {code_span(str(files.absolute()))} as SRT and XLIFF; "
        "edit the text and paste the whole file into the corrections, or send it with "
        f"{code_span('localize review submit RUN_ID --file FILE --decision approve')}.",
    ]
    if error:
        lines += ["", f"**Your last input was not applied:** {escape_markdown(error)}"]
    return "\n".join(lines)


def _run_address() -> str:
    """Where a translator finds this run: its page in the Prefect UI when the UI's
    address is known, else its name."""
    from prefect.settings import PREFECT_UI_URL

    run = getattr(get_run_context(), "flow_run", None)
    if run is None:
        return "the paused run in the Prefect UI"
    ui = PREFECT_UI_URL.value()
    if ui:
        return f"{ui.rstrip('/')}/runs/flow-run/{run.id} (the run '{run.name}')"
    return f"the run '{run.name}' in the Prefect UI"


def _in_deployment() -> bool:
    ctx = get_run_context()
    flow_run = getattr(ctx, "flow_run", None)
    return bool(flow_run and flow_run.deployment_id)


def run_review(
    episode: str,
    source: CueTrack,
    targets: dict[str, CueTrack],
    report: QCReport,
    params: EpisodeParams,
    requalify: Callable[[dict[str, CueTrack]], QCReport],
    out_dir: Path,
) -> tuple[dict[str, CueTrack], QCReport, ReviewHistory]:
    """Pause (or suspend, when deployed) until a translator approves or rejects.

    Invalid corrections change nothing and the form is shown again with the reason.
    """
    logger = get_run_logger()
    history: list[Any] = []
    error = ""
    timeout = int(params.review_timeout_hours * 3600)
    for attempt in range(1, 3 * MAX_REVIEW_ROUNDS + 1):
        round_ = len(history) + 1
        if round_ > MAX_REVIEW_ROUNDS:
            break
        files = review_draft_dir(out_dir)
        publish_draft(episode, source, targets, report, round_, files)
        page = offer_review_page(episode, params, report, round_, error)
        form = ReviewInput.with_initial_data(
            description=_review_description(episode, list(targets), report, error, files) + page,
        )
        key = f"review-{attempt}"
        if _in_deployment():
            # holds no process while the translator takes days; the flow re-runs from
            # the top on resume and its cached tasks return at once
            answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
        else:
            answer = pause_flow_run(wait_for_input=form, timeout=timeout, key=key, poll_interval=2)
        try:
            edits = read_corrections(answer.edits, targets, source)
        except ReviewInputError as exc:
            error = exc.message
            logger.warning("review input rejected: %s", exc.message)
            continue
        error = ""
        targets, changes = apply_corrections(targets, edits)
        record = make_record(answer.decision, answer.reviewer, answer.notes, round_, changes)
        history.append(record)
        logger.info(
            "review round %d by %s: %s, %d edits",
            round_,
            record.reviewer,
            record.decision,
            len(changes),
        )
        report = requalify(targets)
        if record.decision in ("approve", "reject"):
            remove_review_draft(files)
        if record.decision == "reject":
            raise ReviewRejected(
                f"{episode} was rejected by {record.reviewer}: {record.notes or 'no notes'}",
                "nothing was published; fix the source material or the glossary and run again",
            )
        if record.decision == "approve":
            return targets, report, ReviewHistory(tuple(history))
    raise ReviewRejected(
        f"{episode}: no approval after {MAX_REVIEW_ROUNDS} review rounds",
        "start a new run when the translation is ready to approve",
    )


class ReviewRejected(LocalizeError):
    """The reviewer rejected the episode (or never approved it)."""


# ----------------------------------------------------------------------------- flow
@dataclass(frozen=True)
class EpisodeResult:
    out_dir: str
    files: list[str]
    qc_ok: bool
    review: str  # "approved", "skipped"
    flagged_cues: int
    #: the draft folder when the episode was held (QC errors, no review), else ""
    held: str = ""
    qc_errors: int = 0


@flow(name="localize-episode", log_prints=True, persist_result=True, result_serializer=RESULTS)
def localize_episode(params: EpisodeParams) -> EpisodeResult:
    """Localize one episode: subtitles in every target language, reviewed and packaged."""
    logger = get_run_logger()
    video = Path(params.video).expanduser()
    episode = video.stem
    glossary_path = resolve_glossary_path(params.series)
    glossary: Glossary = load_glossary(glossary_path)
    series_id = glossary.series.id
    out_dir = Path(params.out_dir) if params.out_dir else output_root() / series_id / episode
    languages = choose_targets(params.targets, glossary, dub=params.dub)
    check_locations(out_dir, may_hold=not params.review and params.on_qc_errors == HOLD)
    logger.info("localizing %s (%s) into %s", episode, series_id, ", ".join(languages))
    job = progress.current_job() or episode  # a catalog run names it series/episode
    work_dir = str(episode_work_dir(series_id, episode))

    with progress.stage("probe", job=job):
        info, content_hash = probe_task(str(video), episode)
    sources = SourceStages.for_episode(params.source, info)
    progress.plan(
        job,
        stage_plan(params, languages, sources, has_video=info.has_video),
        media_s=info.duration_ms / 1000,
        weights={"translate": (0.0, 0.5)} if params.mt_backend == "fake" else None,
    )
    asr, asr_error = None, None
    if sources.asr:
        with progress.stage("transcribe", job=job, total=info.duration_ms / 1000, unit="s"):
            asr, asr_error = _speech(
                params, str(video), content_hash, episode, str(glossary_path), glossary.version,
                may_fail=sources.tolerates_asr_failure(),
            )  # fmt: skip
    ocr = None
    if sources.ocr:
        with progress.stage("ocr", job=job):
            ocr = ocr_task(str(video), content_hash, episode, params.caption_band)
    choice = choose_source(params.source, asr=asr, ocr=ocr, asr_error=asr_error)
    for note in choice.notes:
        logger.warning("%s", note)
    source = choice.track
    source_flags = {source.language: list(choice.flags)}
    logger.info("Chinese subtitles from %s: %d cues", choice.origin, len(source.cues))

    memory = TranslationMemory(series_memory_path(series_id))
    translated = {}
    for target in languages:
        with progress.stage(f"translate {target}", job=job):
            translated[target] = translate_task(
                source, target, episode, params.mt_backend, params.mt_model,
                str(glossary_path), glossary.version, series_id,
                memory.approved_digest([c.text for c in source.cues], target),
                compute_threads=params.compute_threads, endpoint=params.mt_endpoint,
                key_env=params.mt_api_key_env, key_secret=params.mt_api_key_secret,
            )  # fmt: skip
    targets = {lang: track for lang, (track, _, _) in translated.items()}
    outcomes = {lang: out for lang, (_, out, _) in translated.items()}
    mt_usage = {lang: usage for lang, (_, _, usage) in translated.items() if usage}
    # fix what the pipeline can fix safely (timing); QC flags what remains
    timed = repair_episode_timing(
        source, targets, outcomes, source_flags,
        media_duration_ms=info.duration_ms, enabled=params.timing_repairs,
    )  # fmt: skip
    source, targets, outcomes = timed.source, timed.targets, timed.outcomes
    source_flags = timed.flags
    logger.info("%s before QC", describe_repairs(timed.repairs))

    if params.dub and params.speakers:
        with progress.stage("speakers", job=job):
            targets = speakers_task(str(video), episode, targets, str(glossary_path))
    qc_of = (str(glossary_path), info.duration_ms, outcomes, timed.repairs)
    qc = functools.partial(_qc, qc_task, episode, source, qc_of)
    with progress.stage("qc", job=job):
        report = qc(targets, extra_flags=source_flags)
    logger.info("QC: %d errors, %d warnings", report.error_count, report.warning_count)

    history: ReviewHistory | None = None
    if params.review:
        with progress.stage("review", job=job):
            progress.note(f"waiting for a translator: open {_run_address()}", job=job)
            recheck = functools.partial(_qc, qc_task.fn, episode, source, qc_of)
            targets, report, history = run_review(
                episode, source, targets, report, params,
                functools.partial(recheck, extra_flags=source_flags), out_dir,
            )  # fmt: skip
        remember_approved(
            TranslationMemory(series_memory_path(series_id)), targets, history, episode=episode
        )
    else:
        publish_draft(episode, source, targets, report, 0)

    dubs = [
        _dub(params, lang, str(video), content_hash, episode, targets[lang],
             str(glossary_path), glossary.version, info.duration_ms, work_dir, job,
             reviewed=history is not None)
        for lang in params.dub
    ]  # fmt: skip
    pictures: list[PictureFile] = []
    picture_flags: dict[str, list[Flag]] = {}
    if wants_pictures(params, has_video=info.has_video):
        with progress.stage("pictures", job=job):
            pictures, picture_flags = picture_task(
                str(video), episode, params.clean,
                {lang: targets[lang] for lang in params.burn if lang in targets},
                source, ocr, work_dir, params.burn_style,
            )  # fmt: skip
    if dubs or picture_flags:  # the dubs' and the read-back's flags join the report
        dub_flags = {d.language: list(d.flags) for d in dubs}
        report = qc(targets, extra_flags=merge_flags(source_flags, dub_flags, picture_flags))

    decision = "approved" if history is not None else "skipped"
    if must_hold(params.on_qc_errors, reviewed=history is not None, qc_errors=report.error_count):
        with progress.stage("package", job=job):
            draft = hold_task(str(out_dir), series_id, episode, source, targets, report, dubs)
        return EpisodeResult(
            out_dir=str(out_dir),
            files=[],
            qc_ok=False,
            review=decision,
            flagged_cues=len(report.flags_by_cue()),
            held=draft,
            qc_errors=report.error_count,
        )
    with progress.stage("package", job=job):
        manifest = package_task(
            str(out_dir), series_id, episode, source, targets, report, history, dubs,
            str(video) if info.has_video else None,
            drop=params.drop_languages,
            numerics=run_numerics(params, asr=sources.asr),
            produced_with=produced_with(params, choice.origin, glossary.version),
            mt_usage=mt_usage,
            pictures=pictures,
        )  # fmt: skip
    return EpisodeResult(
        out_dir=str(out_dir),
        files=[f.path for f in manifest.files],
        qc_ok=report.ok,
        review=decision,
        flagged_cues=len(report.flags_by_cue()),
        qc_errors=report.error_count,
    )


def _qc(
    run: Callable[..., QCReport],
    episode: str,
    source: CueTrack,
    inputs: tuple[str, int, dict[str, list[LineOutcome]], tuple[TimingRepair, ...]],
    targets: dict[str, CueTrack],
    extra_flags: dict[str, list[Flag]],
) -> QCReport:
    """QC of ``targets`` through ``run``: :func:`qc_task` (a task run) or its ``fn`` (inside
    the review loop, which re-checks every round)."""
    glossary_path, duration_ms, outcomes, repairs = inputs
    return run(episode, source, targets, glossary_path, duration_ms, outcomes, extra_flags, repairs)


def _speech(
    params: EpisodeParams,
    video: str,
    content_hash: str,
    episode: str,
    glossary_path: str,
    glossary_version: str,
    *,
    may_fail: bool,
) -> tuple[tuple[CueTrack, Transcript] | None, TranscriptionError | None]:
    """Speech recognition's result, or (when the captions may still carry the episode)
    its failure, for :func:`~localize.pipeline.choose_source` to decide on."""
    try:
        return transcribe_task(
            video, content_hash, episode, params.asr_model, glossary_path, glossary_version,
            params.language_check, compute_threads=params.compute_threads,
        ), None  # fmt: skip
    except TranscriptionError as exc:
        if not may_fail:
            raise
        return None, exc


def _dub(
    params: EpisodeParams,
    language: str,
    video: str,
    content_hash: str,
    episode: str,
    track: CueTrack,
    glossary_path: str,
    glossary_version: str,
    duration_ms: int,
    work_dir: str,
    job: str,
    *,
    reviewed: bool,
) -> DubSummary:
    """One language's dub (cached), redone if the cached audio was since changed."""
    args = (
        video, content_hash, episode, language, track, glossary_path, glossary_version,
        params.tts, params.music_stem, duration_ms, work_dir,
    )  # fmt: skip
    with progress.stage(f"dub {language}", job=job):
        dub = dub_task(*args, reviewed=reviewed)
        if not dub.intact():  # the cached result's audio was rewritten or removed
            get_run_logger().warning("%s changed since it was cached; dubbing again", dub.m4a)
            dub = dub_task.with_options(refresh_cache=True)(*args, reviewed=reviewed)
    return dub


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "episode"
