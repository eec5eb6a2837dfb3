"""One root exception for everything the library raises on purpose.

Every error carries a message that says what went wrong *and what to do*. Errors
must survive pickling because Prefect moves them between processes, so subclasses
keep their constructor arguments in ``self.args`` order via ``_fields``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LocalizeError(Exception):
    """Root of all deliberate errors. ``hint`` tells the user how to fix it."""

    #: names of the constructor arguments, in order; used for pickling
    _fields: ClassVar[tuple[str, ...]] = ("message", "hint")

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), tuple(getattr(self, name) for name in self._fields))


class MediaError(LocalizeError):
    """An input file cannot be probed or decoded (missing, empty, corrupt, no audio...)."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "path")

    def __init__(self, message: str, hint: str = "", path: str = "") -> None:
        super().__init__(message, hint)
        self.path = path


class ToolMissingError(LocalizeError):
    """An external program (ffmpeg, espeak-ng...) is not installed."""


class ModelError(LocalizeError):
    """A model reference cannot be resolved, fetched, verified or loaded."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "model")

    def __init__(self, message: str, hint: str = "", model: str = "") -> None:
        super().__init__(message, hint)
        self.model = model


class ChecksumMismatchError(ModelError):
    """An assembled model file does not match its pinned sha256."""


class FileLocationError(LocalizeError):
    """An error at a place in a text file: shown as ``path:line: message``.

    ``line`` is 1-based (0 if unknown). A base for the errors of hand-edited files.
    """

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "path", "line")

    def __init__(self, message: str, hint: str = "", path: str = "", line: int = 0) -> None:
        super().__init__(message, hint)
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = (
            f"{self.path}:{self.line}: "
            if self.path and self.line
            else (f"{self.path}: " if self.path else "")
        )
        text = f"{where}{self.message}"
        return f"{text}\n  -> {self.hint}" if self.hint else text


class SubtitleFormatError(FileLocationError):
    """A subtitle file cannot be decoded or parsed. ``line`` is 1-based (0 if unknown)."""


class GlossaryError(FileLocationError):
    """A glossary file is invalid. Carries file, line and the offending entry."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "path", "line", "entry")

    def __init__(
        self, message: str, hint: str = "", path: str = "", line: int = 0, entry: str = ""
    ) -> None:
        super().__init__(message, hint, path, line)
        self.entry = entry


class StyleProfileError(LocalizeError):
    """An unknown or invalid subtitle style profile."""


class TranscriptionError(LocalizeError):
    """Speech recognition failed for a reason the user can act on."""


class TranslationError(LocalizeError):
    """Machine translation failed for a reason the user can act on."""
