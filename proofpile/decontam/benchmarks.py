"""Benchmark test sets to decontaminate against, one small registered loader each.

A loader turns a source (the Hub by default, or a local JSONL/Parquet file) into `BenchmarkItem`s that keep
the benchmark's own item ids, so a contamination report can be checked against the benchmark itself.
Adding a benchmark (MATH-500, SVAMP, minif2f, ...) is one `@register` function naming its Hub dataset, its
text fields and how an item gets its id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from proofpile.errors import ProofpileError


class BenchmarkError(ProofpileError, ValueError):
    """One line naming the file (or dataset) and what is wrong with it."""


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str
    item_id: str
    #: field name -> text variants (all indexed under that field; e.g. GSM8K answers with and without the
    #: `<<48/2=24>>` calculator annotations, which copies on the web usually strip)
    fields: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Spec:
    name: str
    hub: tuple[str, str | None, str]  # dataset, config, split
    fields: tuple[str, ...]  # canonical field names the report uses, in order
    make_items: Callable[[list[dict], "Spec", str], list[BenchmarkItem]]
    default_mapping: dict[str, str] = field(default_factory=dict)  # canonical -> column in the source


REGISTRY: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    REGISTRY[spec.name] = spec
    return spec


def _records(path: Path) -> list[dict]:
    if not path.is_file():
        raise BenchmarkError(f"{path}: benchmark file not found")
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except (OSError, pa.ArrowException) as e:
            raise BenchmarkError(f"{path}: not a readable Parquet file ({_first_line(e)})") from None
    from proofpile.jsonl import parse_line

    rows = []
    with open(path, "rb") as f:  # lines decoded one by one: a bad byte or a line nested too deep is named
        for n, line in enumerate(f, 1):
            if line.strip():
                row, _, problem = parse_line(line)
                if row is None:  # a benchmark is strict: a skipped test item would go unchecked
                    raise BenchmarkError(f"{path}:{n}: not a benchmark record: {problem}")
                rows.append(row)
    return rows


def _hub_records(spec: Spec, cache_dir: str | None) -> list[dict]:
    """The benchmark's test split through `datasets` (which caches it). Any failure is one line that says how
    to go on without the Hub."""
    import datasets
    from huggingface_hub import constants

    name, config, split = spec.hub
    origin = f"hf://datasets/{name}"
    local = (f"pass --bench-file {spec.name}=PATH (in a recipe: decontaminate.files.{spec.name}=PATH), a local "
             f"JSONL or Parquet copy of its {split} split")
    if datasets.config.HF_HUB_OFFLINE or constants.HF_HUB_OFFLINE:  # HF_DATASETS_OFFLINE or HF_HUB_OFFLINE
        hint = ("offline mode is on (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) and the datasets cache does not hold it; "
                + local)
    else:
        hint = f"{local}, or, with the datasets cache already holding it, set HF_HUB_OFFLINE=1"
        _check_reachable(constants.ENDPOINT, name, origin, hint)
    try:
        configs = [config] if config else [None]
        if config == "*":  # every config (MATH is published one subject per config)
            configs = datasets.get_dataset_config_names(name)
        rows: list[dict] = []
        for c in configs:
            ds = datasets.load_dataset(name, c, split=split, cache_dir=cache_dir)  # cached by `datasets`
            rows += [dict(r, _config=c) for r in ds]
    except Exception as e:  # noqa: BLE001 - datasets and huggingface_hub raise many kinds; all end the same way
        raise BenchmarkError(f"{origin}: could not load the {spec.name} benchmark ({type(e).__name__}: "
                             f"{_first_line(e)}); {hint}") from None
    return rows


def _check_reachable(endpoint: str, name: str, origin: str, hint: str) -> None:
    """One request without retries: huggingface_hub retries a refused or unresolvable host five times with
    backoff (25 s) before `datasets` gives up with a long traceback."""
    import httpx2
    from huggingface_hub.utils import get_session

    try:
        get_session().head(f"{endpoint}/api/datasets/{name}", timeout=httpx2.Timeout(10.0), follow_redirects=True)
    except httpx2.TransportError as e:
        raise BenchmarkError(f"{origin}: could not fetch the benchmark: {endpoint} is not reachable "
                             f"({type(e).__name__}: {_first_line(e)}); {hint}") from None


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or ["no details"])[0]


def _fields(rows: list[dict], spec: Spec, origin: str, mapping: dict[str, str]) -> list[dict[str, str]]:
    cols = {**spec.default_mapping, **mapping}
    out = []
    for n, row in enumerate(rows):
        item = {}
        for canon in spec.fields:
            col = cols.get(canon, canon)
            value = row.get(col)
            if not isinstance(value, str):
                what = "missing" if value is None else f"not text ({type(value).__name__})"
                raise BenchmarkError(f"{origin}: record {n + 1}: field '{col}' ({spec.name} {canon}) is {what}")
            item[canon] = value
        out.append(item)
    return out


def load(name: str, path: str | Path | None = None, mapping: dict[str, str] | None = None,
         cache_dir: str | None = None) -> list[BenchmarkItem]:
    """Items of a registered benchmark, from `path` (JSONL or Parquet) or else from the Hub."""
    if name not in REGISTRY:
        raise BenchmarkError(f"{name}: unknown benchmark (known: {', '.join(sorted(REGISTRY))})")
    spec = REGISTRY[name]
    if path is not None:
        origin = str(path)
        rows = _records(Path(path))
    else:
        origin = f"hf://datasets/{spec.hub[0]}"
        rows = _hub_records(spec, cache_dir)
    items = spec.make_items(rows, spec, origin, mapping or {})
    if not items:
        raise BenchmarkError(f"{origin}: no {name} items")
    return items


# --- MATH --------------------------------------------------------------------------------------------------

def _math_items(rows: list[dict], spec: Spec, origin: str, mapping: dict[str, str]) -> list[BenchmarkItem]:
    texts = _fields(rows, spec, origin, mapping)
    id_col = mapping.get("id", "id")
    items = []
    for n, (row, t) in enumerate(zip(rows, texts)):
        # the shared JSONL keeps the original file name (`test/algebra/1.json`); the Hub copy has none, so the
        # id is subject and position there
        item_id = row.get(id_col) or f"test/{row.get('_config') or row.get('type', 'math')}/{n:04d}"
        items.append(BenchmarkItem("math", str(item_id), {f: (t[f],) for f in spec.fields}))
    return items


register(Spec("math", ("EleutherAI/hendrycks_math", "*", "test"), ("problem", "solution"), _math_items))


# --- GSM8K -------------------------------------------------------------------------------------------------

_CALCULATOR = re.compile(r"<<[^<>]*>>")


def _gsm8k_items(rows: list[dict], spec: Spec, origin: str, mapping: dict[str, str]) -> list[BenchmarkItem]:
    items = []
    for n, t in enumerate(_fields(rows, spec, origin, mapping)):
        answer = t["answer"]
        stripped = _CALCULATOR.sub("", answer)
        variants = (answer,) if stripped == answer else (answer, stripped)
        # GSM8K has no ids: the position in the official test file is stable
        items.append(BenchmarkItem("gsm8k", f"gsm8k/test/{n:04d}", {"question": (t["question"],), "answer": variants}))
    return items


register(Spec("gsm8k", ("openai/gsm8k", "main", "test"), ("question", "answer"), _gsm8k_items))


def iter_texts(items: list[BenchmarkItem]) -> Iterator[tuple[BenchmarkItem, str, str]]:
    for item in items:
        for fname, variants in item.fields.items():
            for text in variants:
                yield item, fname, text
