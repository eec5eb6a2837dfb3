"""Fixtures shared by the OCR tests: one reader, one OCR pass over the sample episode."""

from __future__ import annotations

import pytest

from localize.ocr import (
    OcrResult,
    RapidOcrReader,
    ocr_video,
)
from localize.sample import SampleEpisode


@pytest.fixture(scope="session")
def reader() -> RapidOcrReader:
    """One set of OCR models for every OCR test (loading costs ~1 s)."""
    return RapidOcrReader()


@pytest.fixture(scope="session")
def sample_ocr(episode: SampleEpisode, reader: RapidOcrReader) -> OcrResult:
    return ocr_video(episode.video, reader=reader)
