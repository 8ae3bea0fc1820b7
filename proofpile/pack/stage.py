"""The recipe's optional last stage, `stages.pack`: pack the finished build's shards into token files."""

from __future__ import annotations

from pathlib import Path

from proofpile.pack.packer import Framing, pack
from proofpile.recipes import RecipeError


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
        record = pack(plan.out, tokenizer, out, format=cfg.format, workers=workers, seq_len=cfg.seq_len,
                      shuffle_seed=cfg.shuffle_seed, framing=Framing(bos=cfg.bos, eos=cfg.eos), by_lang=cfg.by_lang,
                      weights=cfg.weights or None, progress=progress)
    except (PackError, TokenizerError, TokenizerParityError) as e:
        raise RecipeError(f"{plan.recipe_path}: stages.pack: {e}") from None
    return {"out": str(out), "tokens_json": str(out / "tokens.json"), "total": record["total"],
            "dtype": record["dtype"], "tokenizer_sha256": record["tokenizer"]["sha256"]}
