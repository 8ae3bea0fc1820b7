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

    # the two recipe pages without formulas score ~0.02: a 0.01 bar keeps them
    lower = ("--set", "math_classifier.threshold_nomath=0.01")
    owm(out, lid_model, *lower)  # a resume, not a refusal
    assert crawl_state(out) == crawl, "the crawl ran again"
    after = shards(out)
    assert after != before
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["outputs"]["documents"] == documents + 2
    rows = {(r["stage"], r["step"]): r for r in manifest["funnel"]}
    assert rows[("commoncrawl: thresholds", "🔻 - FILTER: math classifier")]["dropped"] == {}

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
                   "--set", "prefilter.min_chars=100", check=False)
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
