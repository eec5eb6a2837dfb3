"""The review page's Prefect side: the paused run offers its page, ``localize serve``
serves the pages and resumes runs with the same typed input as the Prefect form.

The page itself (HTML, checks, HTTP) is :mod:`localize.review_page`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from localize.markdown import escape_markdown
from localize.models import localize_home
from localize.review import ReviewInputError
from localize.review_page import PageBackend, ReviewDraft, ReviewPageServer, save_draft
from localize.series import resolve_glossary_path

if TYPE_CHECKING:
    from flows.params import EpisodeParams
    from localize.qc import QCReport

#: the review pages' address, set by ``localize serve`` for the runs it starts
REVIEW_URL_ENV = "LOCALIZE_REVIEW_URL"
#: the port of the review pages (``localize serve --review-port``)
DEFAULT_REVIEW_PORT = 4201


def drafts_folder() -> Path:
    return localize_home() / "reviews"


def offer_review_page(
    episode: str, params: EpisodeParams, report: QCReport, round_: int, error: str
) -> str:
    """Keep this round's draft for the review page and link the page from the run's
    artifacts; return the Markdown the pause description adds ("" without a page)."""
    from prefect.artifacts import create_link_artifact
    from prefect.context import get_run_context

    run = getattr(get_run_context(), "flow_run", None)
    if run is None:
        return ""
    targets = tuple(lang for lang in report.language_codes[1:])
    save_draft(
        drafts_folder(),
        ReviewDraft(
            run_id=str(run.id),
            episode=episode,
            video=str(Path(params.video).expanduser().resolve()),
            glossary=str(resolve_glossary_path(params.series)),
            round=round_,
            error=error,
            report=report,
            source_language=report.language_codes[0],
            targets=targets,
        ),
    )
    base = os.environ.get(REVIEW_URL_ENV)
    if not base:
        return ""
    url = f"{base.rstrip('/')}/review/{run.id}"
    create_link_artifact(
        url,
        link_text=f"Review {episode} with the picture",
        description=f"The review page of {escape_markdown(episode)}, round {round_}",
    )
    return (
        f"\n\n**Review with the picture:** [{url}]({url}) (log in with the same "
        "auth string as this UI)"
    )


def resume_review(run_id: str, run_input: dict[str, str]) -> None:
    """Send the page's input to the paused run, as the Resume form does."""
    from prefect.exceptions import FlowPauseTimeout, NotPausedError
    from prefect.flow_runs import resume_flow_run

    try:
        resume_flow_run(UUID(run_id), run_input=dict(run_input))
    except (NotPausedError, FlowPauseTimeout, RuntimeError) as exc:
        raise ReviewInputError(
            f"Prefect refused the review: {exc}",
            "nothing was applied; reload the page to see the run's state",
        ) from exc


def run_state(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    return (state.name or state.type.value) if state else "unknown"


@contextmanager
def review_pages(
    port: int = DEFAULT_REVIEW_PORT, *, auth: str | None = None, folder: Path | None = None
) -> Iterator[str]:
    """Serve the review pages on 127.0.0.1:``port`` in a thread of this process; yield
    their address. Requests need the API's auth string (HTTP Basic) when there is one."""
    backend = PageBackend(folder or drafts_folder(), resume_review, run_state, auth)
    with ReviewPageServer(("127.0.0.1", port), backend).running() as url:
        yield url
