"""Machine translation of subtitle lines: backends behind one small interface.

``base`` defines the ``Translator`` protocol and the backend registry; backends live in
their own modules and import their heavy dependencies lazily.
"""

from localize.translate.base import (
    TRANSLATORS,
    TranslationContext,
    Translator,
    create_translator,
    register_translator,
)

__all__ = [
    "TRANSLATORS",
    "TranslationContext",
    "Translator",
    "create_translator",
    "register_translator",
]
