"""The vocabulary of QC: a :class:`Flag` (one problem in one cue), its codes and severities.

Every stage that raises flags (QC's own checks, dubbing, the picture checks, the source
fusion) builds these; reports count, sort and render them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

Severity = Literal["error", "warning"]
_SEVERITIES: Final[tuple[str, ...]] = get_args(Severity)

#: every flag code, in the order reports list them (the order of the checks per cue)
FLAG_CODES: Final[tuple[str, ...]] = (
    "empty",
    "untranslated",
    "source-script",
    "glossary",
    "reading-speed",
    "line-length",
    "line-count",
    "too-short",
    "too-long",
    "gap",
    "overlap",
    "outside-media",
    "translation-retry",
    "dub-overrun",
    "source-conflict",
    "residual-caption",
    "burn-readback",
    "outside-safe-area",
    "missing-glyph",
)
_CODE_ORDER: Final[dict[str, int]] = {code: i for i, code in enumerate(FLAG_CODES)}

#: a Chinese (Han) character
_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


@dataclass(frozen=True)
class Flag:
    """One problem found in one cue.

    Attributes:
        code: stable slug naming the check (one of :data:`FLAG_CODES`).
        severity: "error" (fails the report) or "warning".
        language: language of the track the cue belongs to.
        index: 1-based cue index in that track.
        message: one sentence a translator can act on, with the measured numbers.
        value: what was measured (chars/s, characters, lines, ms), if a number applies.
        limit: the limit it was measured against, if any.
    """

    code: str
    severity: Severity
    language: str
    index: int
    message: str
    value: float | None = None
    limit: float | None = None

    def __post_init__(self) -> None:
        if self.code not in _CODE_ORDER:
            raise ValueError(f"unknown QC flag code {self.code!r}; known: {FLAG_CODES}")
        if self.severity not in _SEVERITIES:
            raise ValueError(f"QC severity must be 'error' or 'warning', not {self.severity!r}")
        # Always floats, so a report saved as JSON reads back and re-saves identically.
        for name in ("value", "limit"):
            number = getattr(self, name)
            if number is not None and not isinstance(number, float):
                object.__setattr__(self, name, float(number))

    @property
    def label(self) -> str:
        """``code: message``, with ``(warning)`` after the code for warnings."""
        kind = "" if self.severity == "error" else " (warning)"
        return f"{self.code}{kind}: {self.message}"

    def _sort_key(self) -> tuple[int, int]:
        return (self.index, _CODE_ORDER[self.code])


def _one_line(text: str) -> str:
    """A cue's text on one row: its line breaks shown as `` / ``."""
    return " / ".join(line.strip() for line in text.split("\n"))
