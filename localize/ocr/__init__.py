"""OCR of burned-in (hard) Chinese captions, and fusion with speech recognition.

Most micro-dramas ship with the producer's Chinese captions burned into the picture;
reading them back gives the exact script with frame-exact timing, usually better than
speech recognition. The stage:

1. :func:`find_caption_band` locates the captions (any aspect ratio, no fixed
   position assumed; titles, logos and watermarks are ignored because they never
   change) - or the user gives a :class:`CaptionBand`;
2. :func:`ocr_video` decodes only that band, runs OCR only when its content changes,
   and returns an :class:`OcrResult`: a zh-Hans :class:`~localize.domain.CueTrack`,
   per-caption confidences, a ``no_captions`` flag and a clean-video hint (band +
   event times) for a later caption-removal step;
3. :func:`fuse` combines the captions with ASR: captions win where they exist,
   speech fills uncaptioned dialogue, disagreements become :class:`Conflict` entries.

Models: rapidocr's PP-OCR detection and recognition ONNX models, shipped inside the
``rapidocr`` wheel and run by onnxruntime (see :class:`RapidOcrReader`).
"""

from localize.ocr.band import (
    BandSearch,
    CaptionBand,
    OcrError,
    find_caption_band,
    search_caption_band,
)
from localize.ocr.engine import RapidOcrReader, TextBox, TextReader
from localize.ocr.fusion import Conflict, FusionMode, FusionResult, fuse
from localize.ocr.scan import (
    OCR_LANGUAGE,
    OcrEvent,
    OcrOptions,
    OcrResult,
    OcrStats,
    benchmark,
    ocr_video,
)

__all__ = [
    "OCR_LANGUAGE",
    "BandSearch",
    "CaptionBand",
    "Conflict",
    "FusionMode",
    "FusionResult",
    "OcrError",
    "OcrEvent",
    "OcrOptions",
    "OcrResult",
    "OcrStats",
    "RapidOcrReader",
    "TextBox",
    "TextReader",
    "benchmark",
    "find_caption_band",
    "fuse",
    "ocr_video",
    "search_caption_band",
]
