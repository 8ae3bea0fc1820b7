"""Scores are stored by the crawl, thresholds applied after it: a threshold change into the same --out redoes
only the decide stage and finalize, and gives the bytes a fresh build with that threshold gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from proofpile.stage_registry import StageConfig, StageDeclarationError, declare_stage

from .test_build import run_cli


def owm(out: Path, lid_model: Path, *extra: str) -> None:
    run_cli("build", "open-web-math", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}", *extra)


def crawl_state(out: Path) -> dict[str, int]:
    """mtime (ns) of each crawl completion marker and each crawl file: a crawl task that runs again rewrites both."""
    work = out / "_work"
    files = [*(work / "logs" / "commoncrawl" / "completions").iterdir(), *(work / "signals" / "commoncrawl").iterdir()]
    return {p.relative_to(work).as_posix(): p.stat().st_mtime_ns for p in files}


def shards(out: Path) -> dict[str, bytes]:
    found = {p.relative_to(out).as_posix(): p.read_bytes() for d in ("data", "dropped") for p in (out / d).rglob("*")
             if p.is_file()}
    found["duplicates.parquet"] = (out / "duplicates.parquet").read_bytes()
    return found


def test_a_threshold_change_redoes_finalize_not_the_crawl(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    owm(out, lid_model)
    before, crawl = shards(out), crawl_state(out)
    documents = json.loads((out / "manifest.json").read_text())["outputs"]["documents"]
    assert crawl and any(k.startswith("signals/") for k in crawl)
    build_json = (out / "_work" / "build.json").read_text()
    assert "threshold_nomath" not in build_json and "threshold_nomath" in (out / "_work" / "decisions.json").read_text()

    # the German math page is dropped for its language only: keeping German too keeps it (the other pages that
    # fail MathScore or the language stop at the prefilter, before any score)
    lower = ("--set", "langid.keep=[en, de]")
    owm(out, lid_model, *lower)  # a resume, not a refusal
    assert crawl_state(out) == crawl, "the crawl ran again"
    after = shards(out)
    assert after != before
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outputs"]["documents"] == documents + 1
    rows = {(r["stage"], r["step"]): r for r in manifest["funnel"]}
    assert rows[("commoncrawl: thresholds", "🔻 - FILTER: language id")]["dropped"] == {}

    owm(out, lid_model)  # back to the recipe's threshold: the first build's bytes again, still no crawl
    assert crawl_state(out) == crawl
    assert shards(out) == before

    # a fresh build with the lower threshold, at the same path (the sample's metadata names its input files)
    shutil.rmtree(out)
    owm(out, lid_model, *lower)
    assert crawl_state(out) != crawl
    assert shards(out) == after


def test_a_signal_change_is_still_another_build(tmp_path: Path, lid_model: Path):
    out = tmp_path / "out"
    owm(out, lid_model)
    proc = run_cli("build", "open-web-math", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
                   "--set", "prefilter.min_formulas=2", check=False)
    assert proc.returncode != 0 and "holds a build of another recipe" in proc.stderr


class _Cfg(StageConfig):
    cut: float = 0.5


def test_decision_fields_are_checked_at_declaration():
    with pytest.raises(StageDeclarationError, match="not fields"):
        declare_stage("t_bad_field", config=_Cfg, where="per_document", order=9001, purpose="x",
                      decisions=("cutoff",), decide=lambda c, p: None)(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="go together"):
        declare_stage("t_no_decide", config=_Cfg, where="per_document", order=9002, purpose="x",
                      decisions=("cut",))(lambda c, p: None)
    with pytest.raises(StageDeclarationError, match="only a per_document"):
        declare_stage("t_where", config=_Cfg, where="finalize", order=9003, purpose="x",
                      decisions=("cut",), decide=lambda c, p: None)(lambda c, p: None)


def test_decide_steps_apply_the_stored_scores_with_the_crawl_reasons():
    """The decision filters alone, on documents whose scores were stored by an earlier scoring step: same keep
    rule and drop reason as the step that scores and decides in one go; unscored documents pass."""
    from datatrove.data import Document

    from proofpile.filters.langid import LanguageIdDecision
    from proofpile.filters.math_classifier import MathScoreDecision
    from proofpile.filters.quality import PerplexityDecision

    def docs():
        return [Document(text="a", id="en", metadata={"lid_lang": "en", "lid_score": 0.7, "math_score": 0.5,
                                                        "math_found": True, "perplexity": 900.0}),
                Document(text="b", id="low", metadata={"lid_lang": "en", "lid_score": 0.4, "math_score": 0.5,
                                                         "perplexity": 20_000.0}),
                Document(text="c", id="unscored", metadata={"lang": "lean"})]

    lid = LanguageIdDecision(keep=["en"], threshold=0.5)
    kept = list(lid.run(iter(docs())))
    assert [d.id for d in kept] == ["en", "unscored"] and kept[0].metadata["lang"] == "en"
    assert lid.stats["dropped_wrong_language"].total == 1
    assert [d.id for d in LanguageIdDecision(keep=["en"], threshold=0.3).run(iter(docs()))] == ["en", "low", "unscored"]
    math = MathScoreDecision(threshold_math=0.17, threshold_nomath=0.8)
    assert [d.id for d in math.run(iter(docs()))] == ["en", "unscored"]
    assert math.stats["dropped_low_math_score"].total == 1
    ppl = PerplexityDecision(max_perplexity=15_000)
    assert [d.id for d in ppl.run(iter(docs()))] == ["en", "unscored"]
    assert ppl.stats["dropped_high_perplexity"].total == 1
