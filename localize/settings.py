"""Typed episode settings: one pydantic model for the Prefect form, the CLI and catalogs.

Prefect renders :class:`EpisodeParams` as a validated form in the UI (``flows.params``
re-exports it); a catalog's ``series.toml`` ``[run]`` table is checked against the same
fields by :func:`check_run_settings`. Pure pydantic: no Prefect here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from localize.errors import LocalizeError
from localize.languages import TargetLanguage
from localize.numerics import DEFAULT_COMPUTE_THREADS

MTBackend = Literal["llm", "openai", "ct2-seq2seq", "transformers-seq2seq", "fake"]
#: "auto": piper where a packaged voice exists (English), espeak-ng elsewhere
TTSBackend = Literal["auto", "kokoro", "piper", "espeak", "fake"]
#: how the burned-in Chinese captions are removed for the clean master ("none": no master)
CleanMethod = Literal["none", "inpaint", "blur", "box"]
#: what an unattended run does with an episode whose QC has errors (localize.gate)
QCPolicy = Literal["hold", "publish"]


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
    burn_style: str = Field(
        default="",
        description="Style of the burned-in subtitles as KEY=VALUE,... (font, size, colour, "
        "outline_colour, outline, box, bottom); box=1 or box=0 pins the box or the outline, "
        "else a box is drawn when the picture behind the text is busy",
    )
    review: bool = Field(
        default=True, description="Pause for a translator's review before publishing"
    )
    on_qc_errors: QCPolicy = Field(
        default="hold",
        description="Without review: an episode whose QC has errors is held (its draft and "
        "QC report go to <out>.held/, nothing is published) or published anyway",
    )
    out_dir: str | None = Field(
        default=None, description="Output folder (default: $LOCALIZE_OUT/<series>/<episode>)"
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
    timing_repairs: bool = Field(
        default=True,
        description="Fix the timing slips the pipeline can fix safely before QC (minimum "
        "gap, short cues extended into free time, fragments merged), recorded in the "
        "report; off: QC flags them for a person",
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
        description="Translation model: packaged name, folder or Hugging Face repo id "
        "(for 'openai': the model name the server lists)",
    )
    mt_endpoint: str | None = Field(
        default=None,
        description="OpenAI-compatible server for the 'openai' backend, e.g. "
        "http://gpu-box:8000/v1 (vLLM, llama.cpp); the API key is read on the worker from "
        "the variable in mt_api_key_env, never passed here",
    )
    mt_api_key_env: str = Field(
        default="LOCALIZE_MT_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the endpoint's API key",
    )
    mt_api_key_secret: str | None = Field(
        default=None,
        description="Or: name of a Prefect Secret block holding the key (read by the "
        "worker; wins over mt_api_key_env)",
    )
    tts: TTSBackend = Field(
        default="auto", description="Speech synthesis for dubs ('fake' is a dry run)"
    )
    speakers: bool = Field(
        default=True,
        description="Attribute each line to a character for the dub (shown in the review "
        "draft, one voice per character); off: every line gets the cast's narrator voice",
    )
    music_stem: str | None = Field(
        default=None,
        description="The producer's music-and-effects stem, if any: the bed under the dub "
        "(without it the original soundtrack is ducked under the dubbed voice)",
    )
    drop_languages: list[str] = Field(
        default=[],
        description="Published languages to remove (others not in targets are kept as they are)",
    )
    compute_threads: int = Field(
        default=DEFAULT_COMPUTE_THREADS,
        ge=1,
        le=256,
        description="CPU threads each model computes with. Fixed, not the worker's core "
        "count, so the same settings compute alike on every runner and worker; 1 suits a "
        "one-core worker, more speeds up a big machine (outputs may then differ slightly)",
    )
    review_timeout_hours: float = Field(
        default=72.0, gt=0, le=24 * 30, description="How long a review may take"
    )

    @field_validator("caption_band")
    @classmethod
    def _band(cls, value: str | None) -> str | None:
        if value:
            from localize.ocr import CaptionBand

            try:
                CaptionBand.parse(value)
            except LocalizeError as exc:
                raise ValueError(f"{exc.message}: {exc.hint}") from None
        return value or None

    @model_validator(mode="after")
    def _check(self) -> EpisodeParams:
        if self.mt_backend == "openai" and not self.mt_endpoint:
            raise ValueError("the openai translation backend needs mt_endpoint (the server URL)")
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


#: the settings a catalog's series.toml may set in its [run] table (the rest are per run
#: or per episode)
RUN_KEYS = (
    "targets",
    "dub",
    "source",
    "asr_model",
    "mt_backend",
    "mt_model",
    "mt_endpoint",
    "mt_api_key_env",
    "mt_api_key_secret",
    "tts",
    "speakers",
    "caption_band",
    "language_check",
    "timing_repairs",
    "on_qc_errors",
    "compute_threads",
    "clean",
    "burn",
    "burn_style",
)
#: the episode flow's defaults of those settings
DEFAULT_RUN: dict[str, Any] = {
    key: EpisodeParams.model_fields[key].get_default(call_default_factory=True) for key in RUN_KEYS
}


class SettingsError(LocalizeError):
    """Run settings (a series.toml [run] table, merged with a run's overrides) are invalid."""


def check_run_settings(settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``settings`` (keys of :data:`RUN_KEYS`) checked by the episode flow's own rules.

    Returns them normalised (e.g. an empty caption band becomes None); raises
    :class:`SettingsError` naming ``where`` and every bad key otherwise.
    """
    unknown = sorted(set(settings) - set(RUN_KEYS))
    if unknown:
        raise SettingsError(
            f"{where}: unknown settings {unknown}",
            f"series.toml holds a [run] table with any of: {', '.join(RUN_KEYS)}",
        )
    try:
        params = EpisodeParams(video="-", series="-", **settings)
    except ValidationError as exc:
        raise SettingsError(
            f"{where}: invalid settings: {describe(exc)}",
            "fix these keys (docs/catalog.md lists each with its values)",
        ) from None
    return {key: getattr(params, key) for key in RUN_KEYS if key in settings}


def describe(exc: ValidationError) -> str:
    """pydantic's errors on one line: ``dub: Input should be a valid list; ...``."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
    )
