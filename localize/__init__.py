"""localize: take Chinese micro-dramas abroad.

The library is Prefect-free and import-light: heavy dependencies (faster-whisper,
CTranslate2, transformers) are imported inside the functions that need them.
"""

from localize.domain import Cue, Segment, Transcript, Word
from localize.errors import LocalizeError

__version__ = "0.1.0"

__all__ = ["Cue", "LocalizeError", "Segment", "Transcript", "Word", "__version__"]
