"""The dropped-documents table: what the per-document filters removed, with stage, reason, scores and the first
characters; shown per reason by `stats` and the card, and not part of what `publish` uploads."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from proofpile.dropped import HEAD_CHARS
from proofpile.publish.card import write_card
from proofpile.publish.hub import local_files
from proofpile.publish.stats import compute_stats, render_stats

from .test_build import run_cli, sample_args


def owm(out: Path, lid_model: Path, *extra: str) -> None:
    run_cli("build", "open-web-math", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}", *extra)


@pytest.fixture(scope="module")
def build(tmp_path_factory, lid_model: Path) -> Path:
    out = tmp_path_factory.mktemp("dropped") / "out"
    owm(out, lid_model)
    return out


def test_every_per_document_drop_is_a_row_with_its_scores(build: Path):
    rows = pq.read_table(build / "dropped" / "open-web-math.parquet").to_pylist()
    assert [(r["stage"], r["reason"]) for r in rows] == [
        ("prefilter", "no_math_signal"), ("prefilter", "no_math_signal"), ("prefilter", "no_math_in_text"),
        ("langid", "wrong_language")]
    german = json.loads(rows[3]["scores"])
    assert german["lid_lang"] == "de" and german["lid_score"] > 0.9 and "math_score" in german
    assert all(r["url"].startswith("https://") and r["subset"] == "open-web-math" for r in rows)
    assert all(len(r["text"]) == min(r["text_chars"], HEAD_CHARS) for r in rows)
    assert any(r["text_chars"] > HEAD_CHARS for r in rows)
    # the kept documents are exactly those not in the table
    kept = {r["id"] for p in (build / "data").rglob("*.parquet") for r in pq.read_table(p, columns=["id"]).to_pylist()}
    assert not kept & {r["id"] for r in rows}


def test_code_rule_drops_keep_the_signals_their_verdict_computed(tmp_path: Path, lid_model: Path):
    out = tmp_path / "as"
    run_cli(*sample_args(out, lid_model))
    rows = [r for r in pq.read_table(out / "dropped" / "algebraic-stack.parquet").to_pylist()
            if r["stage"] == "code_rules"]
    by_reason = {r["reason"]: json.loads(r["scores"]) for r in rows}
    assert by_reason["numerical_density"]["numerical_density"] > 0.5
    assert by_reason["no_math_import"]["math_imports"] == []


def test_stats_card_and_publish(build: Path):
    stats = compute_stats(build)
    by_reason = {(g["stage"], g["reason"]): g for g in stats["dropped"]}
    assert by_reason[("prefilter", "no_math_signal")]["count"] == 2
    assert by_reason[("prefilter", "no_math_in_text")]["count"] == 1
    assert [s["where"] for s in by_reason[("langid", "wrong_language")]["samples"]] == [
        "https://mathe-ecke.example/algebra/quadratische-gleichungen"]
    text = render_stats(stats)
    assert "open-web-math / langid / wrong_language: 1" in text and "mathe-ecke.example" in text
    write_card(build)
    card = (build / "README.md").read_text()
    assert "weekend-kitchen.example/recipes/lemon-drizzle-loaf" in card
    assert not [f for f in local_files(build) if "dropped" in f.path_in_repo]


def test_full_text_and_off(tmp_path: Path, lid_model: Path):
    owm(tmp_path / "full", lid_model, "--set", "dropped.full_text=true")
    rows = pq.read_table(tmp_path / "full" / "dropped" / "open-web-math.parquet").to_pylist()
    assert len(rows) == 4 and all(len(r["text"]) == r["text_chars"] for r in rows)
    owm(tmp_path / "off", lid_model, "--set", "dropped.enabled=false")
    assert not (tmp_path / "off" / "dropped").exists() and not (tmp_path / "off" / "_work" / "dropped").exists()
    # it decides what the crawl writes: changing it is another build, not a silently partial table
    proc = run_cli("build", "open-web-math", "--sample", "--out", str(tmp_path / "off"), "--set",
                   f"langid.model={lid_model}", check=False)
    assert proc.returncode != 0 and "holds a build of another recipe" in proc.stderr
