"""Per-series glossary: fixed renderings of names, forms of address and terms.

A glossary is a hand-edited TOML file in ``glossaries/`` (format: ``glossaries/README.md``).
Three stages use it:

* ASR prompts the recogniser with :meth:`Glossary.hotwords`;
* MT puts :meth:`Glossary.required_renderings` into the prompt and re-checks the output;
* QC runs :meth:`Glossary.check_adherence` on every translated cue.

The package, one concern per module:

* :mod:`~localize.glossary.model` - entries, :class:`Glossary`, matching text;
* :mod:`~localize.glossary.load` - :func:`load_glossary`: parsing and the validator, which
  reports every problem with its file and line;
* :mod:`~localize.glossary.positions` - the TOML key-to-line scanner the validator uses;
* :mod:`~localize.glossary.write` - :func:`dump_glossary`.

Check a file with ``localize glossary check FILE``.
"""

from localize.glossary.load import load_glossary, parse_glossary
from localize.glossary.model import (
    FORMAT_VERSION,
    EntryKind,
    Gender,
    Glossary,
    GlossaryEntry,
    GlossaryMatch,
    SeriesInfo,
    Violation,
    ViolationKind,
    is_language_code,
)
from localize.glossary.write import dump_glossary

__all__ = [
    "FORMAT_VERSION",
    "EntryKind",
    "Gender",
    "Glossary",
    "GlossaryEntry",
    "GlossaryMatch",
    "SeriesInfo",
    "Violation",
    "ViolationKind",
    "dump_glossary",
    "is_language_code",
    "load_glossary",
    "parse_glossary",
]
