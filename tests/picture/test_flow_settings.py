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
