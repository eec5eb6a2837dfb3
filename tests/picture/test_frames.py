"""Raw-frame pipes: crops on any coordinates, and only the frames asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from localize.picture.frames import geometry, read_frames, read_selected
from tests.picture.scenes import Scene


def test_a_crop_on_odd_coordinates_is_exactly_those_pixels(still: Scene) -> None:
    """ffmpeg rounds odd yuv420 crops to even ones: the frames used to come out of
    the pipe one row short and sheared (the burn's busy-scenery measure read those)."""
    geo = geometry(still.captioned)
    whole = list(read_frames(geo, pix_fmt="gray"))
    part = list(read_frames(geo, crop=(31, 481, 183, 129), pix_fmt="gray"))
    assert len(part) == len(whole)
    for a, b in zip(whole, part, strict=True):
        assert b.shape == (129, 183)
        assert np.array_equal(a[481:610, 31:214], b)


def test_only_the_frames_asked_for_are_read(still: Scene) -> None:
    geo = geometry(still.captioned)
    whole = list(read_frames(geo, pix_fmt="gray"))
    wanted = [0, 1, 2, 40, 41, len(whole) - 1]
    got = list(read_selected(geo, {*wanted, len(whole) + 5}, crop=(0, 3, 360, 11)))
    assert [n for n, _ in got] == wanted
    for n, frame in got:
        assert np.array_equal(frame, whole[n][3:14])


def test_the_crf_probe_takes_exactly_the_frames_of_its_windows(
    still: Scene, tmp_path: Path
) -> None:
    """The probe reaches its windows by seeking (no decoding of the whole video): the
    reference it encodes must still be exactly those frames."""
    from localize.picture.crf import _extract

    geo = geometry(still.captioned)
    whole = list(read_frames(geo, pix_fmt="gray"))
    spans = [(0, 4), (37, 45), (len(whole) - 5, len(whole))]
    reference = tmp_path / "reference.mkv"
    _extract(geo, spans, reference)
    got = list(read_frames(geometry(reference), pix_fmt="gray"))
    want = [whole[n] for s, e in spans for n in range(s, e)]
    assert len(got) == len(want)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
