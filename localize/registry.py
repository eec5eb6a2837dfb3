"""Name-keyed backend registries (transcribers, translators, synthesizers).

A registry maps a backend name to its factory, or to ``"module:attribute"`` so heavy
backends are imported only when first built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, MutableMapping
from typing import Any

from localize.errors import ModelError

Factory = Callable[..., Any]


def resolve_backend(registry: MutableMapping[str, str | Factory], name: str, what: str) -> Factory:
    """The factory of backend ``name`` (imported on first use); ``what`` names the kind
    in errors."""
    try:
        factory = registry[name]
    except KeyError:
        raise ModelError(
            f"unknown {what} backend {name!r}",
            f"choose one of: {', '.join(sorted(registry))}",
            model=name,
        ) from None
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        registry[name] = factory
    return factory


def build_backend(
    registry: MutableMapping[str, str | Factory], name: str, what: str, **kwargs: Any
) -> Any:
    """Build backend ``name`` from ``registry``; ``what`` names the kind in errors."""
    return resolve_backend(registry, name, what)(**kwargs)
