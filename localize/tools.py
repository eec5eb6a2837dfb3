"""Run external programs (ffmpeg, ffprobe, espeak-ng...) safely.

Argument lists only, never a shell, so file names with spaces or quotes are harmless.
Every failure becomes a :class:`~localize.errors.LocalizeError` that says what was
being done and what to do about it:

- the program is not installed -> :class:`~localize.errors.ToolMissingError` with the
  ``apt-get install`` command;
- it exits non-zero -> :class:`ToolFailedError` whose message ends with the tail of
  its stderr (the last line is usually the reason, so callers may quote just that);
- it runs past its timeout -> :class:`ToolTimeoutError`; the process is killed first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from localize.errors import LocalizeError, ToolMissingError

#: Debian package that provides each program we call. Unknown programs get a generic hint.
DEBIAN_PACKAGES: dict[str, str] = {
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
    "espeak-ng": "espeak-ng",
}

#: how much of stderr to keep in an error: enough for ffmpeg's reason, not its banner
_STDERR_TAIL_LINES = 12
_STDERR_TAIL_CHARS = 2000


class ToolFailedError(LocalizeError):
    """An external program exited with a non-zero status.

    ``tool`` is the program name, ``returncode`` its exit status and ``stderr`` the
    tail of what it wrote to stderr.
    """

    _fields = ("message", "hint", "tool", "returncode", "stderr")

    def __init__(
        self,
        message: str,
        hint: str = "",
        tool: str = "",
        returncode: int | None = None,
        stderr: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.tool = tool
        self.returncode = returncode
        self.stderr = stderr


class ToolTimeoutError(ToolFailedError):
    """An external program ran past its timeout and was killed (``returncode`` is None)."""


def file_arg(path: str | os.PathLike[str]) -> str:
    """``path`` as a file argument of ffmpeg or ffprobe: absolute, so that a name like
    ``-report.wav`` is never read as an option (pathlib drops the ``./`` that would
    protect it) nor ``pipe:1`` or ``concat:a|b`` as a protocol."""
    return os.path.abspath(path)


def require_tool(name: str) -> str:
    """Return the full path of program ``name``, or raise ToolMissingError.

    The error names the Debian package to install (``ffprobe`` comes with ``ffmpeg``).
    """
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGES.get(name)
        hint = (
            f"install it: sudo apt-get install {package}"
            if package
            else f"install {name} (e.g. with: sudo apt-get install {name}) and put it on PATH"
        )
        raise ToolMissingError(f"{name} is not installed or not on PATH", hint)
    return path


def _tail(data: bytes | None) -> str:
    text = (data or b"").decode("utf-8", errors="replace").strip()
    lines = text.splitlines()[-_STDERR_TAIL_LINES:]
    return "\n".join(lines)[-_STDERR_TAIL_CHARS:]


def run_tool(
    args: list[str],
    *,
    timeout: float,
    what: str,
    cwd: Path | str | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``args`` (program first) and return the finished process with stdout/stderr bytes.

    ``what`` describes the job for error messages ("probing episode.mp4"). ``cwd``
    lets callers hand relative file names to tools whose own syntax makes absolute
    paths awkward (ffmpeg filter arguments). ``stdin`` is fed to the program; without
    it the program gets no stdin at all, so it can never block waiting for input.

    Raises ToolMissingError, ToolFailedError or ToolTimeoutError.
    """
    if not args:
        raise ValueError("run_tool needs at least the program name")
    name = args[0]
    executable = require_tool(name)
    try:
        # subprocess.run kills the child when the timeout expires before re-raising
        proc = subprocess.run(
            [executable, *args[1:]],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        tail = _tail(exc.stderr)
        raise ToolTimeoutError(
            f"{what}: {name} did not finish within {timeout:g} s and was killed"
            + (f"\n{tail}" if tail else ""),
            "the input may be unusually long or the machine overloaded; retry with a "
            "longer timeout or check the input file",
            tool=name,
            returncode=None,
            stderr=tail,
        ) from exc
    except OSError as exc:  # found on PATH but not runnable (permissions, wrong arch...)
        raise ToolFailedError(
            f"{what}: cannot start {executable}: {exc}",
            f"check that {name} is installed correctly and executable",
            tool=name,
        ) from exc
    if proc.returncode != 0:
        tail = _tail(proc.stderr)
        raise ToolFailedError(
            f"{what}: {name} failed with exit code {proc.returncode}"
            + (f"\n{tail}" if tail else ""),
            f"see {name}'s message above; check the input file and the arguments",
            tool=name,
            returncode=proc.returncode,
            stderr=tail,
        )
    return proc
