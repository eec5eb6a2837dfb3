"""Generate a realistic sample episode with no copyrighted material.

The episode is the team's own script (:mod:`localize.sample.script`) voiced by
espeak-ng's Mandarin voice, over a synthetic music bed, on a 720x1280 picture with
the Chinese captions burned into the lower third, exactly like the micro-dramas the
pipeline is built for. Alongside the video it writes the ground truth (what is said,
by whom, and where the speech really is) so every stage can be tested against it:

- ``episode.mp4``: H.264 yuv420p 720x1280 25 fps, AAC 48 kHz stereo;
- ``ground_truth.json``: series, episode and the lines with measured speech spans;
- ``ground_truth.zh.srt``: the burned-in captions as a subtitle file;
- ``speech.wav`` / ``music.wav``: the dialogue stem and the music-and-effects stem
  (48 kHz stereo), whose sum is the episode's soundtrack.

Everything is deterministic: the same seed gives the same timings and ground truth.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from localize.domain import Cue
from localize.errors import LocalizeError, MediaError, ToolMissingError
from localize.sample import scenery as hard
from localize.sample.script import SCRIPT, Script
from localize.tools import run_tool

Audio = npt.NDArray[np.float64]
Image = npt.NDArray[np.float32]

WIDTH, HEIGHT, FPS = 720, 1280, 25
SAMPLE_RATE = 48_000
#: espeak-ng always synthesises at 22.05 kHz; 882 samples per 25 fps frame
ESPEAK_RATE = 22_050
FRAME_MS = 1000 // FPS

FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_NAME = "WenQuanYi Zen Hei"

#: caption band as fractions of the picture height (bottom of the text at ~82 %)
CAPTION_BAND = (0.72, 0.84)
CAPTION_FONT_SIZE = 44
#: more characters than this and a caption is broken into two display lines
CAPTION_MAX_CHARS = 14

LEAD_IN_MS = 1000
GAP_RANGE_MS = (400, 1500)
#: the slap needs room: it sounds shortly after the previous line and must die away
EFFECT_GAP_MS = 1200
EFFECT_DELAY_MS = 150
OUTRO_MS = 2500
MIN_DURATION_MS, MAX_DURATION_MS = 60_000, 90_000

SPEECH_RMS = 0.1  # -20 dBFS per line, so every line is equally loud
MUSIC_BELOW_SPEECH_DB = 18.0
#: a sample belongs to speech when louder than this, relative to the line's peak
TRIM_THRESHOLD_DB = -40.0


@dataclass(frozen=True)
class Voice:
    """espeak-ng settings for one character: voice variant, pitch (0-99), words per minute."""

    variant: str
    pitch: int
    speed: int


VOICES: dict[str, Voice] = {
    "lin_wan": Voice("f2", 62, 190),
    "gu_yanshen": Voice("m3", 28, 175),
    "su_man": Voice("f4", 72, 205),
    "secretary_chen": Voice("m2", 45, 195),
    "madam_gu": Voice("f1", 40, 165),
}

#: (top colour, bottom colour, light colour) of each character's backdrop
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "lin_wan": ((236, 196, 206), (104, 58, 84), (255, 232, 204)),
    "gu_yanshen": ((46, 66, 98), (10, 14, 28), (130, 170, 230)),
    "su_man": ((150, 46, 86), (38, 10, 34), (255, 130, 170)),
    "secretary_chen": ((76, 118, 118), (18, 34, 40), (190, 230, 220)),
    "madam_gu": ((176, 126, 66), (58, 34, 20), (255, 214, 150)),
    "outro": ((24, 20, 26), (4, 4, 8), (90, 60, 70)),
}


@dataclass(frozen=True)
class SampleEpisode:
    """The files of a generated sample episode and its ground truth.

    ``lines`` are the Chinese lines as cues: ``text`` is the caption as burned in
    (display lines joined with ``\\n``), ``speaker`` the cast id, and the times are the
    measured speech spans, which are also the caption times. ``reference_en``
    are the same cues carrying the reference English translation, with the Chinese
    in ``source``.
    """

    directory: Path
    video: Path
    ground_truth: Path
    captions_srt: Path
    speech: Path
    music: Path
    series: str
    episode: int
    duration_ms: int
    lines: tuple[Cue, ...]
    reference_en: tuple[Cue, ...]
    scenery: str = "still"


# --- text to numbered pinyin ----------------------------------------------------------

_HANZI_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
#: punctuation -> the ASCII mark that makes espeak pause the same way
_PAUSES = {
    "，": ",", "、": ",", "；": ",", "：": ",", "…": ",", "—": ",", "～": ",",
    "。": ".", "？": "?", "！": "!",
    ",": ",", ";": ",", ":": ",", ".": ".", "?": "?", "!": "!",
}  # fmt: skip
#: Latin letters as Mandarin speakers say them, in syllables espeak's pinyin voice knows
_LETTERS = {
    "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2 fu5",
    "G": "ji4", "H": "ai2 qi1", "I": "ai4", "J": "jie4", "K": "kai4", "L": "ai2 le5",
    "M": "ai2 mu5", "N": "en1", "O": "ou1", "P": "pi4", "Q": "ke4 you1", "R": "a4 er5",
    "S": "ai2 si5", "T": "ti4", "U": "you1", "V": "wei1", "W": "da2 bu5 liu5",
    "X": "ai2 ke4 si5", "Y": "wai1", "Z": "zei4",
}  # fmt: skip
_DIGITS = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")
#: common erhua words. espeak has no r-coloured finals for most syllables ("nar3" comes
#: out as two syllables), so the 儿 is read as a light neutral-tone "er5" instead.
_ERHUA_WORDS = ("哪儿", "这儿", "那儿", "一点儿", "一会儿", "有点儿", "玩儿", "事儿", "一块儿")


def _tone(syllable: str) -> int:
    return int(syllable[-1]) if syllable and syllable[-1].isdigit() else 0


def _hanzi_pinyin(run: str) -> list[str]:
    """One numbered-pinyin syllable per character of a run of hanzi."""
    from pypinyin import Style, lazy_pinyin  # lazy: loads large dictionaries

    syllables: list[str] = list(
        lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True)
    )
    if len(syllables) != len(run):  # pypinyin promises one per character; check anyway
        raise LocalizeError(
            f"pypinyin returned {len(syllables)} syllables for {len(run)} characters: {run!r}",
            "upgrade pypinyin (pip install -U pypinyin)",
        )
    for i, char in enumerate(run):
        if char == "儿" and any(run[: i + 1].endswith(word) for word in _ERHUA_WORDS):
            syllables[i] = "er5"
        # pypinyin's sandhi misses 一 in many words (一年, 一巴掌): yi4 before tones 1-3,
        # yi2 before tone 4; not after 第 (an ordinal) or at the end of the run
        elif char == "一" and i + 1 < len(run) and (i == 0 or run[i - 1] != "第"):
            following = _tone(syllables[i + 1])
            if following in (1, 2, 3):
                syllables[i] = "yi4"
            elif following == 4:
                syllables[i] = "yi2"
    return syllables


def pinyin_for_espeak(text: str) -> str:
    """Numbered pinyin for ``espeak-ng -v cmn-latn-pinyin`` (which cannot read hanzi).

    Syllables are separated by spaces, tones are digits (neutral tone 5), Chinese
    punctuation becomes the ASCII mark that makes espeak pause, Latin letters are
    spelled as Mandarin speakers say them ("VIP" -> "wei1 ai4 pi4") and digits are
    read one by one. Anything else (quotes, brackets, emoji) is dropped.

    >>> pinyin_for_espeak("顾总，VIP！")
    'gu4 zong3, wei1 ai4 pi4!'
    """
    words: list[str] = []

    def pause(mark: str) -> None:
        # a pause attaches to the previous word; doubled marks (……, ？！) pause once
        if words and words[-1][-1] not in ",.?!":
            words[-1] += mark
        elif words and mark in ".?!" and words[-1][-1] == ",":
            words[-1] = words[-1][:-1] + mark

    position = 0
    for match in _HANZI_RUN.finditer(text):
        _other_pinyin(text[position : match.start()], words, pause)
        words.extend(_hanzi_pinyin(match.group()))
        position = match.end()
    _other_pinyin(text[position:], words, pause)
    return " ".join(words)


def _other_pinyin(chunk: str, words: list[str], pause: Callable[[str], None]) -> None:
    for char in chunk:
        upper = char.upper()
        if upper in _LETTERS:
            words.extend(_LETTERS[upper].split())
        elif char.isascii() and char.isdigit():
            words.append(_DIGITS[int(char)])
        elif char in _PAUSES:
            pause(_PAUSES[char])


# --- audio ----------------------------------------------------------------------------


def _read_wav(path: Path) -> tuple[Audio, int]:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise MediaError(
                f"{path.name}: expected 16-bit PCM, got {8 * wav.getsampwidth()}-bit",
                "check the espeak-ng installation",
                path=str(path),
            )
        channels, rate = wav.getnchannels(), wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    samples = data.reshape(-1, channels).mean(axis=1) / 32768.0
    return samples.astype(np.float64), rate


def _write_wav(path: Path, samples: Audio, rate: int) -> None:
    """Write float samples in [-1, 1] (mono or (n, channels)) as 16-bit PCM."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = np.round(np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(frames.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def speech_bounds(samples: Audio, *, threshold_db: float = TRIM_THRESHOLD_DB) -> tuple[int, int]:
    """First and one-past-last sample louder than ``threshold_db`` below the peak.

    Raises MediaError if the audio is silent.
    """
    magnitude = np.abs(samples)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak <= 0.0:
        raise MediaError("synthesised speech is silent", "check the espeak-ng installation")
    loud = np.flatnonzero(magnitude >= peak * 10.0 ** (threshold_db / 20.0))
    return int(loud[0]), int(loud[-1]) + 1


