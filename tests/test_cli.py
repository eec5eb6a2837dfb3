"""The command line, called in-process as a user would type it."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.cli import main
from localize.sample import SampleEpisode
from localize.subtitles import read_subtitles, write_subtitles


def test_help_lists_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("localize demo", "localize transcribe", "localize translate", "localize serve"):
        assert command in out


def test_glossary_check_ok_and_line_precise_error(
    glossary_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["glossary", "check", str(glossary_path)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(glossary_path.read_text(encoding="utf-8").replace("gender =", "gendr =", 1))
    assert main(["glossary", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "gendr" in err


def test_translate_command_with_the_fake_backend(
    episode: SampleEpisode,
    glossary_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zh = tmp_path / "ep.zh.srt"
    write_subtitles(read_subtitles(episode.captions_srt, language="zh-Hans"), zh)
    out = tmp_path / "ep.en.srt"
    code = main(
        [
            "translate",
            str(zh),
            "--to",
            "en",
            "--mt-backend",
            "fake",
            "--out",
            str(out),
            "--series",
            str(glossary_path),
            "--memory",
            str(tmp_path / "tm.sqlite"),
        ]
    )
    assert code == 0
    source, target = read_subtitles(zh), read_subtitles(out)
    assert [(c.start_ms, c.end_ms) for c in target.cues] == [
        (c.start_ms, c.end_ms) for c in source.cues
    ]
    captured = capsys.readouterr()
    assert f"wrote {len(source.cues)} cues" in captured.out
    assert "flag: cue" in captured.err  # the fake leaves Chinese in: flagged, not hidden


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transcribe", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "x.srt")]) == 1
    assert "input file not found" in capsys.readouterr().err
    assert not (tmp_path / "x.srt").exists()


def test_episode_options_are_validated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["episode", "ep.mp4", "--series", "s", "--to", "en", "--dub", "es"]) == 2
    assert "dub languages ['es'] must also be in targets" in capsys.readouterr().err


@pytest.mark.slow
def test_transcribe_command_on_the_sample(
    episode: SampleEpisode, glossary_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ep.zh.vtt"
    assert (
        main(["transcribe", str(episode.video), "--out", str(out), "--series", str(glossary_path)])
        == 0
    )
    track = read_subtitles(out)
    assert len(track.cues) >= 10
    names = sum(
        name in track.cues[i].text
        for i in range(len(track.cues))
        for name in ("林晚", "顾言深", "苏曼", "顾总")
    )
    assert names >= 3, [c.text for c in track.cues]


def test_ocr_command_reads_the_burned_in_captions(
    episode: SampleEpisode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from localize.metrics import character_error_rate

    out, hint = tmp_path / "ep.zh.srt", tmp_path / "hint.json"
    assert main(["ocr", str(episode.video), "--out", str(out), "--hint", str(hint)]) == 0
    track = read_subtitles(out)
    truth = "".join(c.text for c in episode.lines)
    assert character_error_rate(truth, "".join(c.text for c in track.cues)) < 0.02
    assert json.loads(hint.read_text())["band"] is not None
    assert main(["ocr", str(episode.video), "--out", str(out), "--caption-band", "nonsense"]) == 1
    assert "caption band" in capsys.readouterr().err


def test_glossary_suggest_finds_the_sample_cast(
    episode: SampleEpisode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localize.glossary import EntryKind, load_glossary

    out = tmp_path / "suggested.toml"
    code = main(
        [
            "glossary",
            "suggest",
            str(episode.video),
            "--series-id",
            "ceo",
            "--to",
            "en",
            "es",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    glossary = load_glossary(out)  # a valid glossary file
    names = {e.zh: e.renderings["en"] for e in glossary.of_kind(EntryKind.CHARACTER)}
    assert {"林晚": "Lin Wan", "顾言深": "Gu Yanshen", "苏曼": "Su Man"}.items() <= names.items()
    address = {e.zh: e.renderings["en"] for e in glossary.of_kind(EntryKind.ADDRESS)}
    assert address["顾总"] == "Mr. Gu" and address["林小姐"] == "Miss Lin"
    assert all("SUGGESTED" in e.notes for e in glossary.entries)
    assert (
        main(["glossary", "suggest", str(episode.video), "--series-id", "ceo", "--out", str(out)])
        == 2
    )  # never overwrites without --force


def _published(tmp_path: Path) -> Path:
    """An episode published the way the flow does it: subtitles, qc.json, report, manifest."""
    from localize.domain import Cue, CueTrack
    from localize.package import publish_episode
    from localize.qc import build_report
    from localize.report import render_html

    zh = CueTrack("zh-Hans", (Cue(0, 2000, "你好。"), Cue(2500, 3000, "合同签了。")))
    en = CueTrack(
        "en",
        (
            Cue(0, 2000, "Hello.", source="你好。"),
            Cue(
                2500,
                3000,
                "The contract is signed, and it cannot be undone now.",
                source="合同签了。",
            ),
        ),
    )
    report = build_report({"zh-Hans": zh, "en": en}, source=zh, episode="ep7")

    def add_report(staging: Path) -> list[tuple[str, str, str | None, int | None]]:
        (staging / "report.html").write_text(render_html(report, title="ep7"), encoding="utf-8")
        return [("report.html", "report", None, None)]

    out = tmp_path / "out" / "ep7"
    publish_episode(
        out,
        series="ceo",
        episode="ep7",
        source=zh,
        targets={"en": en},
        qc_json=report.to_json(),
        extra_writers=(add_report,),
        extra={"review": None},
    )
    return out


def test_episode_summary_names_the_outputs_and_the_flagged_lines(tmp_path: Path) -> None:
    from localize.summary import episode_summary

    out = _published(tmp_path)
    text = episode_summary(out, seconds=75)
    assert text.splitlines()[0] == f"Published ceo/ep7 in 1:15 to {out.absolute()}"
    assert "ep7.en.srt, ep7.en.vtt" in text and "(zh-Hans, en)" in text
    assert f"report     {out.absolute() / 'report.html'}" in text
    assert "QC has errors" in text
    # the crammed second line is named, with its time and the check it fails
    assert "  en: 1 of 2 lines flagged (1 with errors)" in text
    assert "    #2    0:02  reading-speed, line-length, too-short: reads at 104" in text
    assert "Review: none" in text
    assert text.rstrip().endswith(f"Every flag with what to do: {out.absolute() / 'report.html'}")


def test_episode_summary_says_what_each_published_picture_is(tmp_path: Path) -> None:
    import json

    from localize.summary import episode_summary

    out = tmp_path / "ep7"
    out.mkdir()
    files = [("ep7.mp4", None), ("ep7.clean.mp4", None), ("ep7.en.burned.mp4", "en")]
    manifest = {"series": "ceo", "episode": "ep7", "files": [
        {"path": p, "kind": "video", "language": lang} for p, lang in files
    ]}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    text = episode_summary(out)
    assert "ep7.mp4  (original picture; every audio and subtitle track)" in text
    assert "ep7.clean.mp4  (picture without the burned-in Chinese captions)" in text
    assert "ep7.en.burned.mp4  (en subtitles burned into the picture)" in text


def test_catalog_summary_lists_done_failed_and_refused(tmp_path: Path) -> None:
    from localize.summary import catalog_summary

    out = _published(tmp_path)
    text = catalog_summary(
        out.parent.parent,
        processed=["out/ep7"],
        skipped=["ceo/ep1"],
        failed={"ceo/ep2": "cannot read ep2.mp4 as audio or video"},
        rejected={"ceo/episodes/../x.mp4": "unsafe name"},
    )
    assert "1 localized, 1 already up to date, 1 failed, 1 refused" in text
    assert f"done    out/ep7: flagged lines: zh-Hans 1, en 1; report {out / 'report.html'}" in text
    assert "FAILED  ceo/ep2: cannot read ep2.mp4 as audio or video" in text
    assert "refused ceo/episodes/../x.mp4: unsafe name" in text


def test_models_fetch_summary_and_progress_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from localize.models import ModelStore

    if not ModelStore().is_ready("whisper-base"):
        pytest.skip("whisper-base is not prepared (scripts/setup.sh prepares it)")
    assert main(["models", "fetch", "whisper-base"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("whisper-base: already prepared; ") and "files (" in out


def test_a_failing_run_names_the_stage_and_the_error_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localize import progress
    from localize.cli import _progress_display

    with pytest.raises(RuntimeError), _progress_display():
        progress.begin("start", job="ep9", until_next=True)
        with progress.stage("probe", job="ep9"):
            raise RuntimeError("cannot read ep9.mp4")
    err = capsys.readouterr().err.splitlines()
    assert [line.split("] ", 1)[1] for line in err] == [
        "ep9: start (about 0:15 left)",
        "ep9: probe",
        "ep9: probe failed: cannot read ep9.mp4",
        "ep9: failed after 0:00: cannot read ep9.mp4",
    ]


def test_a_bare_dub_option_dubs_every_target() -> None:
    from localize.cli import _dub_languages, build_parser

    def dub_of(*argv: str) -> list[str]:
        return _dub_languages(build_parser().parse_args(["episode", "ep.mp4", *argv]))

    assert dub_of("--series", "ceo-contract-bride", "--to", "en", "es", "--dub") == ["en", "es"]
    assert dub_of("--series", "ceo-contract-bride", "--dub") == ["en"]  # the glossary's targets
    assert dub_of("--series", "ceo-contract-bride", "--to", "en", "es", "--dub", "es") == ["es"]
    assert dub_of("--series", "ceo-contract-bride") == []


def test_a_review_run_without_a_ui_to_open_refuses_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to pause on a temporary server nobody could open, for up to 72 hours."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    out = tmp_path / "out"
    argv = ["episode", str(tmp_path / "ep.mp4"), "--series", "ceo-contract-bride"]
    assert main([*argv, "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "review needs a Prefect UI" in err and "localize serve" in err and "--no-review" in err
    assert not out.exists()


def test_catalog_summaries_list_held_episodes_with_their_qc_errors() -> None:
    from flows.catalog import CatalogResult, EpisodeOutcome, _summary
    from localize.markdown import escape_markdown
    from localize.summary import catalog_summary

    why = "(4 QC errors) draft at /out/ceo/ep3.held"
    text = catalog_summary(
        "/out", processed=[], skipped=["ceo/ep1"], failed={}, rejected={}, held={"ceo/ep3": why}
    )
    assert "0 localized, 1 held, 1 already up to date, 0 failed" in text
    assert f"held    ceo/ep3: {why}" in text
    assert "--on-qc-errors publish" in text
    # the catalog-summary artifact in the Prefect UI
    outcome = EpisodeOutcome("ceo/ep3", "held", 3.5, error=why, qc_errors=4)
    result = CatalogResult([], ["ceo/ep1"], {}, {}, {}, held={"ceo/ep3": why})
    artifact = _summary(result, {"ceo/ep3": outcome})
    assert "**0 processed, 1 held, 1 skipped" in artifact
    assert "| ceo/ep3 | held (4 QC errors) | 3.5 |" in artifact
    assert escape_markdown(why) in artifact  # shown as text in the UI


def test_the_qc_gate_option_of_episode_and_catalog_run() -> None:
    from localize.cli import build_parser

    parser = build_parser()
    episode = parser.parse_args(["episode", "ep.mp4", "--series", "s"])
    assert episode.on_qc_errors == "hold"
    catalog = parser.parse_args(["catalog", "run", "CATALOG", "--on-qc-errors", "publish"])
    assert catalog.on_qc_errors == "publish"
    assert parser.parse_args(["catalog", "run", "CATALOG"]).on_qc_errors is None  # series.toml
    with pytest.raises(SystemExit):
        parser.parse_args(["episode", "ep.mp4", "--series", "s", "--on-qc-errors", "maybe"])


def test_compute_threads_reach_the_model_and_must_be_positive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import localize.pipeline as pipeline
    from localize.domain import CueTrack, Transcript

    seen: list[int] = []

    def transcribe(path: Path, **kwargs: int) -> tuple[CueTrack, Transcript]:
        seen.append(kwargs["threads"])
        return CueTrack("zh-Hans"), Transcript("zh-Hans", 0, ())

    monkeypatch.setattr(pipeline, "transcribe_to_cues", transcribe)
    out = str(tmp_path / "x.srt")
    assert main(["transcribe", "a.wav", "--out", out]) == 0
    assert main(["transcribe", "a.wav", "--out", out, "--compute-threads", "3"]) == 0
    assert seen == [2, 3]  # the fixed default, not this machine's core count
    capsys.readouterr()
    for bad in ("0", "two"):
        with pytest.raises(SystemExit) as exit_:
            main(["episode", "ep.mp4", "--series", "s", "--compute-threads", bad])
        assert exit_.value.code == 2
        assert "--compute-threads: expected a whole number of at least 1" in capsys.readouterr().err


def test_one_name_per_setting_and_old_names_still_work_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localize.cli import build_parser

    parser = build_parser()
    new = parser.parse_args(
        ["translate", "a.srt", "--to", "en", "--out", "b.srt", "--series", "s",
         "--mt-backend", "fake", "--mt-model", "m", "--from", "zh-Hant"]
    )  # fmt: skip
    old = parser.parse_args(
        ["translate", "a.srt", "--to", "en", "--out", "b.srt", "--glossary", "s",
         "--backend", "fake", "--model", "m", "--source", "zh-Hant"]
    )  # fmt: skip
    assert vars(new) == vars(old)
    ocr = parser.parse_args(["ocr", "v.mp4", "--out", "x.srt", "--band", "0.7,0.9"])
    assert ocr.caption_band == "0.7,0.9"
    asr = parser.parse_args(["transcribe", "v.mp4", "--out", "x.srt", "--model", "tiny"])
    assert asr.asr_model == "tiny"

    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\n你好\n", encoding="utf-8")
    argv = ["translate", str(srt), "--to", "en", "--out", str(tmp_path / "b.srt")]
    assert main([*argv, "--backend", "fake"]) == 0
    assert "warning: --backend is now --mt-backend" in capsys.readouterr().err
    assert main([*argv, "--mt-backend", "fake"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_exit_codes_tell_a_failed_job_from_a_wrong_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1: the job failed (bad input); 2: the command line is wrong; documented in --help."""
    missing = ["translate", str(tmp_path / "nope.srt"), "--to", "en", "--out", "x.srt"]
    assert main([*missing, "--mt-backend", "fake"]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["translate", "--no-such-option"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "exit codes: 0 done; 1 the job failed" in capsys.readouterr().out


def test_config_prints_every_location_and_where_it_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALIZE_DATA", str(tmp_path / "team"))
    monkeypatch.delenv("LOCALIZE_OUT", raising=False)
    assert main(["config", "--series", "ceo-contract-bride"]) == 0
    lines = capsys.readouterr().out.splitlines()

    def row(key: str) -> str:
        return next(line for line in lines if line.startswith(key))

    assert row("series state").endswith(f"{tmp_path / 'team'}  ($LOCALIZE_DATA)")
    assert f"{tmp_path / 'team' / 'out'}  ($LOCALIZE_DATA)" in row("output root")
    assert "on_qc_errors" in row("run: on_qc_errors") and "hold" in row("run: on_qc_errors")
    assert "the glossary's targets" in row("run: targets")
    assert "['en']  (the glossary's [series] targets)" in lines[-2]
    memory = tmp_path / "team" / "series" / "ceo-contract-bride" / "memory.sqlite"
    assert str(memory) in row("translation memory")


def test_timing_repairs_can_be_turned_off_per_run_or_per_series() -> None:
    from localize.catalog import fingerprint
    from localize.cli import build_parser
    from localize.settings import check_run_settings

    parser = build_parser()
    assert parser.parse_args(["episode", "ep.mp4", "--series", "s"]).no_timing_repairs is False
    off = parser.parse_args(["episode", "ep.mp4", "--series", "s", "--no-timing-repairs"])
    assert off.no_timing_repairs is True
    assert check_run_settings({"timing_repairs": False}, "series.toml") == {"timing_repairs": False}
    # turning them off changes what a catalog run produces, so it runs the episode again
    on, without = ({"timing_repairs": value} for value in (True, False))
    assert fingerprint("h", "g", on, "en") != fingerprint("h", "g", without, "en")


def test_speaker_attribution_can_be_turned_off_per_run_or_per_series() -> None:
    from localize.catalog import fingerprint
    from localize.cli import build_parser
    from localize.pipeline import SourceStages, stage_plan
    from localize.settings import EpisodeParams, check_run_settings

    parser = build_parser()
    assert parser.parse_args(["episode", "ep.mp4", "--series", "s"]).no_speakers is False
    assert parser.parse_args(["episode", "e.mp4", "--series", "s", "--no-speakers"]).no_speakers
    assert check_run_settings({"speakers": False}, "series.toml") == {"speakers": False}
    on, off = ({"dub": ["en"], "speakers": value} for value in (True, False))
    assert fingerprint("h", "g", on, "en") != fingerprint("h", "g", off, "en")  # dub again
    assert fingerprint("h", "g", on, "es") == fingerprint("h", "g", off, "es")  # not dubbed
    sources = SourceStages(asr=True, ocr=False)
    plan = {
        value: stage_plan(EpisodeParams(video="v", series="s", targets=["en"], dub=["en"],
                                        speakers=value), ["en"], sources, has_video=True)
        for value in (True, False)
    }  # fmt: skip
    assert "speakers" in plan[True] and "speakers" not in plan[False]


@pytest.mark.parametrize(
    ("flag", "lines_per_request", "whole_glossary"),
    [([], 1, False), (["--mt-requests", "numbered"], 8, True)],
)
def test_translate_runs_the_fast_or_the_numbered_llm_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: list[str],
    lines_per_request: int,
    whole_glossary: bool,
) -> None:
    """Default: one short request per line; --mt-requests numbered: the earlier path."""
    from localize.translate.base import TRANSLATORS
    from localize.translate.chat import ChatEngine, LLMOptions

    class Echo(ChatEngine):
        model_id = "echo"

        def __init__(self, options: LLMOptions | None = None, **_: object) -> None:
            self.options = options or LLMOptions()
            self.batch = 1

        def _generate(self, system: str, users: list[str], budget: list[int]) -> list[str]:
            return ["1. Hello." for _ in users]

    made: list[Echo] = []

    def factory(**kwargs: object) -> Echo:
        made.append(Echo(**kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setitem(TRANSLATORS, "llm", factory)
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\n你好\n", encoding="utf-8")
    argv = ["translate", str(srt), "--to", "en", "--out", str(tmp_path / "b.srt"), *flag]
    assert main(argv) == 0
    assert made[0].options.lines_per_request == lines_per_request
    assert made[0].options.whole_glossary is whole_glossary
    assert read_subtitles(tmp_path / "b.srt").cues[0].text == "Hello."


def test_the_episode_commands_defaults_and_choices_are_the_run_settings() -> None:
    """The CLI spells its defaults out (``--help`` stays instant, without pydantic), so
    they must agree with :class:`localize.settings.EpisodeParams` and its choices."""
    import argparse
    from typing import get_args

    from localize.cli import _episode_params, build_parser
    from localize.settings import EpisodeParams

    parser = build_parser()
    args = parser.parse_args(["episode", "ep.mp4", "--series", "s"])
    assert _episode_params(args) == EpisodeParams(video="ep.mp4", series="s")

    def choices(*command: str) -> dict[str, list[str]]:
        p = parser
        for word in command:
            sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
            p = sub.choices[word]
        return {a.dest: list(a.choices) for a in p._actions if a.choices and a.option_strings}

    fields = EpisodeParams.model_fields
    episode = choices("episode")
    for dest in ("mt_backend", "tts", "source", "clean", "on_qc_errors"):
        assert episode[dest] == list(get_args(fields[dest].annotation)), dest
    for command in (["translate"], ["catalog", "run"], ["catalog", "status"]):
        assert choices(*command)["mt_backend"] == episode["mt_backend"], command
    assert choices("cast")["tts"] == episode["tts"]
