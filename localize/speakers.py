"""Who speaks each line: a voice embedding per cue, clusters per episode, a series bank.

1. **Embed**: each cue's span of the episode's speech (the dialogue stem when there is
   one, else the soundtrack) becomes a 256-d d-vector (the packaged ``dvector-lstm``
   ONNX, 40-mel log-mel in 80-frame windows; onnxruntime + numpy, no torch). A span with
   no speech in it (silence, music only) gets no embedding and no speaker.
2. **Cluster** the cues of an episode (average-linkage, cosine distance, one threshold).
3. **Match** clusters to the series' characters through the **voice bank** (a centroid
   per character, kept in ``LOCALIZE_DATA/series/<id>/voices.json`` beside the memory and
   the cast): a cluster close enough to a character's centroid is that character. The
   bank learns when a reviewer confirms or corrects a speaker (:meth:`VoiceBank.learn`).
   A cluster no character matches stays anonymous (``?1``, ``?2``): the dub gives those
   lines the narrator's voice.

Gender per cluster comes from the glossary once the character is known; before that a
pitch estimate (:func:`estimate_gender`) is enough to tell the narrator's voice apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from localize.domain import Cue, CueTrack
from localize.errors import LocalizeError, ModelError

if TYPE_CHECKING:
    from localize.glossary import Glossary
    from localize.models import ModelStore

SAMPLE_RATE = 16_000
_N_FFT, _WIN, _HOP, _MELS = 512, 400, 160, 40
_WINDOW, _STRIDE = 80, 40
#: a cue whose loudest 100 ms is below this RMS has no speech to embed (-46 dBFS)
SILENCE_RMS = 0.005
#: cosine similarity above which two cue embeddings are one voice (cluster merge)
SAME_VOICE = 0.80
#: cosine similarity a cluster's centroid needs to be a bank character
BANK_MATCH = 0.75

Vector = npt.NDArray[np.float32]


class SpeakerError(LocalizeError):
    """Speaker attribution cannot run as asked (a bank of another series, a bad file)."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "series")

    def __init__(self, message: str, hint: str = "", series: str = "") -> None:
        super().__init__(message, hint)
        self.series = series


# ----------------------------------------------------------------------------- features


