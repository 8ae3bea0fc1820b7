"""The `proofpile` command: parse arguments, call the library, print. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Build math pretraining corpora (Proof-Pile-2 and better).")


def _fail(msg: str, code: int = 2) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


@app.command()
def build(
    recipe: Annotated[str, typer.Argument(help="recipe name (algebraic-stack) or path to a recipe YAML")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override, e.g. langid.model=/path/lid.176.ftz")] = None,
    workers: Annotated[int, typer.Option(help="parallel processes (outputs do not depend on it)")] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the resolved plan and stop")] = False,
    sample: Annotated[bool, typer.Option("--sample", help="build from the bundled sample inputs (no network)")] = False,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Build a subset from its recipe; re-running into the same --out resumes."""
    from proofpile.build import describe, plan_build, run_build
    from proofpile.manifest import render_funnel
    from proofpile.recipes import RecipeError, load_recipe

    try:
        rec, path = load_recipe(recipe, set_ or [])
        plan = plan_build(rec, path, out, sample=sample)
    except RecipeError as e:
        _fail(str(e))
    for err in plan.input_errors:
        typer.echo(f"warning: {err}", err=True)
    if dry_run:
        typer.echo(describe(plan))
        return
    try:
        manifest = run_build(plan, workers=workers, progress=progress and sys.stderr.isatty())
    except RecipeError as e:
        _fail(str(e))
    typer.echo(render_funnel(manifest["funnel"]))
    outs = manifest["outputs"]
    typer.echo(f"\n{outs['documents']:,} documents in {len(outs['shards'])} shards under {plan.out / rec.subset}")
    typer.echo(f"manifest: {plan.out / 'manifest.json'}")


@app.command()
def discover(
    lang: Annotated[str, typer.Option(help="lean, coq, isabelle or matlab")],
    min_stars: Annotated[int, typer.Option(help="minimum stars")] = 0,
    limit: Annotated[int, typer.Option(help="at most this many repositories")] = 100,
    pushed_before: Annotated[Optional[str], typer.Option(help="pin each repo to its last commit before this date (YYYY-MM-DD)")] = None,
    api_url: Annotated[str, typer.Option(help="GitHub API base URL")] = "https://api.github.com",
) -> None:
    """List repositories through the GitHub search API (token from GITHUB_TOKEN), as manifest lines."""
    from proofpile.sources.discover import discover as run

    try:
        lines = run(lang, min_stars=min_stars, limit=limit, pushed_before=pushed_before, api_url=api_url)
    except (RuntimeError, ValueError, OSError) as e:
        _fail(str(e))
    for line in lines:
        typer.echo(line)


@app.command()
def version() -> None:
    """Print proofpile's and its main dependencies' versions."""
    from proofpile.manifest import versions

    for k, v in versions().items():
        typer.echo(f"{k} {v}")


if __name__ == "__main__":
    app()
