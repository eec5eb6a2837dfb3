"""The picture options reach catalog runs and decide what is redone."""

from __future__ import annotations

from localize.catalog import DEFAULT_RUN, fingerprint


def test_pictures_asked_for_change_the_fingerprint_and_defaults_do_not() -> None:
    base = {k: v for k, v in DEFAULT_RUN.items() if k not in ("clean", "burn")}
    before = fingerprint("v", "g", base, "en")
    assert fingerprint("v", "g", DEFAULT_RUN, "en") == before  # old state stays "done"
    burned = {**DEFAULT_RUN, "burn": ["en"]}
    assert fingerprint("v", "g", burned, "en") != before
    assert fingerprint("v", "g", burned, "es") == before
    assert fingerprint("v", "g", {**DEFAULT_RUN, "clean": "inpaint"}, "en") != before
    # a pinned burn style redoes the burned language only
    boxed = {**burned, "burn_style": "box=1"}
    assert fingerprint("v", "g", boxed, "en") != fingerprint("v", "g", burned, "en")
    assert fingerprint("v", "g", boxed, "es") == before


def test_caption_events_map_to_the_cue_on_screen() -> None:
    from localize.domain import Cue
    from localize.picture.episode import cue_indices

    cues = [Cue(1000, 2000, "a"), Cue(3000, 4000, "b")]
    # frames at 25 fps: the middle of (25, 50) is 1.5 s, of (70, 80) 3.0 s, of (55, 60) 2.3 s
    assert cue_indices([(25, 50), (70, 80), (55, 60)], 25.0, cues) == [1, 2, 1]
    assert cue_indices([(25, 50)], 25.0, []) == [0]
