"""Keep names that come from outside (episode names, file names in a manifest) inside a root.

An episode name or a relative file name is data, not a path: ``..``, an absolute path
or a symlink must never let a write land outside the folder it was meant for.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from localize.errors import LocalizeError


class UnsafePathError(LocalizeError):
    """A name from outside would point outside the folder it belongs in."""


def safe_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is usable as one path component, else raise UnsafePathError."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or PureWindowsPath(name).drive
    ):
        raise UnsafePathError(
            f"invalid {what} {name!r}: it must be a plain file name "
            "(no '/', '\\', '..' or absolute path)",
            f"rename it, e.g. {_suggest(name)!r}",
        )
    return name


def safe_child(root: Path, rel: str) -> Path:
    """``root / rel``, refusing absolute paths, ``..`` and symlinks that lead outside ``root``."""
    pure = PurePosixPath(rel)
    if (
        not rel
        or "\x00" in rel
        or "\\" in rel
        or pure.is_absolute()
        or PureWindowsPath(rel).drive
        or any(part in ("..", "") for part in pure.parts)
    ):
        raise UnsafePathError(
            f"refusing to write {rel!r}: it points outside {root}",
            "use a relative file name without '..' or a leading '/'",
        )
    path = root / pure
    if not is_within(path, root):
        raise UnsafePathError(
            f"refusing to write {rel!r}: it leads outside {root} (through a symlink)",
            "remove the symlink, or write to a real folder inside the output",
        )
    return path


def is_within(path: Path, root: Path) -> bool:
    """True if ``path``, with every symlink followed, is ``root`` or lies below it."""
    base = root.resolve()
    resolved = path.resolve()
    return resolved == base or base in resolved.parents


def _suggest(name: str) -> str:
    cleaned = "".join("_" if c in "/\\\x00:" else c for c in name).strip("._ ")
    return cleaned or "episode"
