"""Text reading backends for OCR: a small protocol and the rapidocr implementation.

The rest of :mod:`localize.ocr` only needs "give me the text lines in this image,
with boxes and confidences", so the backend hides behind :class:`TextReader`. The
default, :class:`RapidOcrReader`, runs PP-OCR detection + recognition models that ship
inside the ``rapidocr`` wheel through onnxruntime: nothing is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from localize.errors import ModelError

Image = npt.NDArray[np.uint8]

#: a recognised line must hold at least one letter, digit or CJK character
_WORDY = re.compile(r"[^\W_]", re.UNICODE)
#: what vertical stripes (lit windows, railings, fences) are read as
_STRIPES = re.compile(r"[\sIl1|!ıiⅠⅡⅢ.:·'\-_]+")


@dataclass(frozen=True)
class TextBox:
    """One line of text found in an image: its box in pixels, its text and confidence."""

    left: float
    top: float
    right: float
    bottom: float
    text: str
    score: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def center_y(self) -> float:
        return (self.top + self.bottom) / 2

    def scaled(self, sx: float, sy: float) -> TextBox:
        """The same box with x multiplied by ``sx`` and y by ``sy`` (e.g. to fractions)."""
        return TextBox(
            self.left * sx, self.top * sy, self.right * sx, self.bottom * sy, self.text, self.score
        )


class TextReader(Protocol):
    """Finds and reads the text lines of one image (gray ``(h, w)`` or BGR ``(h, w, 3)``)."""

    def read(self, image: Image) -> list[TextBox]: ...


class RapidOcrReader:
    """PP-OCR (rapidocr + onnxruntime) with the models bundled in the wheel.

    ``max_side`` caps the side length the detector works at (larger images are shrunk
    for detection only; recognition always reads the original pixels): 640 keeps a
    full frame at ~0.2 s while captions stay ~20 px high for the detector. ``threads``
    0 lets onnxruntime use every core; 1 wastes the least CPU on small images (more
    threads mostly spin-wait). The text-direction classifier is off: captions are
    never upside down.
    Build one reader and pass it to every call; the models load on first use.
    """

    def __init__(self, *, max_side: int = 640, threads: int = 1, min_score: float = 0.5) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # a core dependency, so this means a broken install
            raise ModelError(
                f"cannot import rapidocr ({exc})",
                "install the OCR dependencies: pip install 'rapidocr>=3.10,<4' onnxruntime "
                "opencv-python-headless",
                model="rapidocr",
            ) from exc
        params: dict[str, Any] = {
            # "error": rapidocr warns on every image without text, i.e. most frames
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.text_score": min_score,
            "Det.limit_type": "max",
            "Det.limit_side_len": max_side,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads if threads > 0 else -1,
        }
        try:
            self._engine = RapidOCR(params=params)
        except Exception as exc:  # rapidocr raises bare Exceptions for missing model files
            raise ModelError(
                f"cannot set up rapidocr: {exc}",
                "reinstall it (pip install --force-reinstall 'rapidocr>=3.10,<4'); its "
                "models ship inside the wheel",
                model="rapidocr",
            ) from exc

    def read(self, image: Image) -> list[TextBox]:
        if image.ndim == 2:  # the PP-OCR models take 3 channels
            image = np.repeat(image[:, :, None], 3, axis=2)
        result = self._engine(np.ascontiguousarray(image), use_cls=False)
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if boxes is None or texts is None or scores is None:
            return []
        out: list[TextBox] = []
        for points, text, score in zip(boxes, texts, scores, strict=True):
            xs = [float(p[0]) for p in points]
            ys = [float(p[1]) for p in points]
            out.append(TextBox(min(xs), min(ys), max(xs), max(ys), str(text), float(score)))
        return out


# ------------------------------------------------------------------------- text helpers
_FULL_WIDTH = str.maketrans({",": "，", "?": "？", "!": "！", ";": "；", ":": "："})


def simplified_converter() -> Callable[[str], str]:
    """Traditional -> simplified Chinese (OpenCC t2s); build once, it loads dictionaries."""
    import opencc

    converter = opencc.OpenCC("t2s")
    return lambda text: str(converter.convert(text))


def clean_line(text: str) -> str:
    """Caption typography: no spaces between CJK characters, full-width punctuation
    after CJK text (the recogniser sometimes returns "," for "，")."""
    text = text.strip()
    text = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text)
    return re.sub(
        r"(?<=[\u3400-\u9fff\uf900-\ufaff])[,?!;:]",
        lambda m: m.group(0).translate(_FULL_WIDTH),
        text,
    )


def is_wordy(text: str) -> bool:
    """True if ``text`` holds a letter, digit or CJK character (not just punctuation)."""
    return bool(_WORDY.search(text))


def is_stripes(text: str) -> bool:
    """True if ``text`` is only what stripes read as ("II", "ıI", "1.11"): scenery
    texture such as lit windows or railings, never a caption."""
    return bool(_STRIPES.fullmatch(text))


def join_lines(boxes: list[TextBox]) -> list[list[TextBox]]:
    """Group boxes into display lines (boxes overlapping vertically by half the smaller
    height share a line), top to bottom, each line left to right."""
    lines: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.center_y):
        for line in lines:
            ref = line[0]
            overlap = min(ref.bottom, box.bottom) - max(ref.top, box.top)
            if overlap >= 0.5 * min(ref.height, box.height):
                line.append(box)
                break
        else:
            lines.append([box])
    return [sorted(line, key=lambda b: b.left) for line in lines]


def line_text(line: list[TextBox]) -> str:
    """Text of boxes on one display line: a space only between two Latin/digit runs."""
    text = ""
    for box in line:
        piece = box.text.strip()
        if text and piece and text[-1].isascii() and text[-1].isalnum() and piece[0].isascii():
            text += " "
        text += piece
    return text
