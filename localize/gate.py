"""The QC gate of unattended runs: hold an episode whose QC has errors instead of publishing.

With review on, the reviewer is the gate. Without review (nightly catalog runs,
``--no-review``) the run's ``on_qc_errors`` policy decides: ``"hold"`` (the default) writes
the draft (the subtitles it would have published, ``qc.json`` and ``report.html``) to
``<out>.held/`` next to the output folder, published there atomically like any output, and
leaves the output itself as it was; ``"publish"`` publishes anyway. A later run that
publishes the episode (review on, ``--on-qc-errors publish``, or QC passing after the cause
was fixed) removes the held draft.

Pure library code: no Prefect.
"""

from __future__ import annotations

from pathlib import Path

from localize.package import check_output_location, unpublish

#: the ``on_qc_errors`` policies (flows.params.QCPolicy)
HOLD = "hold"
PUBLISH = "publish"
#: what a held episode's draft folder is called: ``<output folder name>.held``
HELD_SUFFIX = ".held"
#: ``localize episode`` exits with this when the episode was held (not a crash: nothing
#: failed, but nothing was published either, and a script must be able to tell)
HELD_EXIT_CODE = 3
#: the Prefect event a held episode emits (automations notify on it, see docs/catalog.md)
HELD_EVENT = "localize.episode.held"


def held_dir(out_dir: Path) -> Path:
    """Where the draft of a held episode goes: ``<out>.held`` next to ``out``."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + HELD_SUFFIX)


def must_hold(policy: str, *, reviewed: bool, qc_errors: int) -> bool:
    """Whether an episode is held instead of published."""
    return not reviewed and policy == HOLD and qc_errors > 0


def check_locations(out_dir: Path, *, may_hold: bool) -> None:
    """Before any stage runs: the output folder, and the held folder if the run may hold,
    must be usable (see :func:`localize.package.check_output_location`)."""
    check_output_location(out_dir)
    if may_hold:
        check_output_location(held_dir(out_dir))


def discard_held(out_dir: Path) -> bool:
    """Remove ``out``'s held draft once ``out`` is published; returns whether there was one."""
    return unpublish(held_dir(out_dir))


def held_message(qc_errors: int, draft: Path | str) -> str:
    """The line a held run prints (and logs)."""
    return (
        f"held: {qc_errors} QC errors, draft at {draft}; "
        "re-run with review on or --on-qc-errors publish"
    )
