"""Persisted task results that cannot run code when they are read back.

Prefect pickles results by default, and a result file says itself how to read it
(``"serializer": {"type": "pickle"}``, or ``json`` with any ``object_decoder``): whoever can
write to the result storage (shared storage of a catalog run, another worker host)
could otherwise run code in every process that reads the cache. So:

- :data:`RESULTS` stores what the tasks return (frozen dataclasses of ``localize`` and
  ``flows``, tuples, lists, dicts, paths, numbers, strings) as typed JSON, and reads back only
  those types; nothing is imported or called but our own dataclasses.
- :class:`SafeLocalFileSystem` / :class:`SafeRemoteFileSystem` (what
  :func:`save_result_storage` registers) hand Prefect only records written by
  :data:`RESULTS`; any other record is refused before Prefect parses it, and Prefect then
  treats the cache entry as missing: the task runs again and overwrites it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from pathlib import Path, PurePath
from typing import Any, ParamSpec, TypeVar

from prefect import Flow
from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect.filesystems import LocalFileSystem, RemoteFileSystem
from prefect.serializers import Serializer
from pydantic import Field

from localize.errors import LocalizeError

P = ParamSpec("P")
R = TypeVar("R")

#: the only packages whose dataclasses a stored result may name
TRUSTED_PACKAGES = ("localize", "flows")
SERIALIZER_TYPE = "localize-json"


class UntrustedResultError(LocalizeError):
    """A stored result was not written by localize's typed JSON serializer."""


class TypedJSONSerializer(Serializer):
    """JSON with the Python types the tasks return: dataclasses (by qualified name, only
    from :data:`TRUSTED_PACKAGES`), tuples, dicts with any keys, lists and scalars."""

    type: str = Field(default=SERIALIZER_TYPE, frozen=True)

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(_encode(obj), ensure_ascii=False).encode("utf-8")

    def loads(self, blob: bytes) -> Any:
        return _decode(json.loads(blob))


RESULTS = TypedJSONSerializer()


def _encode(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if isinstance(obj, tuple):
        return {"tuple": [_encode(v) for v in obj]}
    if isinstance(obj, dict):
        return {"dict": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, PurePath):
        return {"path": str(obj)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        fields = {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        return {"dataclass": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    raise ValueError(f"cannot store a {type(obj).__name__} as a typed JSON result")


def _decode(data: Any) -> Any:
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [_decode(v) for v in data]
    if isinstance(data, dict) and set(data) == {"tuple"}:
        return tuple(_decode(v) for v in data["tuple"])
    if isinstance(data, dict) and set(data) == {"dict"}:
        return {_decode(k): _decode(v) for k, v in data["dict"]}
    if isinstance(data, dict) and set(data) == {"path"}:
        return Path(str(data["path"]))
    if isinstance(data, dict) and set(data) == {"dataclass", "fields"}:
        cls = _trusted_dataclass(str(data["dataclass"]))
        return cls(**{k: _decode(v) for k, v in dict(data["fields"]).items()})
    raise UntrustedResultError(
        f"stored result holds an unexpected value ({type(data).__name__})",
        "delete the result file; the task runs again",
    )


def _trusted_dataclass(name: str) -> type[Any]:
    module, _, qualname = name.partition(":")
    if module.split(".")[0] not in TRUSTED_PACKAGES or not qualname:
        raise UntrustedResultError(
            f"stored result names {name!r}, which is not a localize type",
            "delete the result file; the task runs again",
        )
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise UntrustedResultError(
            f"stored result names {name!r}, which is not a localize dataclass",
            "delete the result file; the task runs again",
        )
    return target


def trusted_record(path: str, content: bytes) -> bytes:
    """``content`` if Prefect will read it with :data:`RESULTS`, else raise
    :class:`UntrustedResultError` (before anything in it is decoded or imported).

    Two shapes are accepted: a result record (``{"metadata": ..., "result": ...}``, what a
    task's cache holds) naming :data:`RESULTS` as its serializer, and a bare JSON value
    that is no record (a flow's result: Prefect reads it with the serializer the flow run
    recorded). Anything else (a pickle, a record naming another serializer) is refused.
    """
    try:
        data = json.loads(content)
    except ValueError:
        data = kind = None
    else:
        is_record = isinstance(data, dict) and ("metadata" in data or "result" in data)
        if not is_record:
            return content
        try:
            kind = data["metadata"]["serializer"]["type"]
        except (TypeError, KeyError):
            kind = None
    if kind != SERIALIZER_TYPE:
        raise UntrustedResultError(
            f"refusing the stored result {path}: it was not written by localize "
            f"(serializer {kind!r}, expected {SERIALIZER_TYPE!r})",
            "nothing in it was run; the task computes its result again",
        )
    return content


class SafeLocalFileSystem(LocalFileSystem):
    """A folder of results that hands Prefect only records written by :data:`RESULTS`."""

    _block_type_name = "Localize Result Folder"

    async def aread_path(self, path: str) -> bytes:
        return trusted_record(path, await super().aread_path(path))

    @async_dispatch(aread_path)
    def read_path(self, path: str) -> bytes:  # type: ignore[override]
        return trusted_record(path, super().read_path(path, _sync=True))  # type: ignore[call-arg,arg-type]


class SafeRemoteFileSystem(RemoteFileSystem):
    """An fsspec location (``s3://...``) of results, read like :class:`SafeLocalFileSystem`."""

    _block_type_name = "Localize Remote Result Storage"

    async def aread_path(self, path: str) -> bytes:
        return trusted_record(path, await super().aread_path(path))

    @async_dispatch(aread_path)
    def read_path(self, path: str) -> bytes:  # type: ignore[override]
        return trusted_record(path, super().read_path(path, _sync=True))  # type: ignore[call-arg,arg-type]


def save_result_storage(spec: str) -> str:
    """Register a folder path or an fsspec URL (``s3://bucket/x``) as a result storage
    block that reads only :data:`RESULTS` records; return its slug.

    Prefect wants result storage saved server-side: then every worker, on any host,
    loads the same block from the API and reads and writes the same cached results.
    """
    block: SafeLocalFileSystem | SafeRemoteFileSystem
    if "://" in spec and not spec.startswith("file://"):
        block, where = SafeRemoteFileSystem(basepath=spec), spec
    else:
        path = Path(spec.removeprefix("file://")).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        block, where = SafeLocalFileSystem(basepath=str(path)), str(path)
    name = "localize-results-" + hashlib.sha256(where.encode()).hexdigest()[:12]
    block.save(name, overwrite=True)
    return f"{block.get_block_type_slug()}/{name}"


def with_guarded_results(flow: Flow[P, R], folder: Path | None = None) -> Flow[P, R]:
    """``flow`` storing its result and its tasks' in ``folder`` (default
    ``LOCALIZE_HOME/results``) through a storage that reads back only :data:`RESULTS`
    records (Prefect's default storage would read back anything, pickles included)."""
    from localize.models import localize_home

    where = folder or localize_home() / "results"
    return flow.with_options(result_storage=save_result_storage(str(where)))
