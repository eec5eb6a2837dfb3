"""Translation through an OpenAI-compatible chat endpoint (vLLM, llama.cpp's server, a hosted API).

The prompts, strict parsing, retries of unparseable replies and the one-line fallback are
the local LLM's (``localize.translate.chat``); this module only sends the requests. Per
endpoint at most ``concurrency`` requests are in flight; 429, 5xx and connection errors
are retried with exponential backoff and jitter (a ``Retry-After`` is honoured), and an
endpoint that stays down ends the run with an error naming it. The API key is read from an
environment variable (``LOCALIZE_MT_API_KEY`` unless configured otherwise) and is never put
in the model id, logs or errors.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from localize.errors import TranslationError
from localize.translate.chat import ChatEngine, LLMOptions

log = logging.getLogger(__name__)

DEFAULT_KEY_ENV = "LOCALIZE_MT_API_KEY"
#: status codes worth retrying: rate limited, or the server is (re)starting or overloaded
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # a seam: tests record backoffs instead of waiting them out


class EndpointError(TranslationError):
    """A translation endpoint that refused, or stayed unreachable through every retry."""

    def __init__(self, message: str, hint: str = "", endpoint: str = "") -> None:
        super().__init__(message, hint)
        self.endpoint = endpoint


@dataclass(frozen=True)
class EndpointOptions:
    """How hard to push one endpoint and how long to wait for it."""

    #: requests in flight at once from this translator (one per episode worker process)
    concurrency: int = 2
    #: seconds for one request (a CPU server decodes ~10 tokens/s: 8 lines take ~40 s)
    timeout_s: float = 300.0
    #: attempts per request before giving up (the first one included)
    attempts: int = 6
    #: first backoff; doubles per attempt, with jitter, up to ``max_backoff_s``
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    #: the longest ``Retry-After`` obeyed; longer ones are cut to this
    max_retry_after_s: float = 120.0


@dataclass(frozen=True)
class Usage:
    """Tokens and requests spent on an endpoint (what a hosted API bills)."""

    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.requests + other.requests,
            self.retries + other.retries,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.requests - other.requests,
            self.retries - other.retries,
            self.prompt_tokens - other.prompt_tokens,
            self.completion_tokens - other.completion_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


def base_url(endpoint: str) -> str:
    """``endpoint`` as an API base: ``http://host:8000`` -> ``http://host:8000/v1``.

    User info (``user:password@``) is refused: credentials belong in the key variable.
    """
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TranslationError(
            f"the translation endpoint {endpoint!r} is not an http(s) URL",
            "give the server's base URL, e.g. --mt-endpoint http://gpu-box:8000/v1",
        )
    if parts.username or parts.password:
        raise TranslationError(
            "the translation endpoint URL carries credentials",
            f"put the API key in the environment variable {DEFAULT_KEY_ENV} (or the one "
            "configured), not in the URL, which is logged",
        )
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAITranslator(ChatEngine):
    """Translator backend for any server speaking OpenAI's ``/v1/chat/completions``.

    ``model`` is the server's model name (what it lists under ``/v1/models``).
    """

    def __init__(
        self,
        model: str,
        *,
        endpoint: str,
        api_key_env: str = DEFAULT_KEY_ENV,
        api_key: str | None = None,
        options: LLMOptions | None = None,
        endpoint_options: EndpointOptions | None = None,
        **_ignored: Any,  # store/device/compute_type: the server owns the model
    ) -> None:
        self.endpoint = base_url(endpoint)
        # numbered requests under the whole glossary: a server caches the shared prompt
        self.options = options or LLMOptions.numbered()
        self.limits = endpoint_options or EndpointOptions()
        self.batch = max(1, self.limits.concurrency)
        self.model = model
        self.model_id = f"openai:{model}"
        key = api_key if api_key is not None else os.environ.get(api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._key_env = api_key_env
        self._client = httpx.Client(headers=headers, timeout=self.limits.timeout_s)
        self._slots = threading.BoundedSemaphore(self.batch)
        self._lock = threading.Lock()
        self._usage = Usage()

    @property
    def usage(self) -> Usage:
        """What this translator has spent so far (take differences for one episode)."""
        with self._lock:
            return self._usage

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ generation
    def _generate(self, system: str, users: list[str], max_new_tokens: list[int]) -> list[str]:
        if len(users) == 1:
            return [self._complete(system, users[0], max_new_tokens[0])]
        with ThreadPoolExecutor(max_workers=self.batch) as pool:
            return list(pool.map(self._complete, [system] * len(users), users, max_new_tokens))

    def _complete(self, system: str, user: str, max_tokens: int) -> str:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0,
            "max_tokens": max_tokens,
            "frequency_penalty": 0.0,
        }
        with self._slots:
            data = self._post(body)
        try:
            reply = str(data["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError(
                f"the translation endpoint {self.endpoint} sent a reply without "
                f"choices[0].message.content",
                "check that it is an OpenAI-compatible chat completions server",
                endpoint=self.endpoint,
            ) from exc
        usage = data.get("usage") or {}
        self._add(
            Usage(
                requests=1,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            )
        )
        return reply

    def _add(self, usage: Usage) -> None:
        with self._lock:
            self._usage = self._usage + usage

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.endpoint}/chat/completions"
        last = ""
        for attempt in range(1, self.limits.attempts + 1):
            wait: float | None = None
            try:
                response = self._client.post(url, json=body)
            except httpx.TransportError as exc:  # refused, reset, timed out
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    data: dict[str, Any] = response.json()
                    return data
                if response.status_code not in _RETRY_STATUS:
                    raise self._refused(response)
                last = f"HTTP {response.status_code}"
                wait = _retry_after(response)
            if attempt == self.limits.attempts:
                break
            delay = self._delay(attempt, wait)
            log.warning(
                "translation endpoint %s: %s; retry %d/%d in %.1f s",
                self.endpoint,
                last,
                attempt,
                self.limits.attempts - 1,
                delay,
            )
            self._add(Usage(retries=1))
            _sleep(delay)
        raise EndpointError(
            f"the translation endpoint {self.endpoint} did not answer after "
            f"{self.limits.attempts} attempts (last: {last})",
            "check that the model server is running and reachable from this worker "
            "(curl it: GET /v1/models), then run the episode again; nothing was published",
            endpoint=self.endpoint,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; a server's Retry-After is a floor."""
        cap = min(self.limits.max_backoff_s, self.limits.backoff_s * 2 ** (attempt - 1))
        delay = random.uniform(cap / 2, cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.limits.max_retry_after_s))
        return delay

    def _refused(self, response: httpx.Response) -> EndpointError:
        status = response.status_code
        detail = response.text[:300].strip()
        if status in (401, 403):
            hint = (
                f"set the API key in the environment variable {self._key_env} on every "
                "worker (or name another variable in the run settings)"
            )
        elif status == 404:
            hint = (
                f"check the model name {self.model!r} (GET {self.endpoint}/models lists them) "
                "and that the endpoint ends in /v1"
            )
        else:
            hint = "check the request limits of the server (context size, max_tokens)"
        return EndpointError(
            f"the translation endpoint {self.endpoint} refused the request: HTTP {status} {detail}",
            hint,
            endpoint=self.endpoint,
        )
