"""Export-ready pictures: a clean master without the burned-in Chinese captions
(:mod:`~localize.picture.clean`), one rendition per language with its subtitles
burned in (:mod:`~localize.picture.burn`), and checks that read both back with OCR
(:mod:`~localize.picture.check`).

Names are imported on first use, so ``localize --help`` (which loads
:mod:`localize.picture.cli`) does not pay for numpy and OpenCV.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BurnReport": "burn",
    "BurnStyle": "burn",
    "SafeArea": "burn",
    "burn_subtitles": "burn",
    "CaptionSpans": "clean",
    "CleanReport": "clean",
    "clean_video": "clean",
    "find_caption_spans": "clean",
    "DiskFullError": "errors",
    "EncodeError": "errors",
    "MissingGlyphError": "errors",
    "PictureError": "errors",
    "SubtitleTimingError": "errors",
    "FILLERS": "fill",
    "Filler": "fill",
    "build_filler": "fill",
    "caption_mask": "fill",
    "check_burned": "check",
    "check_clean": "check",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'localize.picture' has no attribute {name!r}")
    return getattr(importlib.import_module(f"localize.picture.{_EXPORTS[name]}"), name)
