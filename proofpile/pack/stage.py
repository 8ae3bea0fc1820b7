"""The recipe's optional last stage, `stages.pack`: pack the finished build's shards into token files.

`PackStage` is also where the packer's defaults live (`proofpile.pack.tokenizer.DEFAULT_TOKENIZER`,
`proofpile pack`), so the packer is imported only inside the functions: this module sits below it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage


class PackStage(StageConfig):
    """Token files after finalize (proofpile.pack); packing never changes the shards, so it is not part of
    what makes a re-run a resume."""

    tokenizer: str = Field("codellama/CodeLlama-7b-hf", description="tokenizer.model/.json, a folder or a Hub id")
    format: Literal["megatron", "npy"] = "megatron"
    out: str = Field("packed", description="relative to the build's --out")
    weights: dict[str, float] = Field(default_factory=dict, description="subset -> share of training tokens")
    by_lang: bool = False
    seq_len: int | None = Field(None, gt=0)
    shuffle_seed: int = 0
    bos: bool = True
    eos: bool = True


def pack_as_configured(input_path: Path, out: Path, cfg: PackStage, tokenizer: str | None = None, **options) -> dict:
    """`pack` with the settings of a `stages.pack` section (`PackStage`): the recipe stage and `proofpile pack`
    map the same typed config onto the packer; `options` are the run's own (workers, ...)."""
    from proofpile.pack.packer import Framing, pack

    return pack(input_path, tokenizer or cfg.tokenizer, out, format=cfg.format, seq_len=cfg.seq_len,
                shuffle_seed=cfg.shuffle_seed, framing=Framing(bos=cfg.bos, eos=cfg.eos), by_lang=cfg.by_lang,
                weights=cfg.weights or None, **options)


def run_pack_stage(plan, workers: int = 1, progress: bool = False) -> dict:
    """Runs after finalize; returns the summary the build manifest keeps (tokens.json has the rest)."""
    from proofpile.pack.errors import PackError
    from proofpile.pack.tokenizer import TokenizerError, TokenizerParityError
    from proofpile.recipes import RecipeError, resolve_relative

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


@declare_stage("pack", config=PackStage, where="after", order=110,
               purpose="tokenization into Megatron/GPT-NeoX token files (not part of this upload unless published)")
def _stage(cfg, plan, manifest: dict, workers: int, progress: bool) -> None:
    from proofpile import manifest as mf

    manifest["pack"] = run_pack_stage(plan, workers=workers, progress=progress)
    mf.write_manifest(plan.out / "manifest.json", manifest)
