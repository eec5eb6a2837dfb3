"""Export-ready pictures: a clean master without the burned-in Chinese captions
(:mod:`~localize.picture.clean`), one rendition per language with its subtitles
burned in (:mod:`~localize.picture.burn`), and checks that read both back with OCR
(:mod:`~localize.picture.check`)."""

from localize.picture.burn import BurnReport, BurnStyle, SafeArea, burn_subtitles
from localize.picture.clean import CaptionSpans, CleanReport, clean_video, find_caption_spans
from localize.picture.errors import (
    DiskFullError,
    EncodeError,
    MissingGlyphError,
    PictureError,
    SubtitleTimingError,
)
from localize.picture.fill import FILLERS, Filler, build_filler, caption_mask

__all__ = [
    "FILLERS",
    "BurnReport",
    "BurnStyle",
    "CaptionSpans",
    "CleanReport",
    "DiskFullError",
    "EncodeError",
    "Filler",
    "MissingGlyphError",
    "PictureError",
    "SafeArea",
    "SubtitleTimingError",
    "build_filler",
    "burn_subtitles",
    "caption_mask",
    "clean_video",
    "find_caption_spans",
]
