"""Errors of the picture stage: each says what is wrong and what to do."""

from __future__ import annotations

from typing import ClassVar

from localize.errors import LocalizeError


class PictureError(LocalizeError):
    """Cleaning or burning a picture cannot run as asked."""


class MissingGlyphError(PictureError):
    """The subtitle font has no glyph for a character of a cue (1-based ``cue``)."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "cue", "char", "font")

    def __init__(
        self, message: str, hint: str = "", cue: int = 0, char: str = "", font: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.cue = cue
        self.char = char
        self.font = font


class SubtitleTimingError(PictureError):
    """A subtitle (1-based ``cue``) starts after the video ends."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "cue")

    def __init__(self, message: str, hint: str = "", cue: int = 0) -> None:
        super().__init__(message, hint)
        self.cue = cue


class EncodeError(PictureError):
    """ffmpeg could not write the picture; nothing was left at the output path."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "path")

    def __init__(self, message: str, hint: str = "", path: str = "") -> None:
        super().__init__(message, hint)
        self.path = path


class DiskFullError(EncodeError):
    """The disk filled up while writing; the partial file was removed."""
