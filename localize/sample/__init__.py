"""A generated sample episode for tests and demos: original script, synthetic voices.

``build_sample_episode(out_dir)`` writes a 9:16 micro-drama episode with burned-in
Chinese captions, a music bed and its ground truth; see :mod:`localize.sample.build`.
"""

from localize.sample.build import SampleEpisode, build_sample_episode, pinyin_for_espeak
from localize.sample.script import SCRIPT, Character, Script, ScriptLine

__all__ = [
    "SCRIPT",
    "Character",
    "SampleEpisode",
    "Script",
    "ScriptLine",
    "build_sample_episode",
    "pinyin_for_espeak",
]