def _synthesise(text: str, voice: Voice, work: Path, name: str) -> Audio:
    """Speak ``text`` with espeak-ng and return the trimmed, level-normalised samples."""
    text_file = work / f"{name}.txt"
    wav_file = work / f"{name}.wav"
    text_file.write_text(pinyin_for_espeak(text), encoding="utf-8")
    run_tool(
        ["espeak-ng", "-v", f"cmn-latn-pinyin+{voice.variant}", "-p", str(voice.pitch),
         "-s", str(voice.speed), "-f", str(text_file), "-w", str(wav_file)],
        timeout=60,
        what=f"synthesising {name} with espeak-ng",
    )  # fmt: skip
    samples, rate = _read_wav(wav_file)
    if rate != ESPEAK_RATE:
        raise MediaError(
            f"espeak-ng wrote {rate} Hz audio, expected {ESPEAK_RATE} Hz",
            "use the Debian espeak-ng package",
            path=str(wav_file),
        )
    start, end = speech_bounds(samples)
    speech = samples[start:end]
    return speech * (SPEECH_RMS / float(np.sqrt(np.mean(speech**2))))


def _resample(samples: Audio, src: int, dst: int) -> Audio:
    """Band-limited resampling by zero-padding the spectrum.

    Exact for the whole-track use here: the track length is a whole number of video
    frames, so ``len * dst / src`` is an integer and the timeline does not drift.
    """
    n_in = samples.shape[0]
    n_out = n_in * dst // src
    spectrum = np.fft.rfft(samples)
    padded = np.zeros(n_out // 2 + 1, dtype=complex)
    keep = min(spectrum.shape[0], padded.shape[0])
    padded[:keep] = spectrum[:keep]
    resampled: Audio = np.fft.irfft(padded, n_out) * (n_out / n_in)
    return resampled


def _midi_hz(note: int) -> float:
    return float(440.0 * 2.0 ** ((note - 69) / 12.0))


#: a melancholy i-VI-III-VII progression in A minor, as MIDI notes (bass first)
_CHORDS = ((45, 57, 60, 64), (41, 57, 60, 65), (48, 55, 60, 64), (43, 55, 59, 62))
_CHORD_S = 4.0


def _music_bed(n_samples: int, rate: int) -> Audio:
    """A soft synthetic pad with a plucked arpeggio, stereo, unit RMS.

    Sines with a slow tremolo: tonal and steady like a drama's underscore, with no
    noise that a recogniser could mistake for speech.
    """
    t = np.arange(n_samples) / rate
    out = np.zeros((n_samples, 2))
    pad = np.zeros(n_samples)
    chord_len = int(_CHORD_S * rate)
    fade = int(0.4 * rate)
    for k, start in enumerate(range(0, n_samples, chord_len)):
        lo, hi = max(0, start - fade), min(n_samples, start + chord_len + fade)
        tt = t[lo:hi]
        # raised-cosine cross-fades between chords so changes are smooth
        ramp = np.clip((tt - (start - fade) / rate) / (2 * fade / rate), 0, 1)
        tail = np.clip(((start + chord_len + fade) / rate - tt) / (2 * fade / rate), 0, 1)
        window = np.sin(0.5 * np.pi * ramp) ** 2 * np.sin(0.5 * np.pi * tail) ** 2
        bass, *chord = _CHORDS[k % len(_CHORDS)]
        chunk = 0.6 * np.sin(2 * np.pi * _midi_hz(bass) * tt)
        for note in chord:
            f = _midi_hz(note)
            chunk += np.sin(2 * np.pi * f * tt) + 0.25 * np.sin(4 * np.pi * f * tt)
        pad[lo:hi] += window * chunk
        # plucked arpeggio, eighth notes at 120 bpm, alternating sides
        step = int(0.5 * rate)
        for j, onset in enumerate(range(start, min(start + chord_len, n_samples), step)):
            note = [*chord, chord[0] + 12][(0, 1, 2, 3, 2, 1, 0, 1)[j % 8]] + 12
            length = min(int(1.2 * rate), n_samples - onset)
            tn = np.arange(length) / rate
            envelope = np.minimum(tn / 0.005, 1.0) * np.exp(-tn / 0.35)
            f = _midi_hz(note)
            pluck = envelope * (np.sin(2 * np.pi * f * tn) + 0.3 * np.sin(4 * np.pi * f * tn))
            pan = 0.7 if j % 2 else 0.3
            out[onset : onset + length, 0] += 0.9 * (1 - pan) * pluck
            out[onset : onset + length, 1] += 0.9 * pan * pluck
    # the pad a few ms later on the right widens it without computing it twice
    delay = int(0.012 * rate)
    out[:, 0] += pad
    out[delay:, 1] += pad[:-delay]
    out *= (0.8 + 0.2 * np.sin(2 * np.pi * 0.25 * t))[:, None]  # slow tremolo
    fade_in, fade_out = int(1.5 * rate), int(3.0 * rate)
    out[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
    out[-fade_out:] *= np.linspace(1.0, 0.0, fade_out)[:, None]
    return out / float(np.sqrt(np.mean(out**2)))


def _slap(rate: int, rng: np.random.Generator) -> Audio:
    """A face slap: a sharp, bright noise crack over a short low thump (mono, peak 1)."""
    t = np.arange(int(0.25 * rate)) / rate
    crack = np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t / 0.025)
    thump = 0.6 * np.sin(2 * np.pi * 90.0 * t) * np.exp(-t / 0.05)
    hit = crack + thump
    return hit / float(np.abs(hit).max())


# --- layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    index: int
    speaker: str
    zh: str
    en: str
    start_ms: int
    end_ms: int
    effect: tuple[str, int, int] | None  # kind, start_ms, end_ms


def _ceil_frame(ms: int) -> int:
    return -(-ms // FRAME_MS) * FRAME_MS


def _layout(script: Script, lengths: Sequence[int], rng: random.Random) -> list[_Placed]:
    """Place the lines on the timeline: frame-aligned starts, natural gaps from ``rng``."""
    placed: list[_Placed] = []
    cursor = LEAD_IN_MS
    for i, (line, samples) in enumerate(zip(script.lines, lengths, strict=True)):
        effect = None
        if i:
            gap = rng.randint(*GAP_RANGE_MS)
            if line.effect_before:
                gap = max(gap, EFFECT_GAP_MS)
                at = placed[-1].end_ms + EFFECT_DELAY_MS
                effect = (line.effect_before, at, at + 250)
            cursor = placed[-1].end_ms + gap
        start = _ceil_frame(cursor)
        end = start + round(samples * 1000 / ESPEAK_RATE)
        placed.append(_Placed(i + 1, line.speaker, line.zh, line.en, start, end, effect))
    return placed


def wrap_caption(text: str, max_chars: int = CAPTION_MAX_CHARS) -> str:
    """Break a caption into two balanced display lines if it is longer than ``max_chars``.

    Prefers breaking after punctuation; never splits a Latin word or an ellipsis and
    never starts a line with punctuation.
    """
    if len(text) <= max_chars:
        return text
    punctuation = set(_PAUSES) | {"”", "」", "』", "）"}

    def allowed(p: int) -> bool:
        a, b = text[p - 1], text[p]
        return b not in punctuation and not (a.isascii() and a.isalnum() and b.isascii())

    positions = [p for p in range(1, len(text)) if allowed(p)]
    after_punct = [p for p in positions if text[p - 1] in punctuation]

    def worst(p: int) -> int:
        return max(p, len(text) - p)

    best = min(after_punct, key=worst, default=None)
    if best is None or worst(best) > max_chars:
        best = min(positions, key=lambda p: (worst(p), p))
    return f"{text[:best]}\n{text[best:]}"


# --- picture --------------------------------------------------------------------------


def _smoothstep(edge: float, distance: Image) -> Image:
    """1 inside (negative signed distance), 0 outside, with a soft edge ``edge`` wide."""
    inside: Image = np.clip(0.5 - distance / np.float32(edge), 0.0, 1.0)
    return inside


def _backdrop(speaker: str, variant: int) -> npt.NDArray[np.uint8]:
    """A shot: the character's lit backdrop with a head-and-shoulders silhouette (RGB)."""
    top, bottom, light = (np.array(c, dtype=np.float32) for c in PALETTES[speaker])
    # float32 and broadcasting (column y, row x) keep a 720x1280 shot at a few ms
    y = np.arange(HEIGHT, dtype=np.float32)[:, None]
    x = np.arange(WIDTH, dtype=np.float32)[None, :]
    v = (y / HEIGHT)[..., None]
    image = np.repeat(top * (1 - v) + bottom * v, WIDTH, axis=1)
    # a soft key light and out-of-focus lights, placed per shot so that cuts read as cuts
    gx, gy = (0.25 + 0.5 * (variant % 2)) * WIDTH, 0.3 * HEIGHT
    glow = np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / np.float32(2 * (0.35 * WIDTH) ** 2))
    image += 0.45 * glow[..., None] * (light - image)
    shot_rng = np.random.default_rng([variant, *map(ord, speaker)])
    for _ in range(7):
        bx, by = shot_rng.uniform(0, WIDTH), shot_rng.uniform(0.05, 0.55) * HEIGHT
        radius = shot_rng.uniform(18, 48)
        rows = slice(max(0, int(by - radius - 8)), int(by + radius + 8))
        cols = slice(max(0, int(bx - radius - 8)), int(bx + radius + 8))
        disc = _smoothstep(6.0, np.hypot(x[:, cols] - bx, y[rows] - by) - radius)
        image[rows, cols] += 0.25 * disc[..., None] * (light - image[rows, cols])
    if speaker != "outro":
        cx = WIDTH * (0.5, 0.38, 0.62)[variant % 3]
        dx = np.abs(x - cx)
        head = np.hypot(dx / (0.125 * WIDTH), (y - 0.44 * HEIGHT) / (0.085 * HEIGHT)) - 1.0
        neck = np.maximum(dx - 0.06 * WIDTH, np.abs(y - 0.56 * HEIGHT) - 0.05 * HEIGHT)
        shoulders = np.hypot(dx / (0.33 * WIDTH), (y - 0.71 * HEIGHT) / (0.11 * HEIGHT)) - 1.0
        body = np.maximum(dx - 0.33 * WIDTH, 0.71 * HEIGHT - y)
        mask = np.maximum.reduce(
            [
                _smoothstep(0.02, head),
                _smoothstep(3.0, neck),
                _smoothstep(0.01, shoulders),
                _smoothstep(3.0, body),
            ]
        )
        image += 0.8 * mask[..., None] * (0.3 * bottom - image)
    vignette = 1.0 - 0.45 * (((x - WIDTH / 2) / WIDTH) ** 2 + ((y - HEIGHT / 2) / HEIGHT) ** 2)
    image *= vignette[..., None]
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _write_ppm(path: Path, image: npt.NDArray[np.uint8]) -> None:
    # PPM needs no imaging library and ffmpeg reads it natively
    path.write_bytes(f"P6\n{WIDTH} {HEIGHT}\n255\n".encode("ascii") + image.tobytes())


def _ass_time(ms: int, *, round_up: bool = False) -> str:
    cs = -(-ms // 10) if round_up else ms // 10
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _ass_colour(rgb: tuple[int, int, int], alpha: int = 0) -> str:
    r, g, b = rgb
    return f"&H{alpha:02X}{b:02X}{g:02X}{r:02X}"


def _ass_document(
    script: Script, placed: Sequence[_Placed], duration_ms: int, scenery: str = "still"
) -> str:
    """Captions in the lower third; name cards and the series title only in the upper area."""
    white, black, gold = (255, 255, 255), (0, 0, 0), (255, 214, 120)
    margin_v = round(HEIGHT * (1 - 0.82))

    def style(name: str, size: int, colour: tuple[int, int, int], align: int, **kw: int) -> str:
        outline, shadow = kw.get("outline", 3), kw.get("shadow", 1)
        return (
            f"Style: {name},{FONT_NAME},{size},{_ass_colour(colour)},{_ass_colour(colour)},"
            f"{_ass_colour(black)},{_ass_colour(black, 0x80)},-1,0,0,0,100,100,"
            f"{kw.get('spacing', 1)},0,1,{outline},{shadow},{align},"
            f"{kw.get('ml', 40)},{kw.get('mr', 40)},{kw.get('mv', 0)},1"
        )

    header = [
        "[Script Info]",
        "; generated by localize.sample: captions of the sample episode",
        "ScriptType: v4.00+",
        f"PlayResX: {WIDTH}",
        f"PlayResY: {HEIGHT}",
        "WrapStyle: 2",  # we break lines ourselves so the picture matches the SRT
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        style("Caption", CAPTION_FONT_SIZE, white, 2, mv=margin_v, ml=30, mr=30),
        style("Name", 52, gold, 7, mv=round(0.13 * HEIGHT), outline=2, spacing=4),
        style("Title", 26, white, 9, mv=50, outline=2, shadow=0, mr=36),
        style("Outro", 64, white, 5, outline=3, spacing=8),
        *(hard.ass_styles(FONT_NAME, CAPTION_FONT_SIZE, margin_v) if scenery != "still" else []),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = [
        f"Dialogue: 0,{_ass_time(0)},{_ass_time(duration_ms, round_up=True)},Title,,0,0,0,,"
        f"{{\\alpha&H40&}}{script.series_zh}\\N第{script.episode}集"
    ]
    if scenery != "still":
        events += hard.ass_events(duration_ms, _ass_time)
    cast = {person.id: person for person in script.cast}
    seen: set[str] = set()
    for line in placed:
        start, end = _ass_time(line.start_ms), _ass_time(line.end_ms, round_up=True)
        look = hard.caption_look(line.index, wrap_caption(line.zh), scenery)
        kind = "CaptionBox" if look.style == "box" else "Caption"
        events.append(f"Dialogue: 1,{start},{end},{kind},,0,0,0,,{look.ass_text}")
        if line.speaker not in seen:  # a name card on each character's first appearance
            seen.add(line.speaker)
            person = cast[line.speaker]
            events.append(
                f"Dialogue: 0,{start},{end},Name,,0,0,0,,{{\\fad(150,150)}}{person.name_zh}"
                f"\\N{{\\fs28\\c&HFFFFFF&\\fsp2}}{person.card_zh}"
            )
    outro_start = placed[-1].end_ms + 600
    events.append(
        f"Dialogue: 0,{_ass_time(outro_start)},{_ass_time(duration_ms, round_up=True)},"
        "Outro,,0,0,0,,{\\fad(400,0)}未完待续"
    )
    return "\n".join([*header, *events]) + "\n"


# --- subtitles and ground truth -------------------------------------------------------


def _srt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _srt_document(cues: Sequence[Cue]) -> str:
    blocks = [
        f"{n}\n{_srt_time(cue.start_ms)} --> {_srt_time(cue.end_ms)}\n{cue.text}\n"
        for n, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def _ground_truth(
    script: Script, placed: Sequence[_Placed], duration_ms: int, seed: int, scenery: str
) -> dict[str, object]:
    cast = {person.id: person for person in script.cast}
    bottom = 0.82  # the Caption style's bottom margin, see _ass_document
    return {
        "scenery": scenery,
        "captions": hard.caption_truth(
            [(line.index, wrap_caption(line.zh), line.start_ms, line.end_ms) for line in placed],
            scenery=scenery,
            frame_ms=FRAME_MS,
            font_size=CAPTION_FONT_SIZE,
            bottom=bottom,
            size=(WIDTH, HEIGHT),
        ),
        "not_dialogue": hard.not_dialogue(duration_ms, FRAME_MS, scenery),
        "series": script.series_zh,
        "series_en": script.series_en,
        "episode": script.episode,
        "seed": seed,
        "duration_ms": duration_ms,
        "video": {
            "width": WIDTH,
            "height": HEIGHT,
            "fps": FPS,
            "caption_band": list(CAPTION_BAND),
            "font": FONT_NAME,
        },
        "audio": {"sample_rate": SAMPLE_RATE, "music_below_speech_db": MUSIC_BELOW_SPEECH_DB},
        "cast": [
            {"id": p.id, "zh": p.name_zh, "en": p.name_en, "aliases": list(p.aliases_zh)}
            for p in script.cast
        ],
        "lines": [
            {
                "index": line.index,
                "speaker": line.speaker,
                "speaker_zh": cast[line.speaker].name_zh,
                "zh": line.zh,
                "en": line.en,
                "caption": wrap_caption(line.zh),
                "start_ms": line.start_ms,
                "end_ms": line.end_ms,
                "caption_start_ms": line.start_ms,
                "caption_end_ms": line.end_ms,
            }
            for line in placed
        ],
        "effects": [
            {"kind": kind, "start_ms": start, "end_ms": end, "before_line": line.index}
            for line in placed
            if line.effect
            for kind, start, end in [line.effect]
        ],
    }


# --- the generator --------------------------------------------------------------------


def build_sample_episode(
    out_dir: Path, *, seed: int = 0, scenery: str = "still", max_lines: int | None = None
) -> SampleEpisode:
    """Generate the sample episode into ``out_dir`` (created if needed) and return it.

    Writes ``episode.mp4``, ``ground_truth.json``, ``ground_truth.zh.srt``,
    ``speech.wav`` and ``music.wav`` (existing files are overwritten). The seed
    chooses the gaps between lines; the same seed always gives the same ground truth.
    Takes a few seconds; needs espeak-ng, ffmpeg and the WenQuanYi Zen Hei font.

    ``scenery`` picks what is behind the captions (see :mod:`localize.sample.scenery`:
    ``still``, the default, or the hard ``pan``, ``busy``, ``flicker``); ``max_lines``
    keeps only the first lines of the script, for short test clips (then the episode is
    as long as those lines, not at least a minute).

    Raises ToolMissingError if a program or the font is missing, and ToolFailedError
    (a LocalizeError) if one of them fails.
    """
    if not FONT_FILE.is_file():
        raise ToolMissingError(
            f"the caption font {FONT_NAME} is not installed ({FONT_FILE})",
            "install it: sudo apt-get install fonts-wqy-zenhei",
        )
    if scenery not in hard.SCENERIES:
        raise LocalizeError(
            f"unknown sample scenery {scenery!r}",
            "choose one of: " + ", ".join(hard.SCENERIES),
        )
    script = SCRIPT
    if max_lines is not None:
        script = dataclasses.replace(script, lines=script.lines[: max(1, max_lines)])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="sample-", dir=out_dir) as tmp:
        work = Path(tmp)
        clips = [
            _synthesise(line.zh, VOICES[line.speaker], work, f"line{i:02d}")
            for i, line in enumerate(script.lines, start=1)
        ]
        placed = _layout(script, [clip.size for clip in clips], rng)
        shortest = MIN_DURATION_MS if max_lines is None else 0
        duration_ms = _ceil_frame(max(placed[-1].end_ms + OUTRO_MS, shortest))
        if duration_ms > MAX_DURATION_MS:
            raise LocalizeError(
                f"the sample episode came out {duration_ms / 1000:.1f} s long",
                f"keep it under {MAX_DURATION_MS / 1000:.0f} s: shorten the script or speed "
                "up the voices in localize/sample/build.py",
            )

        speech_22k = np.zeros(duration_ms * ESPEAK_RATE // 1000)
        for line, clip in zip(placed, clips, strict=True):
            at = line.start_ms * ESPEAK_RATE // 1000  # exact: starts are frame-aligned
            speech_22k[at : at + clip.size] = clip
        speech = _resample(speech_22k, ESPEAK_RATE, SAMPLE_RATE)
        per_ms = SAMPLE_RATE // 1000
        spans = np.concatenate([speech[s.start_ms * per_ms : s.end_ms * per_ms] for s in placed])
        speech_rms = float(np.sqrt(np.mean(spans**2)))
        music = _music_bed(speech.size, SAMPLE_RATE)
        music *= speech_rms * 10.0 ** (-MUSIC_BELOW_SPEECH_DB / 20.0)
        effects_rng = np.random.default_rng(seed)
        for line in placed:
            if line.effect:
                hit = 0.5 * _slap(SAMPLE_RATE, effects_rng)
                at = line.effect[1] * SAMPLE_RATE // 1000
                music[at : at + hit.size] += hit[:, None]
        speech_stereo = np.repeat(speech[:, None], 2, axis=1)
        mix = speech_stereo + music
        # one gain for both stems keeps speech + music == mix, and the mix unclipped
        gain = min(1.0, 0.95 / float(np.abs(mix).max()))
        _write_wav(out_dir / "speech.wav", speech_stereo * gain, SAMPLE_RATE)
        _write_wav(out_dir / "music.wav", music * gain, SAMPLE_RATE)
        _write_wav(work / "mix.wav", mix * gain, SAMPLE_RATE)

        _render_video(
            script, placed, duration_ms, work, out_dir / "episode.mp4", scenery=scenery, seed=seed
        )

    cues = tuple(
        Cue(line.start_ms, line.end_ms, wrap_caption(line.zh), speaker=line.speaker)
        for line in placed
    )
    reference = tuple(
        Cue(line.start_ms, line.end_ms, line.en, speaker=line.speaker, source=line.zh)
        for line in placed
    )
    truth = _ground_truth(script, placed, duration_ms, seed, scenery)
    (out_dir / "ground_truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / "ground_truth.zh.srt").write_text(_srt_document(cues), encoding="utf-8")
    return SampleEpisode(
        directory=out_dir,
        video=out_dir / "episode.mp4",
        ground_truth=out_dir / "ground_truth.json",
        captions_srt=out_dir / "ground_truth.zh.srt",
        speech=out_dir / "speech.wav",
        music=out_dir / "music.wav",
        series=script.series_zh,
        episode=script.episode,
        duration_ms=duration_ms,
        lines=cues,
        reference_en=reference,
        scenery=scenery,
    )


def _render_video(
    script: Script,
    placed: Sequence[_Placed],
    duration_ms: int,
    work: Path,
    out: Path,
    *,
    scenery: str = "still",
    seed: int = 0,
) -> None:
    """Cut between the speakers' shots in the gaps (or animate the hard ``scenery``) and
    burn the captions in."""
    # a cut halfway through each gap, on a frame boundary
    cuts = [_ceil_frame((a.end_ms + b.start_ms) // 2) for a, b in itertools.pairwise(placed)]
    outro_start = _ceil_frame(placed[-1].end_ms + 600)
    bounds = [0, *cuts, outro_start, duration_ms]
    shots = [(line.speaker, i) for i, line in enumerate(placed)] + [("outro", 0)]
    written: dict[tuple[str, int], str] = {}
    entries = ["ffconcat version 1.0"]
    for (speaker, i), begin, end in zip(shots, bounds[:-1], bounds[1:], strict=True):
        key = (speaker, i % 3 if speaker != "outro" else 0)
        if key not in written:
            written[key] = f"shot_{speaker}_{key[1]}.ppm"
            _write_ppm(work / written[key], _backdrop(*key))
        entries += [f"file {written[key]}", f"duration {(end - begin) / 1000:.3f}"]
    entries.append(f"file {written[('outro', 0)]}")  # the concat demuxer needs a last entry
    (work / "shots.ffconcat").write_text("\n".join(entries) + "\n", encoding="utf-8")
    (work / "captions.ass").write_text(
        _ass_document(script, placed, duration_ms, scenery), encoding="utf-8"
    )
    scene = hard.background(scenery, work, (WIDTH, HEIGHT), FPS, seed)
    audio = str(sum(1 for arg in scene.inputs if arg == "-i"))  # mix.wav comes after
    if scenery == "still":
        # convert to yuv420p first: libass then blends into the frame x264 takes, saving
        # a colour conversion per frame (a third of the encoding time)
        graph = [
            "-vf",
            f"format=yuv420p,fps={FPS},subtitles=captions.ass:fontsdir={FONT_FILE.parent}",
        ]
        video = "0:v"
    else:
        graph = [
            "-filter_complex",
            f"{scene.graph};[bg]subtitles=captions.ass:fontsdir={FONT_FILE.parent}[v]",
        ]
        video = "[v]"
    run_tool(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y",
         *scene.inputs,
         "-i", "mix.wav",
         "-map", video, "-map", f"{audio}:a", *graph,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
         "-g", str(2 * FPS), "-r", str(FPS),
         "-c:a", "aac", "-b:a", "128k", "-ar", str(SAMPLE_RATE), "-ac", "2",
         "-t", f"{duration_ms / 1000:.3f}", "-movflags", "+faststart",
         "-metadata", f"title={script.series_zh} 第{script.episode}集",
         str(out.resolve())],
        timeout=600,
        cwd=work,
        what="encoding the sample episode with ffmpeg",
    )  # fmt: skip
