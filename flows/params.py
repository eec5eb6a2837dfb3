"""Typed flow parameters: Prefect renders them as a validated form in the UI.

The model is pure pydantic and lives in the library (:mod:`localize.settings`), so a
catalog's ``series.toml`` is checked by the same rules as the form.
"""

from localize.languages import TargetLanguage
from localize.settings import (
    CleanMethod,
    EpisodeParams,
    MTBackend,
    QCPolicy,
    TTSBackend,
)

__all__ = [
    "CleanMethod",
    "EpisodeParams",
    "MTBackend",
    "QCPolicy",
    "TTSBackend",
    "TargetLanguage",
]
