"""The max-line-length filter: its core, the datatrove step, and the stage run from a recipe on the sample."""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.data import Document

from proofpile.filters.max_line_length import MaxLineLengthFilter, longest_line
from tests.test_build import all_rows, run_cli


def test_longest_line_counts_characters_per_line():
    assert longest_line("") == 0
    assert longest_line("abc") == 3
    assert longest_line("ab\r\nabcd\n\nx") == 4
    assert longest_line("∫x²dx\n" + "é" * 7) == 7  # characters, not bytes


def test_filter_drops_with_a_reason_and_keeps_the_score():
    step = MaxLineLengthFilter(max_chars=10)
    docs = [Document(text="short\nlines", id="0"), Document(text="ok\n" + "y" * 11, id="1"),
            Document(text="x" * 10, id="2")]
    kept = list(step.run(iter(docs)))
    assert [d.id for d in kept] == ["0", "2"]
    assert [d.metadata["max_line_length"] for d in kept] == [5, 10]
    assert step.stats["dropped_line_too_long"].total == 1 and step.stats["dropped"].total == 1


def test_stage_from_the_recipe_on_the_sample(tmp_path: Path, lid_model: Path):
    """Enabled with `--set` on the shipped recipe (no other change), it runs after quality in the crawl task and
    drops the sample pages whose longest extracted line is above the threshold."""
    out = tmp_path / "out"
    dry = run_cli("build", "open-web-math", "--sample", "--out", str(out), "--dry-run",
                  "--set", "max_line_length.enabled=true")
    assert "-> quality -> max line length -> _work/signals/commoncrawl/" in dry.stdout
    run_cli("build", "open-web-math", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
            "--set", "max_line_length.enabled=true", "--set", "max_line_length.max_chars=400",
            "--set", "card.enabled=true")
    metas = [json.loads(r["meta"]) for r in all_rows(out, "open-web-math")]
    assert metas and all(m["max_line_length"] <= 400 for m in metas)
    funnel = json.loads((out / "manifest.json").read_text())["funnel"]
    row = next(r for r in funnel if r["step"].endswith("max line length"))
    # it runs in the crawl task, before the language and MathScore thresholds are applied to the stored scores:
    # two of the seven sample pages that reach it (past the prefilter) have a line over 400 characters
    assert row["dropped"] == {"line_too_long": 2} and (row["in"], row["out"]) == (7, 5)
    card = (out / "README.md").read_text().splitlines()  # the chain names it after quality, with its purpose
    after_quality = card[next(i for i, line in enumerate(card) if "**quality**" in line) + 1]
    assert "**max_line_length**: pages with a line longer than `max_chars` dropped" in after_quality
    assert "`max_chars=400`" in after_quality
    bad = run_cli("build", "open-web-math", "--out", str(out), "--dry-run", "--set", "max_line_length.max_chars=0",
                  check=False)
    assert bad.returncode == 2 and "stages.max_line_length.max_chars" in bad.stderr and "Traceback" not in bad.stderr
