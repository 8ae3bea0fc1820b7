"""The CLI's one error path: every `ProofpileError` (and OSError/ValueError from an input) becomes one
`error:` line and exit code 2, whichever command raised it, and the standalone commands take their defaults
from the recipe's typed stage configs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PROOFPILE = [sys.executable, "-m", "proofpile.cli"]
ARXIV_PAPERS = ["2301.00001.gz", "2301.00002.gz"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_build_with_decontamination_and_no_hub_is_one_line(tmp_path: Path, shared_data: Path):
    """A non-sample build must fetch MATH/GSM8K from the Hub; with the Hub unreachable that is one line, not a
    good line followed by a traceback (build used to catch only RecipeError and OSError)."""
    paths = "arxiv.paths=[" + ", ".join(str(shared_data / "arxiv" / p) for p in ARXIV_PAPERS) + "]"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(tmp_path / "hf"))
    proc = subprocess.run([*PROOFPILE, "build", "arxiv", "--out", str(tmp_path / "out"), "--no-progress",
                           "--set", paths, "--set", "decontaminate.enabled=true"],
                          capture_output=True, text=True, check=False, env=env, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "hf://datasets/EleutherAI/hendrycks_math" in errors[0] and "is not reachable" in errors[0], errors[0]


def _error_classes() -> list[type]:
    """Every exception class defined in a proofpile module."""
    import importlib
    import inspect
    import pkgutil

    import proofpile

    found = {}
    for info in pkgutil.walk_packages(proofpile.__path__, "proofpile."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


#: not user-facing: a programming error in a stage declaration, and the HTTP reader's internal signals that
#: each source turns into a named skip reason (they never reach a command)
NOT_USER_FACING = {"StageDeclarationError", "DeadlineExceeded", "TooLarge"}


def test_every_user_facing_error_is_a_proofpile_error():
    from proofpile.errors import ProofpileError

    classes = _error_classes()
    assert len(classes) >= 20, [c.__name__ for c in classes]
    stray = [f"{c.__module__}.{c.__qualname__}" for c in classes
             if c.__name__ not in NOT_USER_FACING and not issubclass(c, ProofpileError)]
    assert stray == []


def test_error_classes_keep_their_builtin_bases():
    """Existing `except ValueError` / `except OSError` clauses still catch them."""
    from proofpile.decontam.benchmarks import BenchmarkError
    from proofpile.pack import PackError, TokenizerParityError
    from proofpile.pack.configs import WeightsError
    from proofpile.recipes import RecipeError
    from proofpile.shards import ShardWriteError

    assert issubclass(RecipeError, ValueError) and issubclass(BenchmarkError, ValueError)
    assert issubclass(ShardWriteError, OSError) and issubclass(TokenizerParityError, RuntimeError)
    assert issubclass(WeightsError, PackError) and issubclass(PackError, ValueError)


def _run(*args):
    from typer.testing import CliRunner

    from proofpile.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def _one_error(result) -> str:
    assert result.exit_code == 2, result.output[-2000:]
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["dedup", "x", "--out", "o", "--bands", "0"], "error: --bands: Input should be greater than or equal to 1"),
    (["plan", "dedup", "--docs", "9", "--avg-bytes", "9", "--rows", "0"], "error: --rows: Input should be greater"),
    (["decontaminate", "x", "--out", "o", "--ngram", "1"], "error: --ngram: Input should be greater than or equal to 2"),
    (["pack", "x", "--out", "o", "--format", "bin"], "error: --format: Input should be 'megatron' or 'npy'"),
    (["pack", "x", "--out", "o", "--seq-len", "0"], "error: --seq-len: Input should be greater than 0"),
])
def test_standalone_options_are_checked_by_the_stage_models(args, expected):
    """`dedup`, `plan dedup`, `decontaminate` and `pack` fill the recipe's own typed stage sections, so an
    option is checked by the same constraint as the recipe key, before any input is read."""
    assert _one_error(_run(*args)).startswith(expected)


def test_a_library_error_raised_by_any_command_is_one_line(tmp_path: Path):
    """Caught once, around every command: `stats` (StatsError), a subcommand group (`pack run`: PackError for
    an input without shards) and a recipe error (`build`)."""
    assert "manifest.json: not found" in _one_error(_run("stats", tmp_path))
    assert _one_error(_run("pack", tmp_path, "--out", tmp_path / "p")) == f"error: {tmp_path}: no Parquet shards found"
    assert "treshold: unknown key" in _one_error(_run("build", "arxiv", "--out", tmp_path / "o", "--dry-run",
                                                      "--set", "langid.treshold=1"))


def test_standalone_defaults_are_the_recipe_stage_defaults():
    """One place for each default: the typed stage config (proofpile.stages)."""
    from proofpile.dedup.minhash import MinHashParams
    from proofpile.dedup.near import NearDedupConfig
    from proofpile.pack import DEFAULT_TOKENIZER
    from proofpile.stages import NearDedupStage, PackStage

    stage = NearDedupStage()
    assert NearDedupConfig.from_stage(stage) == NearDedupConfig()
    assert MinHashParams() == NearDedupConfig.from_stage(stage).params
    assert DEFAULT_TOKENIZER == PackStage().tokenizer
    plan = _run("plan", "dedup", "--docs", "1000", "--avg-bytes", "100")
    assert plan.exit_code == 0 and f"{stage.bands} bands x {stage.rows} rows" in plan.stdout
    assert _run("plan", "dedup", "--docs", "1000", "--avg-bytes", "100", "--bands", str(stage.bands),
                "--rows", str(stage.rows), "--ngram", str(stage.ngram)).stdout == plan.stdout


def test_crawl_shorthands_equal_the_set_items_they_stand_for():
    """`build` loads its recipe once and applies `--crawl`/`--max-files` to it; the result (hence the build
    identity) is the recipe loaded with the equivalent `--set` items, which a Slurm job's command repeats."""
    from proofpile.recipes import RecipeError, dump, load_recipe, with_crawl

    rec, path = load_recipe("open-web-math", ["executor.kind=local"])
    applied, items = with_crawl(rec, path, "CC-MAIN-2023-06", 3)
    assert items == ["commoncrawl.crawl=CC-MAIN-2023-06", "commoncrawl.paths_file=null", "commoncrawl.files=[]",
                     "commoncrawl.max_files=3"]
    assert dump(applied) == dump(load_recipe("open-web-math", ["executor.kind=local", *items])[0])
    assert dump(rec) == dump(load_recipe("open-web-math", ["executor.kind=local"])[0])  # the loaded one untouched
    assert with_crawl(rec, path, None, None) == (rec, [])
    with pytest.raises(RecipeError, match="sources.commoncrawl.crawl: String should match"):
        with_crawl(rec, path, "2023-06", None)
    with pytest.raises(RecipeError, match="no commoncrawl source"):
        with_crawl(*load_recipe("algebraic-stack"), "CC-MAIN-2023-06", None)
