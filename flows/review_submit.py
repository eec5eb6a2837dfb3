"""Send a review to a paused run from the command line (``localize review submit``).

The same typed input the Prefect form sends (:class:`flows.review_input.ReviewInput`),
so the flow checks it, applies it and records it exactly as it does a form's answer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from localize.errors import LocalizeError

#: ``ep01.es.srt`` -> es: the draft files a paused run writes are named so
_LANGUAGE_SUFFIX = re.compile(r"\.(?P<lang>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)$")


@dataclass(frozen=True)
class Submitted:
    run_name: str
    #: what the run did with the input within the wait: "completed" / "failed" (it
    #: ended), "continued" (still running), "paused again" (the flow did not apply the
    #: input and shows the form again with the reason, or applied "request changes"),
    #: "waiting" (not picked up yet: a suspended run waits for a worker)
    outcome: str


def corrections_from_file(path: Path, language: str | None = None) -> str:
    """The review form's corrections for a draft file edited offline: an XLIFF as it
    is (it names its language); an SRT with its language as a first line ``es:``,
    from ``language`` or the file name (``ep01.es.srt``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalizeError(
            f"cannot read {path}: {exc}", "give the .srt or .xlf draft file, saved as UTF-8"
        ) from exc
    if path.suffix.lower() in (".xlf", ".xliff") or text.lstrip().startswith("<"):
        return text
    if path.suffix.lower() != ".srt":
        raise LocalizeError(
            f"{path.name} is neither an SRT nor an XLIFF file",
            "send the draft file the paused run wrote (EPISODE.LANG.srt or .xlf), edited",
        )
    found = _LANGUAGE_SUFFIX.search(path.stem)
    lang = language or (found.group("lang") if found else None)
    if not lang:
        raise LocalizeError(
            f"cannot tell the language of {path.name}",
            "pass --lang (e.g. --lang es) or keep the draft's name (EPISODE.LANG.srt)",
        )
    return f"{lang}:\n{text}"


def submit_review(
    run_id: str,
    *,
    decision: str,
    reviewer: str,
    notes: str = "",
    edits: str = "",
    wait_s: float = 20.0,
) -> Submitted:
    """Resume the paused run ``run_id`` with a review; wait up to ``wait_s`` to see
    whether the flow took it."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value() or "(no PREFECT_API_URL)"
    try:
        flow_run_id = UUID(run_id)
    except ValueError as exc:
        raise LocalizeError(
            f"{run_id!r} is not a flow run id",
            "copy the id from the run's page (…/runs/flow-run/ID) or the pause message",
        ) from exc
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)
        except ObjectNotFound as exc:
            raise LocalizeError(
                f"the Prefect server at {api} has no flow run {run_id}",
                "check PREFECT_API_URL: it must be the server the run waits on",
            ) from exc
        if not run.state or not run.state.is_paused():
            state = run.state.name if run.state else "unknown"
            raise LocalizeError(
                f"the run '{run.name}' is not waiting for a review (it is {state})",
                "nothing was sent; a review goes to a run that is paused or suspended",
            )
        before = run.state.id
    answer: dict[str, Any] = {
        "decision": decision,
        "reviewer": reviewer,
        "notes": notes,
        "edits": edits,
    }
    resume_flow_run(flow_run_id, run_input=answer)
    return Submitted(run.name, _outcome(flow_run_id, before, wait_s))


def _outcome(flow_run_id: UUID, paused_state: UUID, wait_s: float) -> str:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + wait_s
    moved = False
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(flow_run_id).state
            if state is not None and state.id != paused_state:
                moved = True
                if state.is_paused():
                    return "paused again"
                if state.is_final():
                    return (state.name or state.type.value).lower()
            time.sleep(0.5)
    return "continued" if moved else "waiting"
