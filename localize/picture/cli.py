"""``localize clean`` and ``localize burn``: the picture commands of the CLI."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from localize.picture.defaults import DEFAULT_CRF, DEFAULT_PRESET


def _encoding_options(p: argparse.ArgumentParser, crf_help: str) -> None:
    p.add_argument("--preset", default=DEFAULT_PRESET, help=f"x264 preset ({DEFAULT_PRESET})")
    p.add_argument("--crf", type=int, default=None, help=f"x264 CRF ({crf_help})")
    p.add_argument("--threads", type=int, default=0, help="x264 threads (0 = automatic)")
    p.add_argument(
        "--check", action="store_true", help="read the result back with OCR; exit 1 if it fails"
    )


def add_commands(sub: Any) -> None:
    """Add ``clean`` and ``burn`` to the ``localize`` subcommands."""
    p = sub.add_parser("clean", help="remove the burned-in Chinese captions (a clean master)")
    p.add_argument("video")
    p.add_argument("--out", required=True, help="the clean master to write (.mp4)")
    p.add_argument(
        "--method", default="inpaint", help="inpaint (default), blur, box or a plug-in's name"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--captions", help="the burned-in captions as SRT/VTT (times)")
    where.add_argument("--hint", help="the JSON of `localize ocr --hint` (band and frames)")
    p.add_argument("--caption-band", help="caption band TOP,BOTTOM fractions (with --captions)")
    _encoding_options(
        p,
        f"default: chosen per video by a probe encode, {DEFAULT_CRF} or lower where "
        "detailed moving scenery needs it to keep the picture",
    )
    p.set_defaults(handler=cmd_clean)

    p = sub.add_parser("burn", help="burn one language's subtitles into the picture")
    p.add_argument("video", help="the picture to burn into, usually the clean master")
    p.add_argument("subtitles", help="the subtitles (SRT/VTT)")
    p.add_argument("--out", required=True, help="the rendition to write (.mp4)")
    p.add_argument("--language", default="", help="language of the subtitles (default: file's)")
    p.add_argument(
        "--style",
        default="",
        help="KEY=VALUE,... of font, size (share of height), colour, outline_colour, "
        "outline, box (1, 0 or auto: a dark box when the picture behind the text is busy, "
        "the default), bottom (share of height)",
    )
    p.add_argument(
        "--caption-band", help="where the Chinese captions were (TOP,BOTTOM): text goes there"
    )
    p.add_argument("--hint", help="the JSON of `localize ocr --hint`: its band sets the position")
    _encoding_options(p, str(DEFAULT_CRF))
    p.set_defaults(handler=cmd_burn)


def _spans(args: argparse.Namespace) -> Any:
    from localize.ocr.band import CaptionBand, search_caption_band
    from localize.picture.clean import CaptionSpans
    from localize.picture.frames import geometry

    if args.hint:
        return CaptionSpans.from_hint(json.loads(Path(args.hint).read_text(encoding="utf-8")))
    if not args.captions:
        return None
    from localize.media import probe
    from localize.subtitles import read_subtitles

    track = read_subtitles(Path(args.captions))
    band = CaptionBand.parse(args.caption_band) if args.caption_band else None
    if band is None:
        band = search_caption_band(probe(args.video)).band
    return CaptionSpans.from_track(track, band, geometry(args.video).fps)


def cmd_clean(args: argparse.Namespace) -> int:
    from localize.picture.clean import clean_video

    report = clean_video(
        args.video,
        args.out,
        method=args.method,
        spans=_spans(args),
        preset=args.preset,
        crf=args.crf,
        threads=args.threads,
    )
    if report.note:
        print(f"note: {report.note}", file=sys.stderr)
    print(
        f"wrote {report.out}: {report.frames} frames, {report.caption_frames} with captions "
        f"repainted ({report.method}) in {report.seconds:.1f} s"
        + (f", x264 CRF {report.crf}" if report.crf is not None else "")
    )
    if not args.check or report.spans.empty:
        return 0
    from localize.picture.check import MAX_RESIDUAL, MIN_PSNR_DB, check_clean

    check = check_clean(args.video, args.out, report.spans)
    print(
        f"check: residual Chinese {check.residual:.1%} (<= {MAX_RESIDUAL:.0%}), PSNR outside "
        f"the band {check.min_psnr_db:.1f} dB worst frame (>= {MIN_PSNR_DB:g})"
    )
    for flag in check.flags():
        print(f"  event {flag.index}: {flag.label}")
    return 0 if check.ok else 1


def cmd_burn(args: argparse.Namespace) -> int:
    from localize.ocr.band import CaptionBand
    from localize.picture.burn import BurnStyle, burn_subtitles

    band = CaptionBand.parse(args.caption_band) if args.caption_band else None
    if band is None and args.hint:
        hinted = json.loads(Path(args.hint).read_text(encoding="utf-8")).get("band")
        band = CaptionBand(**hinted) if hinted else None
    report = burn_subtitles(
        args.video,
        Path(args.subtitles),
        args.out,
        language=args.language,
        style=BurnStyle.parse(args.style),
        band=band,
        preset=args.preset,
        crf=DEFAULT_CRF if args.crf is None else args.crf,
        threads=args.threads,
    )
    print(
        f"wrote {report.out}: {len(report.cues)} {report.language} cues in {report.font.family} "
        f"{report.size_px} px, {report.style_note}"
        + (f", {len(report.shrunk)} shrunk to fit" if report.shrunk else "")
    )
    if not args.check:
        return 0
    from localize.picture.check import check_burned

    check = check_burned(str(report.out), report)
    print(f"check: {len(check.cues)} cues read back, mean CER {check.mean_cer:.1%}")
    for flag in check.flags():
        print(f"  cue {flag.index}: {flag.label}")
    return 0 if check.ok else 1
