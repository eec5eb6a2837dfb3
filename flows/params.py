"""Typed flow parameters: Prefect renders them as a validated form in the UI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: target languages the UI offers (each has a subtitle style profile)
TargetLanguage = Literal["en", "es", "pt-BR", "id", "vi", "th", "ja", "ko", "fr", "de"]
MTBackend = Literal["llm", "ct2-seq2seq", "transformers-seq2seq", "fake"]
#: "auto": piper where a packaged voice exists (English), espeak-ng elsewhere
TTSBackend = Literal["auto", "piper", "espeak", "fake"]
#: how the burned-in Chinese captions are removed for the clean master ("none": no master)
CleanMethod = Literal["none", "inpaint", "blur", "box"]


class EpisodeParams(BaseModel):
    """What a manager chooses when localizing one episode."""

    model_config = ConfigDict(extra="forbid")

    video: str = Field(description="Path of the episode video, as seen by the worker")
    series: str = Field(
        description="Series glossary: a name in glossaries/ (e.g. ceo-contract-bride) "
        "or a path to a .toml file"
    )
    targets: list[TargetLanguage] | None = Field(
        default=None,
        description="Subtitle languages to produce (empty = the series glossary's targets)",
    )
    dub: list[TargetLanguage] = Field(
        default=[], description="Languages to dub (each must also be a target)"
    )
    clean: CleanMethod = Field(
        default="none",
        description="Publish a clean master without the burned-in Chinese captions "
        "(inpaint: best; blur/box: faster)",
    )
    burn: list[TargetLanguage] = Field(
        default=[],
        description="Languages to publish as pictures with the subtitles burned in (over "
        "the clean master when there is one; each must also be a target)",
    )
    review: bool = Field(
        default=True, description="Pause for a translator's review before publishing"
    )
    out_dir: str | None = Field(
        default=None, description="Output folder (default: out/<series>/<episode>)"
    )
    source: Literal["fused", "ocr", "asr"] = Field(
        default="fused",
        description="Where the Chinese text comes from: burned-in captions (ocr), speech "
        "(asr), or captions with speech filling the gaps (fused)",
    )
    language_check: bool = Field(
        default=True,
        description="Refuse speech that clearly is not Mandarin (e.g. a dub sent by mistake); "
        "turn off for voices the detector mistakes for another language",
    )
    caption_band: str | None = Field(
        default=None,
        description="Caption band as fractions of the height 'TOP,BOTTOM' (optionally "
        "',LEFT,RIGHT'); empty = found automatically",
    )
    asr_model: str = Field(
        default="whisper-base",
        description="Speech model: packaged name, folder or Hugging Face repo id",
    )
    mt_backend: MTBackend = Field(
        default="llm", description="Translation backend ('fake' is a dry run for testing)"
    )
    mt_model: str = Field(
        default="qwen2.5-coder-1.5b-instruct",
        description="Translation model: packaged name, folder or Hugging Face repo id",
    )
    tts: TTSBackend = Field(
        default="auto", description="Speech synthesis for dubs ('fake' is a dry run)"
    )
    music_stem: str | None = Field(
        default=None,
        description="The producer's music-and-effects stem, if any: the bed under the dub "
        "(without it the original soundtrack is ducked under the dubbed voice)",
    )
    drop_languages: list[str] = Field(
        default=[],
        description="Published languages to remove (others not in targets are kept as "
        "they are)",
    )
    review_timeout_hours: float = Field(
        default=72.0, gt=0, le=24 * 30, description="How long a review may take"
    )

    @field_validator("caption_band")
    @classmethod
    def _band(cls, value: str | None) -> str | None:
        if value:
            from localize.errors import LocalizeError
            from localize.ocr import CaptionBand

            try:
                CaptionBand.parse(value)
            except LocalizeError as exc:
                raise ValueError(f"{exc.message}: {exc.hint}") from None
        return value or None

    @model_validator(mode="after")
    def _check(self) -> EpisodeParams:
        if self.targets is None:
            return self  # the series' targets: the flow checks the dubs against them
        if len(set(self.targets)) != len(self.targets):
            raise ValueError("targets lists a language twice")
        extra = [lang for lang in self.dub if lang not in self.targets]
        if extra:
            raise ValueError(f"dub languages {extra} must also be in targets")
        extra = [lang for lang in self.burn if lang not in self.targets]
        if extra:
            raise ValueError(f"burn languages {extra} must also be in targets")
        return self
