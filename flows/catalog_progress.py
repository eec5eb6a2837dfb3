"""How far a catalog run is, in the Prefect UI and on the command line.

A progress artifact (``catalog-progress``, the run's **Artifacts** tab) shows the share of
the episodes to localize that have finished, with a line saying how many are done or
failed and which finished last; it is updated as each episode ends. The same count drives
the local progress display (``localize.progress``), where each episode running is a row
of its own under the catalog's.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from localize import progress
from localize.markdown import escape_markdown as md

ARTIFACT_KEY = "catalog-progress"


class CatalogProgress:
    """Counts the episodes of one catalog run as they finish (call from the flow)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = self.failed = self.held = 0
        self.stage = progress.begin("episodes", job="catalog", total=total, unit="episodes")
        self.artifact: UUID | None = None
        try:
            created = create_progress_artifact(
                self._percent(), key=ARTIFACT_KEY, description=self._describe("")
            )
            self.artifact = created if isinstance(created, UUID) else None  # a sync flow
        except Exception as exc:  # the UI's progress is a convenience: never fail the run
            get_run_logger().warning("no progress artifact: %s", exc)

    def _percent(self) -> float:
        return 100.0 * self._finished / self.total if self.total else 100.0

    @property
    def _finished(self) -> int:
        return self.done + self.held + self.failed

    def _describe(self, last: str) -> str:
        if not self.total:
            return "Nothing to localize: every episode is up to date."
        held = f", {self.held} held" if self.held else ""
        text = (
            f"{self._finished} of {self.total} episodes finished "
            f"({self.done} done{held}, {self.failed} failed)"
        )
        return f"{text}; last: {last}" if last else text

    def running(self, key: str) -> AbstractContextManager[None]:
        """Submit the episode ``key`` inside this: its stages become a row of their own."""
        return progress.job(key, parent=self.stage)

    def finished(self, key: str, failed: bool, error: str = "", held: bool = False) -> None:
        """Episode ``key`` ended (``error``: its reason when it failed; with ``held``, the
        QC gate held it and ``error`` says why and where its draft is)."""
        if failed:
            self.failed += 1
        elif held:
            self.held += 1
        else:
            self.done += 1
        self.stage.advance()
        progress.finish_job(key, (error or "failed") if failed else None)
        # the description renders as Markdown in the UI: names and errors shown as text
        last = (
            f"{md(key)} failed: {md(error)}"
            if failed
            else f"{md(key)} held {md(error)}"
            if held
            else f"{md(key)} done"
        )
        if self.artifact is None:
            return
        try:
            update_progress_artifact(
                self.artifact, self._percent(), description=self._describe(last)
            )
        except Exception as exc:
            get_run_logger().warning("progress artifact not updated: %s", exc)

    def close(self) -> None:
        progress.end(self.stage)
