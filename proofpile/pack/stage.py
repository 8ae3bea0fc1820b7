"""The recipe's optional last stage, `stages.pack`: pack the finished build's shards into token files."""

from __future__ import annotations

from pathlib import Path

from proofpile.pack.packer import Framing, pack
from proofpile.recipes import RecipeError
from proofpile.stages import PackStage


def pack_as_configured(input_path: Path, out: Path, cfg: PackStage, tokenizer: str | None = None, **options) -> dict:
    """`pack` with the settings of a `stages.pack` section (`proofpile.stages.PackStage`): the recipe stage and
    `proofpile pack` map the same typed config onto the packer; `options` are the run's own (workers, ...)."""
    return pack(input_path, tokenizer or cfg.tokenizer, out, format=cfg.format, seq_len=cfg.seq_len,
                shuffle_seed=cfg.shuffle_seed, framing=Framing(bos=cfg.bos, eos=cfg.eos), by_lang=cfg.by_lang,
                weights=cfg.weights or None, **options)


def run_pack_stage(plan, workers: int = 1, progress: bool = False) -> dict:
    """Runs after finalize; returns the summary the build manifest keeps (tokens.json has the rest)."""
    from proofpile.pack.errors import PackError
    from proofpile.pack.tokenizer import TokenizerError, TokenizerParityError
    from proofpile.recipes import resolve_relative

    cfg = plan.recipe.stages.pack
    out = Path(cfg.out) if Path(cfg.out).is_absolute() else plan.out / cfg.out
    tokenizer = cfg.tokenizer
    local = resolve_relative(plan.recipe_path, tokenizer)
    if local.exists():  # a path in the recipe is relative to the project, like every other file it names
        tokenizer = str(local)
    try:
        record = pack_as_configured(plan.out, out, cfg, tokenizer=tokenizer, workers=workers, progress=progress)
    except (PackError, TokenizerError, TokenizerParityError) as e:
        raise RecipeError(f"{plan.recipe_path}: stages.pack: {e}") from None
    return {"out": str(out), "tokens_json": str(out / "tokens.json"), "total": record["total"],
            "dtype": record["dtype"], "tokenizer_sha256": record["tokenizer"]["sha256"]}
