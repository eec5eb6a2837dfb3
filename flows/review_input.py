"""The form a translator fills in the Prefect UI to finish a review."""

from __future__ import annotations

from typing import Literal

from prefect.input import RunInput
from pydantic import ConfigDict, Field


class ReviewInput(RunInput):
    """Decision, notes and corrections. Kept small: the draft itself is a table artifact."""

    # validate_default: untouched defaults come back validated (see shared PREFECT notes)
    model_config = ConfigDict(extra="forbid", validate_default=True)

    # no default: a translator who only meant to look must not publish by pressing Submit
    decision: Literal["approve", "request changes", "reject"] = Field(
        description="approve: publish. request changes: apply the edits and show the "
        "draft again. reject: publish nothing.",
    )
    reviewer: str = Field(default="", description="Your name (recorded with the edits)")
    notes: str = Field(default="", description="Notes for the manager or the next round")
    edits: str = Field(
        default="",
        description="Corrections, one per line: 'INDEX | new text' (first language) or "
        "'LANG:INDEX | new text'. Write \\n for a line break inside a cue. "
        "'INDEX @ mm:ss.mmm --> mm:ss.mmm' retimes a cue.",
    )
