"""Read-back results become QC flags on the right cue, and fail the QC report."""

from __future__ import annotations

from localize.domain import Cue, CueTrack
from localize.picture.check import BurnCheck, CleanCheck, CueReadback
from localize.qc import build_report


def test_residual_chinese_flags_the_cue_it_was_in() -> None:
    check = CleanCheck(events=2, chars_there=20, chars_left=(0, 3), psnr_db=50, min_psnr_db=48)
    assert not check.ok and check.residual == 0.15
    [flag] = check.flags("zh-Hans", indices=[4, 7])
    assert (flag.code, flag.index, flag.value) == ("residual-caption", 7, 3.0)
    source = CueTrack("zh-Hans", tuple(Cue(i * 1000, i * 1000 + 900, "你好") for i in range(8)))
    report = build_report({"zh-Hans": source}, extra_flags={"zh-Hans": [flag]})
    assert not report.ok


def test_a_burned_cue_read_back_wrong_is_flagged() -> None:
    check = BurnCheck(
        "en",
        (
            CueReadback(1, "Hello there.", "Hello there.", 0.0, True),
            CueReadback(2, "Sign here.", "Sgn hre", 0.25, True),
        ),
    )
    assert not check.ok
    [flag] = check.flags()
    assert (flag.code, flag.index, flag.language) == ("burn-readback", 2, "en")
    assert "Sgn hre" in flag.message
