"""Where a series' files are found: its glossary by name (in the glossaries folder) or path.

One resolver for every entry point (the CLI's ``--series``, the episode flow, the
memory commands), so a series is named the same way everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from localize.errors import LocalizeError

#: the repository's glossaries/ folder: where ``--series NAME`` looks unless
#: ``LOCALIZE_GLOSSARIES`` names another
REPO_GLOSSARIES = Path(__file__).resolve().parent.parent / "glossaries"


def resolve_glossary_path(series: str) -> Path:
    """A series name in the glossaries folder, or a path to a glossary file."""
    candidate = Path(series).expanduser()
    if candidate.suffix == ".toml" or os.sep in series:
        if not candidate.is_file():
            raise LocalizeError(
                f"glossary file not found: {series}", "check the path of the series glossary"
            )
        return candidate
    folder = Path(os.environ.get("LOCALIZE_GLOSSARIES", REPO_GLOSSARIES))
    path = folder / f"{series}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.toml"))
        raise LocalizeError(
            f"no glossary for series {series!r} in {folder}",
            f"known series: {', '.join(known) or 'none'}; create {path} "
            "(see glossaries/README.md) or pass a path",
        )
    return path
