"""Loaded models, built lazily and reused: one load per worker process.

The library keeps no global state: whoever runs episodes (the CLI, a Prefect worker)
creates one ``ModelPool`` and passes it down, so a catalog of 80 episodes loads Whisper
once, not 80 times.

Every model is loaded with the run's thread count (``threads``, see
:mod:`localize.numerics`), never the worker's core count, and the thread count is part of
the key: two runs with different settings never share a loaded model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localize.models import ModelStore
from localize.numerics import DEFAULT_COMPUTE_THREADS, check_threads
from localize.registry import resolve_backend
from localize.transcribe import TRANSCRIBERS, Transcriber, create_transcriber

if TYPE_CHECKING:
    from localize.translate.base import Translator


@dataclass
class ModelPool:
    store: ModelStore = field(default_factory=ModelStore)
    device: str = "auto"
    _loaded: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def transcriber(
        self,
        model: str,
        backend: str = "faster-whisper",
        *,
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> Transcriber:
        key = ("asr", backend, model, self.device, f"threads={check_threads(threads)}")
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = create_transcriber(
                    backend, model=model, store=self.store, device=self.device, cpu_threads=threads
                )
            transcriber: Transcriber = self._loaded[key]
            return transcriber

    def translator(
        self,
        backend: str,
        model: str,
        endpoint: str | None = None,
        api_key_env: str = "LOCALIZE_MT_API_KEY",
        api_key: str | None = None,
        *,
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> Translator:
        """A loaded MT backend. Loading happens under the lock: two catalog episodes that
        ask at the same moment share one LLM instead of holding two (+1.9 GB). For the
        ``openai`` backend: one client per endpoint, so its request limit covers every
        episode of this worker. ``api_key`` (from a secret store) wins over the variable
        named by ``api_key_env``; it is not part of the pool's keys."""
        from localize.translate import create_translator

        key = (
            "mt", backend, model, self.device, endpoint or "", api_key_env,
            f"threads={check_threads(threads)}",
        )  # fmt: skip
        with self._lock:
            if key not in self._loaded:
                if backend == "fake":
                    self._loaded[key] = create_translator("fake")
                elif backend == "openai":
                    self._loaded[key] = create_translator(
                        backend,
                        model=model,
                        endpoint=endpoint or "",
                        api_key_env=api_key_env,
                        api_key=api_key,
                    )
                else:
                    self._loaded[key] = create_translator(
                        backend, model=model, store=self.store, threads=threads
                    )
            translator: Translator = self._loaded[key]
            return translator

    def numerics(
        self,
        threads: int,
        *,
        asr_backend: str | None = None,
        mt_backend: str | None = None,
    ) -> dict[str, Any]:
        """What the run's models compute with, for the published manifest: per role, the
        threads, device and compute type its backend loads with here (None for a backend
        that computes nothing, like the fakes). Loads no model: a stage served from the
        cache is recorded the same as one computed now."""
        from localize.translate import TRANSLATORS

        record: dict[str, Any] = {"compute_threads": check_threads(threads)}
        # (translators are loaded on their own default device, transcribers on the pool's)
        for role, registry, backend, device in (
            ("asr", TRANSCRIBERS, asr_backend, self.device),
            ("mt", TRANSLATORS, mt_backend, "auto"),
        ):
            if backend is None:
                continue
            plan = getattr(resolve_backend(registry, backend, role), "plan_numerics", None)
            record[role] = plan(threads, device).to_json() if plan else None
        return record

    def loaded(self) -> list[tuple[str, ...]]:
        """Keys of what is loaded (for logs and tests of reuse)."""
        return list(self._loaded)