def _mel_filters(sr: int = SAMPLE_RATE, n_fft: int = _N_FFT, n_mels: int = _MELS) -> Vector:
    """Slaney-style mel filterbank (librosa's default), shape (n_mels, n_fft // 2 + 1)."""

    def hz_to_mel(f: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lin = f / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log, lin)

    def mel_to_hz(m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lin = m * (200.0 / 3)
        log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
        return np.where(m >= 15.0, log, lin)

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sr / 2.0)),
                                  n_mels + 2))  # fmt: skip
    lower = (freqs[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - freqs[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


_MEL = _mel_filters()
_HAMMING = np.pad(np.hamming(_WIN + 1)[:-1], ((_N_FFT - _WIN) // 2, (_N_FFT - _WIN + 1) // 2))


def log_mel(samples: Vector) -> Vector:
    """(frames, 40) log10 mel power of 16 kHz audio (25 ms Hamming, 10 ms hop)."""
    if len(samples) < _N_FFT:
        samples = np.pad(samples, (0, _N_FFT - len(samples)))
    count = 1 + (len(samples) - _N_FFT) // _HOP
    idx = np.arange(_N_FFT)[None, :] + _HOP * np.arange(count)[:, None]
    power = np.abs(np.fft.rfft(samples[idx] * _HAMMING, axis=1)) ** 2
    feat: Vector = np.log10(power @ _MEL.T + 1e-10).astype(np.float32)
    return feat


# ---------------------------------------------------------------------------- embedding


@dataclass
class DVectorEmbedder:
    """The packaged d-vector LSTM (``dvector-lstm``) on onnxruntime; loads on first use."""

    store: ModelStore | None = None
    threads: int = 2
    _session: Any = field(default=None, init=False, repr=False)

    def _load(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            from localize.models import ModelStore

            folder = (self.store or ModelStore()).resolve("dvector-lstm")
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            try:
                self._session = ort.InferenceSession(
                    str(folder / "embedder.int8.onnx"), options,
                    providers=["CPUExecutionProvider"],
                )  # fmt: skip
            except Exception as exc:  # onnxruntime's own types for a damaged file
                raise ModelError(
                    f"cannot load the speaker embedder from {folder}: {exc}",
                    "run: localize models fetch --force dvector-lstm",
                    model="dvector-lstm",
                ) from exc
        return self._session

    def embed(self, samples: Vector) -> Vector:
        """An L2-normalised 256-d voice embedding of 16 kHz speech."""
        feat = log_mel(samples)
        if len(feat) < _WINDOW:
            feat = np.concatenate([feat, np.zeros((_WINDOW - len(feat), _MELS), np.float32)])
        starts = range(0, len(feat) - _WINDOW + 1, _STRIDE)
        windows = np.stack([feat[s : s + _WINDOW] for s in starts]).astype(np.float32)
        emb = np.asarray(self._load().run(None, {"mel_window": windows})[0], dtype=np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
        return _unit(emb.mean(axis=0))


def _span(audio: Vector, cue: Cue) -> Vector:
    return audio[cue.start_ms * SAMPLE_RATE // 1000 : cue.end_ms * SAMPLE_RATE // 1000]


def has_speech(samples: Vector) -> bool:
    """True when the loudest 100 ms of ``samples`` is above :data:`SILENCE_RMS`."""
    step = SAMPLE_RATE // 10
    if len(samples) < step:
        return False
    blocks = samples[: len(samples) // step * step].reshape(-1, step)
    return bool(np.sqrt((blocks.astype(np.float64) ** 2).mean(axis=1)).max() >= SILENCE_RMS)


def cue_embeddings(
    audio: Vector, cues: Sequence[Cue], embedder: DVectorEmbedder
) -> list[Vector | None]:
    """An embedding per cue from its span of ``audio`` (16 kHz mono); None when silent."""
    return [embedder.embed(span) if has_speech(span := _span(audio, cue)) else None for cue in cues]


def estimate_gender(samples: Vector) -> str:
    """Say "female", "male" or "unknown" from the median voiced pitch (autocorrelation):
    a first cut, good for synthetic voices, rough for real ones (165 Hz boundary)."""
    frame, hop = 640, 320  # 40 ms frames
    pitches: list[float] = []
    for start in range(0, len(samples) - frame, hop):
        x = samples[start : start + frame].astype(np.float64)
        if np.sqrt((x**2).mean()) < SILENCE_RMS:
            continue
        x -= x.mean()
        ac = np.correlate(x, x, "full")[frame - 1 :]
        lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 70  # 70-400 Hz
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            pitches.append(SAMPLE_RATE / lag)
    if len(pitches) < 3:
        return "unknown"
    return "female" if float(np.median(pitches)) >= 165.0 else "male"


# ---------------------------------------------------------------------------- clustering


def cluster(embeddings: Sequence[Vector], threshold: float = SAME_VOICE) -> list[int]:
    """Average-linkage agglomerative clusters of unit vectors: a label per embedding,
    clusters merged while their mean cosine similarity is at least ``threshold``."""
    groups: list[list[int]] = [[i] for i in range(len(embeddings))]
    if not groups:
        return []
    sims = np.stack(embeddings) @ np.stack(embeddings).T
    while len(groups) > 1:
        best, pair = -2.0, (0, 0)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                score = float(sims[np.ix_(groups[a], groups[b])].mean())
                if score > best:
                    best, pair = score, (a, b)
        if best < threshold:
            break
        a, b = pair
        groups[a] += groups.pop(b)
    labels = [0] * len(embeddings)
    for label, members in enumerate(groups):
        for i in members:
            labels[i] = label
    return labels


# ----------------------------------------------------------------------------- the bank


def _unit(v: npt.NDArray[np.floating[Any]]) -> Vector:
    unit: Vector = (v / (np.linalg.norm(v) + 1e-12)).astype(np.float32)
    return unit


@dataclass
class VoiceBank:
    """Per-character voice centroids of one series (``voices.json`` in its data folder)."""

    series: str
    centroids: dict[str, Vector] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def path_for(series: str) -> Path:
        from localize.models import localize_data
        from localize.paths import safe_name

        return localize_data() / "series" / safe_name(series, "series id") / "voices.json"

    @classmethod
    def load(cls, series: str, path: Path | None = None) -> VoiceBank:
        """The series' bank (empty when none yet). Raises SpeakerError for a bank file of
        another series or one that cannot be read."""
        path = path or cls.path_for(series)
        if not path.is_file():
            return cls(series)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            chars = data["characters"]
            bank = cls(
                str(data["series"]),
                {k: _unit(np.asarray(v["centroid"], np.float32)) for k, v in chars.items()},
                {k: int(v["count"]) for k, v in chars.items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SpeakerError(
                f"the voice bank {path} cannot be read ({exc})",
                f"delete it to start the bank afresh (reviewed speakers refill it): {path}",
                series=series,
            ) from exc
        if bank.series != series:
            raise SpeakerError(
                f"the voice bank {path} belongs to series {bank.series!r}, not {series!r}",
                "series state folders must not be copied between series; delete the file",
                series=series,
            )
        return bank

    def save(self, path: Path | None = None) -> None:
        path = path or self.path_for(self.series)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "series": self.series,
            "characters": {
                k: {"centroid": [round(float(x), 6) for x in v], "count": self.counts.get(k, 1)}
                for k, v in sorted(self.centroids.items())
            },
        }
        fd, tmp = tempfile.mkstemp(prefix=".voices-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)

    def learn(self, character: str, embedding: Vector) -> None:
        """Fold one confirmed line of ``character`` into its centroid (running mean)."""
        n = self.counts.get(character, 0)
        old = self.centroids.get(character)
        mean = embedding if old is None else (old * n + embedding) / (n + 1)
        self.centroids[character] = _unit(mean)
        self.counts[character] = n + 1

    def match(self, embedding: Vector, threshold: float = BANK_MATCH) -> str | None:
        """The character whose centroid is most similar, if at least ``threshold``."""
        best, who = threshold, None
        for name, centroid in self.centroids.items():
            score = float(embedding @ centroid)
            if score >= best:
                best, who = score, name
        return who


@contextlib.contextmanager
def locked_bank(series: str) -> Iterator[VoiceBank]:
    """Load, change and save the series' bank under a lock (parallel episodes)."""
    path = VoiceBank.path_for(series)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(".voices.json.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            bank = VoiceBank.load(series, path)
            yield bank
            bank.save(path)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------- attribute


@dataclass(frozen=True)
class Attribution:
    """Who speaks each cue: ``speakers[i]`` is a bank character, ``?k`` (an anonymous
    voice, cluster k), or None (no speech in the cue's span)."""

    speakers: tuple[str | None, ...]
    clusters: tuple[int | None, ...]
    embeddings: tuple[Vector | None, ...] = field(repr=False, compare=False)


def attribute(
    embeddings: Sequence[Vector | None],
    bank: VoiceBank | None = None,
    *,
    same_voice: float = SAME_VOICE,
    bank_match: float = BANK_MATCH,
) -> Attribution:
    """Cluster the cues' embeddings and name each cluster from ``bank``: each character
    names at most one cluster (the closest), the others stay anonymous (``?k``)."""
    present_vectors = {i: e for i, e in enumerate(embeddings) if e is not None}
    present = list(present_vectors)
    labels = cluster(list(present_vectors.values()), same_voice)
    by_cluster: dict[int, list[int]] = {}
    for i, label in zip(present, labels, strict=True):
        by_cluster.setdefault(label, []).append(i)
    names: dict[int, str] = {}
    if bank is not None and bank.centroids:
        scored = []
        for label, members in by_cluster.items():
            centroid = _unit(np.mean(np.stack([present_vectors[i] for i in members]), axis=0))
            for who, c in bank.centroids.items():
                scored.append((float(centroid @ c), label, who))
        taken: set[str] = set()
        for score, label, who in sorted(scored, reverse=True):
            if score >= bank_match and label not in names and who not in taken:
                names[label] = who
                taken.add(who)
    speakers: list[str | None] = [None] * len(embeddings)
    clusters: list[int | None] = [None] * len(embeddings)
    for label, members in by_cluster.items():
        for i in members:
            speakers[i] = names.get(label, f"?{label + 1}")
            clusters[i] = label
    return Attribution(tuple(speakers), tuple(clusters), tuple(embeddings))


def with_speakers(
    track: CueTrack, attribution: Attribution, names: Mapping[str, str] | None = None
) -> CueTrack:
    """``track`` with each cue's speaker set from ``attribution`` where the cue has none
    (``names`` maps bank keys to the names the cast knows; anonymous voices stay ``?k``)."""
    cues = tuple(
        cue if cue.speaker or who is None else replace(cue, speaker=(names or {}).get(who, who))
        for cue, who in zip(track.cues, attribution.speakers, strict=True)
    )
    return replace(track, cues=cues)


def attribute_track(
    track: CueTrack,
    audio: Path | Vector,
    series: str,
    *,
    names: Mapping[str, str] | None = None,
    embedder: DVectorEmbedder | None = None,
) -> tuple[CueTrack, dict[str, str]]:
    """Give every cue of ``track`` without a speaker the one heard in ``audio`` (the
    dialogue stem, else the episode; a path or 16 kHz samples), named from the series'
    voice bank (``names`` maps bank keys to the names to write). Returns the track and,
    per anonymous voice (``?k``), its estimated gender (so the dub can give each its own
    voice)."""
    if all(cue.speaker for cue in track.cues):
        return track, {}
    if not isinstance(audio, np.ndarray):
        from localize.media import load_audio

        audio = load_audio(audio, sample_rate=SAMPLE_RATE)
    embeddings = cue_embeddings(audio, track.cues, embedder or DVectorEmbedder())
    named = with_speakers(track, attribute(embeddings, VoiceBank.load(series)), names)
    return named, anonymous_genders(named, audio)


def anonymous_genders(track: CueTrack, audio: Path | Vector) -> dict[str, str]:
    """Per anonymous voice of ``track`` (a speaker ``?k``), the gender its lines' pitch
    suggests, so the dub gives each its own voice of that gender."""
    spans: dict[str, list[Cue]] = {}
    for cue in track.cues:
        if cue.speaker and cue.speaker.startswith("?"):
            spans.setdefault(cue.speaker, []).append(cue)
    if not spans:
        return {}
    if not isinstance(audio, np.ndarray):
        from localize.media import load_audio

        audio = load_audio(audio, sample_rate=SAMPLE_RATE)
    return {
        who: estimate_gender(np.concatenate([_span(audio, c) for c in cues]))
        for who, cues in spans.items()
    }


def speaker_names(glossary: Glossary, language: str) -> dict[str, str]:
    """Bank keys (each character's zh) -> the name a reviewer sees: the glossary's
    rendering in ``language``, else the zh."""
    return {c.zh: c.renderings.get(language) or c.zh for c in glossary.characters}


def attribute_targets(
    targets: Mapping[str, CueTrack],
    audio: Path | Vector,
    series: str,
    *,
    names: Mapping[str, str] | None = None,
    embedder: DVectorEmbedder | None = None,
) -> dict[str, CueTrack]:
    """Every target track with the speaker of each cue (heard once, on the first
    track's timing, which all targets share), before review: the draft shows them and a
    reviewer corrects them (``3 | @Lin Wan``). ``names`` maps bank keys (the glossary's
    zh) to the names shown; a cue that already has a speaker keeps it."""
    if not targets:
        return {}
    first = next(iter(targets.values()))
    heard, _ = attribute_track(first, audio, series, names=names, embedder=embedder)
    return {
        lang: replace(
            track,
            cues=tuple(
                cue if cue.speaker else replace(cue, speaker=who.speaker)
                for cue, who in zip(track.cues, heard.cues, strict=True)
            ),
        )
        for lang, track in targets.items()
    }


def learn_speakers(
    track: CueTrack,
    audio: Path | Vector,
    series: str,
    *,
    embedder: DVectorEmbedder | None = None,
    canonical: Callable[[str], str | None] | None = None,
) -> int:
    """Fold every cue whose speaker a reviewer confirmed (a character name, not ``?k``)
    into the series' voice bank; returns how many lines were learnt. ``canonical`` maps
    a name to the bank's key (the glossary's zh) or None to skip a name it does not know."""
    name = canonical or (lambda who: who)
    confirmed = [
        replace(c, speaker=name(c.speaker))
        for c in track.cues
        if c.speaker and not c.speaker.startswith("?") and name(c.speaker)
    ]
    if not confirmed:
        return 0
    if not isinstance(audio, np.ndarray):
        from localize.media import load_audio

        audio = load_audio(audio, sample_rate=SAMPLE_RATE)
    embeddings = cue_embeddings(audio, confirmed, embedder or DVectorEmbedder())
    learnt = 0
    with locked_bank(series) as bank:
        for cue, embedding in zip(confirmed, embeddings, strict=True):
            if embedding is not None and cue.speaker:
                bank.learn(cue.speaker, embedding)
                learnt += 1
    return learnt
