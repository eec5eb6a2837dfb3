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
from localize.domain import CueTrack, Transcript
from localize.errors import LocalizeError, TranscriptionError
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
from localize.models import localize_home, output_root, sha256_file
from localize.numerics import DEFAULT_COMPUTE_THREADS
from localize.ocr import OcrResult
from localize.package import ExtraWriter, Manifest, publish_episode, published_languages
from localize.picture.episode import PictureFile
from localize.pipeline import choose_source, choose_targets, transcribe_to_cues
from localize.pool import ModelPool
from localize.qc import Flag, QCReport, build_report
from localize.report import DubLine, render_html
from localize.review import (
    ReviewHistory,
    ReviewInputError,
    apply_corrections,
    make_record,
    parse_corrections,
)
from localize.segment import load_style_profile
from localize.series import resolve_glossary_path
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
    is never a parameter (parameters are stored and shown by Prefect)."""
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


def _synthesizer_name(language: str, choice: str) -> str:
    if choice != "auto":
        return choice
    return "piper" if language == "en" else "espeak"


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
) -> DubSummary:
    from localize.dub import assign_voices, create_synthesizer, dub_track, overrun_flags

    logger = get_run_logger()
    glossary = load_glossary(Path(glossary_path))
    synthesizer = create_synthesizer(_synthesizer_name(language, tts))
    voices = assign_voices(glossary, language, synthesizer=synthesizer)
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
    lines = tuple(
        DubLine(c.cue_index + 1, c.text, c.stretch, c.borrowed_ms, c.overrun_ms)
        for c in result.clips
    )
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
    )
    get_run_logger().info(
        "pictures: %s; %d read-back flags", ", ".join(f.rel for f in files) or "none",
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
            "qc": {
                "ok": report.ok,
                "errors": report.error_count,
                "warnings": report.warning_count,
                "cues": report.cue_count,
            },
            "review": (
                {
                    "decision": review.rounds[-1].decision,
                    "reviewer": review.rounds[-1].reviewer,
                    "at": review.rounds[-1].at,
                    "rounds": len(review.rounds),
                    "edits": sum(len(r.edits) for r in review.rounds),
                }
                if review and review.rounds
                else None
            ),
            "qc_ok": report.ok,
            "localize_version": __version__,
            "numerics": numerics,
            "dubs": [
                {
                    "language": d.language,
                    "integrated_lufs": d.integrated_lufs,
                    "true_peak_dbtp": d.true_peak_dbtp,
                    "bed": d.bed,
                }
                for d in dubs or []
            ],
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
    episode: str, source: CueTrack, targets: dict[str, CueTrack], report: QCReport, round_: int
) -> None:
    """The whole draft as a table artifact (searchable, paged) and a QC summary."""
    rows = []
    flags_by_cue = report.flags_by_cue()
    for i, cue in enumerate(source.cues, 1):
        row: dict[str, Any] = {
            "index": i,
            "time": f"{_clock(cue.start_ms)} - {_clock(cue.end_ms)}",
            # table cells render as Markdown in the UI: subtitle text is shown as text
            source.language: escape_markdown(cue.text, newline=" "),
        }
        for lang, track in targets.items():
            row[lang] = escape_markdown(track.cues[i - 1].text)
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


def _review_description(episode: str, targets: list[str], report: QCReport, error: str) -> str:
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
        f"(or `LANG:INDEX | new text`; first language is {targets[0]}).",
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
    requalify: Any,
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
        publish_draft(episode, source, targets, report, round_)
        page = offer_review_page(episode, params, report, round_, error)
        form = ReviewInput.with_initial_data(
            description=_review_description(episode, list(targets), report, error) + page,
        )
        key = f"review-{attempt}"
        if _in_deployment():
            # holds no process while the translator takes days; the flow re-runs from
            # the top on resume and its cached tasks return at once
            answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
        else:
            answer = pause_flow_run(wait_for_input=form, timeout=timeout, key=key, poll_interval=2)
        try:
            edits = parse_corrections(answer.edits, targets)
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

    with progress.stage("probe", job=job):
        info, content_hash = probe_task(str(video), episode)
    want_asr = params.source != "ocr" and info.has_audio
    want_ocr = params.source != "asr" and info.has_video
    progress.plan(
        job,
        [
            *(["transcribe"] if want_asr else []),
            *(["ocr"] if want_ocr else []),
            *(f"translate {t}" for t in languages),
            "qc",
            *(["review"] if params.review else []),
            *(f"dub {lang}" for lang in params.dub),
            *(["pictures"] if params.clean != "none" or params.burn else []),
            "package",
        ],
        media_s=info.duration_ms / 1000,
        weights={"translate": (0.0, 0.5)} if params.mt_backend == "fake" else None,
    )
    asr = None
    asr_error: TranscriptionError | None = None
    if want_asr:
        with progress.stage("transcribe", job=job, total=info.duration_ms / 1000, unit="s"):
            try:
                asr = transcribe_task(
                    str(video),
                    content_hash,
                    episode,
                    params.asr_model,
                    str(glossary_path),
                    glossary.version,
                    params.language_check,
                    compute_threads=params.compute_threads,
                )
            except TranscriptionError as exc:
                if not want_ocr:
                    raise
                # fused: the captions may still carry the episode (speech the detector
                # takes for another language, say); decided once OCR has run
                asr_error = exc
    ocr = None
    if want_ocr:
        with progress.stage("ocr", job=job):
            ocr = ocr_task(str(video), content_hash, episode, params.caption_band)
    if asr_error is not None:
        if ocr is None or ocr.no_captions:
            raise asr_error
        logger.warning(
            "speech recognition failed (%s); the subtitles come from the captions alone",
            asr_error.message,
        )
    choice = choose_source(params.source, asr=asr, ocr=ocr)
    for note in choice.notes:
        logger.warning("%s", note)
    source = choice.track
    source_flags = {source.language: list(choice.flags)}
    logger.info("Chinese subtitles from %s: %d cues", choice.origin, len(source.cues))
    translated: dict[str, tuple[CueTrack, list[LineOutcome], dict[str, int] | None]] = {}
    memory = TranslationMemory(series_memory_path(series_id))
    for target in languages:
        with progress.stage(f"translate {target}", job=job):
            translated[target] = translate_task(
                source,
                target,
                episode,
                params.mt_backend,
                params.mt_model,
                str(glossary_path),
                glossary.version,
                series_id,
                memory.approved_digest([c.text for c in source.cues], target),
                compute_threads=params.compute_threads,
                endpoint=params.mt_endpoint,
                key_env=params.mt_api_key_env,
                key_secret=params.mt_api_key_secret,
            )
    targets = {lang: track for lang, (track, _, _) in translated.items()}
    outcomes = {lang: out for lang, (_, out, _) in translated.items()}
    mt_usage = {lang: usage for lang, (_, _, usage) in translated.items() if usage}
    with progress.stage("qc", job=job):
        report = qc_task(
            episode, source, targets, str(glossary_path), info.duration_ms, outcomes, source_flags
        )
    logger.info("QC: %d errors, %d warnings", report.error_count, report.warning_count)

    history: ReviewHistory | None = None
    decision = "skipped"
    if params.review:

        def requalify(new_targets: dict[str, CueTrack]) -> QCReport:
            return qc_task.fn(
                episode,
                source,
                new_targets,
                str(glossary_path),
                info.duration_ms,
                outcomes,
                source_flags,
            )

        with progress.stage("review", job=job):
            progress.note(f"waiting for a translator: open {_run_address()}", job=job)
            targets, report, history = run_review(
                episode, source, targets, report, params, requalify
            )
        decision = "approved"
        memory = TranslationMemory(series_memory_path(series_id))
        final = history.rounds[-1]
        for lang, track in targets.items():
            memory.approve(
                [(cue.source or "", cue.text.replace("\n", " ")) for cue in track.cues],
                lang,
                who=final.reviewer,
                episode=episode,
            )
    else:
        publish_draft(episode, source, targets, report, 0)

    dubs = []
    for lang in params.dub:
        dub_args = (
            str(video),
            content_hash,
            episode,
            lang,
            targets[lang],
            str(glossary_path),
            glossary.version,
            params.tts,
            params.music_stem,
            info.duration_ms,
            str(episode_work_dir(series_id, episode)),
        )
        with progress.stage(f"dub {lang}", job=job):
            dub = dub_task(*dub_args)
            if not dub.intact():  # the cached result's audio was rewritten or removed
                logger.warning("%s changed since it was cached; dubbing again", dub.m4a)
                dub = dub_task.with_options(refresh_cache=True)(*dub_args)
        dubs.append(dub)
    if dubs:
        extra = {**source_flags, **{d.language: list(d.flags) for d in dubs}}
        report = qc_task(
            episode, source, targets, str(glossary_path), info.duration_ms, outcomes, extra
        )
    pictures: list[PictureFile] = []
    if info.has_video and (params.clean != "none" or params.burn):
        with progress.stage("pictures", job=job):
            pictures, picture_flags = picture_task(
                str(video),
                episode,
                params.clean,
                {lang: targets[lang] for lang in params.burn if lang in targets},
                source,
                ocr,
                str(episode_work_dir(series_id, episode)),
            )
        if picture_flags:
            extra = {lang: list(flags) for lang, flags in source_flags.items()}
            for dub in dubs:
                extra.setdefault(dub.language, []).extend(dub.flags)
            for lang, flags in picture_flags.items():
                extra.setdefault(lang, []).extend(flags)
            report = qc_task(
                episode, source, targets, str(glossary_path), info.duration_ms, outcomes, extra
            )
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
            str(out_dir),
            series_id,
            episode,
            source,
            targets,
            report,
            history,
            dubs,
            str(video) if info.has_video else None,
            drop=params.drop_languages,
            numerics=run_numerics(params, asr=want_asr),
            produced_with={
                "source": choice.origin,
                "glossary": glossary.version,
                "mt_backend": params.mt_backend,
                "mt_model": params.mt_model,
                "localize": __version__,
            },
            mt_usage=mt_usage,
            pictures=pictures,
        )
    flagged = len(report.flags_by_cue())
    return EpisodeResult(
        out_dir=str(out_dir),
        files=[f.path for f in manifest.files],
        qc_ok=report.ok,
        review=decision,
        flagged_cues=flagged,
        qc_errors=report.error_count,
    )


def _clock(ms: int) -> str:
    return f"{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "episode"
