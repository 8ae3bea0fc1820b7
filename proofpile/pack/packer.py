"""Documents -> framed token ids -> one Megatron prefix per subset/split (optionally per language).

Work is split by Parquet row group: workers read and encode a row group each and the main process writes
their results strictly in input order (`Pool.imap`), so the bytes never depend on `--workers`. Each prefix
is first written unshuffled to a temporary file, then copied out in a seeded permutation of its documents,
because shuffling a corpus that does not fit in memory needs random access to tokens, not to Parquet rows.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from itertools import chain
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from proofpile.pack.megatron import TMP, IndexedWriter, paths, token_dtype
from proofpile.pack.tokenizer import PackTokenizer
from proofpile.shards import parse_shard_name, sha256_file

SPLIT_ORDER = ("train", "validation", "test")
TOKENS_JSON = "tokens.json"
NEOX_CONFIG = "gpt-neox-data.yml"
MEGATRON_DATA_PATH = "megatron-data-path.txt"
MEGATRON_ARGS = "megatron-args.txt"
#: Proof-Pile-2's mix as LLEMMA trained on it (arXiv : web : AlgebraicStack = 2 : 4 : 1)
PROOF_PILE_2_WEIGHTS = {"arxiv": 2.0, "open-web-math": 4.0, "algebraic-stack": 1.0}
_MAX_ERRORS = 100
_SHUFFLE_CHUNK_TOKENS = 1 << 24
_SAMPLE_DOCS, _SAMPLE_BYTES = 64, 256_000


class PackError(ValueError):
    """Bad input or options; one line naming the file or option."""


@dataclass(frozen=True)
class Framing:
    """What surrounds each document's ids: `<s>` text `</s>` by default (BOS 1, EOS 2 for Llama).

    GPT-NeoX's `--append-eod` appends the tokenizer's `eod` id, which is 0 (`<unk>`) for a Llama model; the
    packer decides framing itself so that mistake cannot happen.
    """

    bos: bool = True
    eos: bool = True


@dataclass(frozen=True)
class Unit:
    """One Parquet row group, the unit of parallel work."""

    path: str
    row_group: int
    first_row: int
    subset: str | None  # from the build layout; None: per row from a `subset` column, else `default_subset`
    split: str | None  # likewise, from a `split` column or meta["split"], else "train"
    default_subset: str


Key = tuple[str, str, str]  # subset, split, lang


@dataclass
class UnitResult:
    groups: list[tuple[Key, np.ndarray, np.ndarray, int]]  # key, tokens, lengths, text bytes
    skipped: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


# -- inputs ------------------------------------------------------------------------------------------------
def _split_rank(split: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(split), "") if split in SPLIT_ORDER else (len(SPLIT_ORDER), split)


def find_units(input_path: Path, subset: str | None = None, text_column: str = "text") -> tuple[str, list[Unit]]:
    """("build", units) for a build directory (`data/<subset>/<split>[-<lang>]-*.parquet` beside
    manifest.json), else ("parquet", units) for a Parquet file or a directory of them."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise PackError(f"{input_path}: no such file or directory")
    if input_path.is_dir() and (input_path / "manifest.json").is_file():
        kind = "build"
        named = {p: parse_shard_name(p.relative_to(input_path)) for p in input_path.glob("data/*/*.parquet")}
        files = sorted(named, key=lambda p: (named[p][0], _split_rank(named[p][1]), p.name))
    else:
        kind = "parquet"
        if input_path.is_file():
            files = [input_path]
        else:
            files = sorted(
                p for p in input_path.rglob("*.parquet")
                if not any(part.startswith(("_", ".")) for part in p.relative_to(input_path).parts[:-1])
            )
    if not files:
        raise PackError(f"{input_path}: no Parquet shards found")
    default_subset = subset or (input_path.stem if input_path.is_file() else input_path.name)
    units = []
    for f in files:
        try:
            pf = pq.ParquetFile(f)
        except Exception as e:
            raise PackError(f"{f}: not a readable Parquet file ({e})") from None
        if text_column not in pf.schema_arrow.names:
            raise PackError(f"{f}: no '{text_column}' column (columns: {', '.join(pf.schema_arrow.names)})")
        row = 0
        for i in range(pf.num_row_groups):
            units.append(
                Unit(
                    path=str(f),
                    row_group=i,
                    first_row=row,
                    subset=named[f][0] if kind == "build" else None,
                    split=named[f][1] if kind == "build" else None,
                    default_subset=default_subset,
                )
            )
            row += pf.metadata.row_group(i).num_rows
    return kind, units


def _row_keys(unit: Unit, table, n: int) -> list[Key]:
    names = table.column_names
    if unit.subset is not None:
        subsets = [unit.subset] * n
    elif "subset" in names:
        subsets = [s or unit.default_subset for s in table.column("subset").to_pylist()]
    else:
        subsets = [unit.default_subset] * n
    if unit.split is not None:
        splits = [unit.split] * n
    elif "split" in names:
        splits = [s or "train" for s in table.column("split").to_pylist()]
    elif "meta" in names:
        splits = []
        for m in table.column("meta").to_pylist():
            try:
                splits.append(str(json.loads(m).get("split") or "train") if m else "train")
            except (ValueError, AttributeError):
                splits.append("train")
    else:
        splits = ["train"] * n
    langs = [s or "" for s in table.column("lang").to_pylist()] if "lang" in names else [""] * n
    return list(zip(subsets, splits, langs))


# -- encoding (runs in workers) ----------------------------------------------------------------------------
@dataclass
class Encoder:
    tokenizer: PackTokenizer
    framing: Framing
    bos_id: int
    eos_id: int
    dtype: str
    text_column: str = "text"

    def frame(self, ids_list: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Framed ids of many documents back to back, and their lengths, without a Python loop per token."""
        nb, ne = int(self.framing.bos), int(self.framing.eos)
        lens = np.fromiter((len(x) for x in ids_list), dtype=np.int64, count=len(ids_list))
        body = np.fromiter(chain.from_iterable(ids_list), dtype=np.int64, count=int(lens.sum()))
        framed = lens + nb + ne
        out = np.empty(int(framed.sum()), dtype=np.int64)
        starts = np.zeros(len(framed), dtype=np.int64)
        np.cumsum(framed[:-1], out=starts[1:])
        if nb:
            out[starts] = self.bos_id
        if ne:
            out[starts + framed - 1] = self.eos_id
        body_starts = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=body_starts[1:])
        out[np.arange(len(body)) + np.repeat(starts + nb - body_starts, lens)] = body
        dtype = np.dtype(self.dtype)
        if len(out) and (int(out.max()) > np.iinfo(dtype).max or int(out.min()) < 0):
            bad = int(out.max()) if int(out.max()) > np.iinfo(dtype).max else int(out.min())
            raise AssertionError(f"token id {bad} does not fit {dtype} (uint16 holds ids < 65,536)")
        return out.astype(dtype), framed

    def encode_texts(self, texts: list[str], names: list[str], result: UnitResult) -> list[list[int] | None]:
        try:
            return self.tokenizer.encode_batch(texts)
        except Exception:  # one bad document must not lose the others: redo them one by one
            out: list[list[int] | None] = []
            for text, name in zip(texts, names):
                try:
                    out.append(self.tokenizer.encode(text))
                except Exception as e:
                    result.skipped["tokenize_error"] += 1
                    if len(result.errors) < _MAX_ERRORS:
                        result.errors.append(f"{name}: cannot tokenize: {type(e).__name__}: {e}")
                    out.append(None)
            return out

    def __call__(self, unit: Unit) -> UnitResult:
        pf = pq.ParquetFile(unit.path)
        names = pf.schema_arrow.names
        cols = [self.text_column] + [c for c in ("subset", "split", "lang") if c in names]
        if unit.split is None and "split" not in names and "meta" in names:
            cols.append("meta")
        table = pf.read_row_group(unit.row_group, columns=cols)
        column = table.column(self.text_column)
        texts = column.to_pylist()
        nbytes = pc.binary_length(column).to_pylist()
        keys = _row_keys(unit, table, len(texts))
        result = UnitResult(groups=[])
        order: dict[Key, list[int]] = {}
        for i, (text, key) in enumerate(zip(texts, keys)):
            if text is None or text == "":
                reason = "no_text" if text is None else "empty_text"
                result.skipped[reason] += 1
                if len(result.errors) < _MAX_ERRORS:
                    result.errors.append(f"{unit.path}: row {unit.first_row + i}: {reason.replace('_', ' ')}, skipped")
                continue
            order.setdefault(key, []).append(i)
        for key, rows in order.items():
            row_names = [f"{unit.path}: row {unit.first_row + i}" for i in rows]
            encoded = self.encode_texts([texts[i] for i in rows], row_names, result)
            kept = [(i, ids) for i, ids in zip(rows, encoded) if ids is not None]
            if not kept:
                continue
            tokens, lengths = self.frame([ids for _, ids in kept])
            result.groups.append((key, tokens, lengths, sum(nbytes[i] for i, _ in kept)))
        return result


_WORKER_ENCODER: Encoder | None = None


def _init_worker(encoder: Encoder) -> None:
    global _WORKER_ENCODER
    # each worker is one core: the Rust tokenizer's own thread pool would oversubscribe the machine
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _WORKER_ENCODER = encoder


def _encode_in_worker(unit: Unit) -> UnitResult:
    assert _WORKER_ENCODER is not None
    return _WORKER_ENCODER(unit)


def encode_units(encoder: Encoder, units: list[Unit], workers: int) -> Iterator[UnitResult]:
    """Results in exactly the order of `units`, whatever the worker count."""
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            yield encoder(unit)
        return
    import multiprocessing as mp

    # spawn, not fork: the parent has pyarrow's and maybe the tokenizer's threads running
    with mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(encoder,)) as pool:
        yield from pool.imap(_encode_in_worker, units, chunksize=1)


# -- output ------------------------------------------------------------------------------------------------
def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", s) or "unknown"


def prefix_name(subset: str, split: str, lang: str | None) -> str:
    """`<subset>/<split>/<subset>_text_document`, or `..._<lang>_text_document` per language."""
    base = f"{_slug(subset)}_{_slug(lang)}" if lang is not None else _slug(subset)
    return f"{_slug(subset)}/{_slug(split)}/{base}_text_document"


@dataclass
class _Prefix:
    name: str
    subset: str
    split: str
    lang: str | None
    tmp: Path
    file: object
    lengths: list[np.ndarray] = field(default_factory=list)
    text_bytes: int = 0
    by_lang: Counter = field(default_factory=Counter)  # lang -> tokens
    docs_by_lang: Counter = field(default_factory=Counter)


class PrefixSet:
    """Collects each prefix's documents unshuffled in a temporary file, then writes them shuffled."""

    def __init__(self, out: Path, dtype: np.dtype, by_lang: bool):
        self.out, self.dtype, self.by_lang = out, np.dtype(dtype), by_lang
        self.prefixes: dict[str, _Prefix] = {}

    def add(self, key: Key, tokens: np.ndarray, lengths: np.ndarray, text_bytes: int) -> None:
        subset, split, lang = key
        name = prefix_name(subset, split, lang if self.by_lang else None)
        p = self.prefixes.get(name)
        if p is None:
            tmp = self.out / f"{name}.unshuffled{TMP}"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            p = self.prefixes[name] = _Prefix(name, subset, split, lang if self.by_lang else None, tmp,
                                              open(tmp, "wb", buffering=1 << 20))
        p.file.write(tokens.astype(self.dtype, copy=False).tobytes())
        p.lengths.append(lengths)
        p.text_bytes += text_bytes
        p.by_lang[lang] += len(tokens)
        p.docs_by_lang[lang] += len(lengths)

    def ordered(self) -> list[_Prefix]:
        return sorted(self.prefixes.values(), key=lambda p: (p.subset, _split_rank(p.split), p.lang or ""))

    def shuffled(self, p: _Prefix, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The prefix's documents in `default_rng(seed).permutation(n)` order, in chunks of whole documents."""
        p.file.close()
        lengths = np.concatenate(p.lengths)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        perm = np.random.default_rng(seed).permutation(len(lengths))
        tokens = np.memmap(p.tmp, dtype=self.dtype, mode="r") if lengths.sum() else np.zeros(0, self.dtype)
        cum = np.cumsum(lengths[perm])
        i = 0
        while i < len(perm):
            j = int(np.searchsorted(cum, (cum[i - 1] if i else 0) + _SHUFFLE_CHUNK_TOKENS, side="right"))
            j = max(j, i + 1)
            docs = perm[i:j]
            lens = lengths[docs]
            out_starts = np.zeros(len(docs), dtype=np.int64)
            np.cumsum(lens[:-1], out=out_starts[1:])
            src = np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(starts[docs] - out_starts, lens)
            yield np.asarray(tokens[src]), lens
            i = j
        del tokens
        p.tmp.unlink()

    def abort(self) -> None:
        for p in self.prefixes.values():
            p.file.close()
            p.tmp.unlink(missing_ok=True)


def _sample(units: list[Unit], text_column: str) -> tuple[list[str], list[str]]:
    """The first documents of the input, for the tokenizer parity check."""
    texts, names, size = [], [], 0
    for unit in units:
        col = pq.ParquetFile(unit.path).read_row_group(unit.row_group, columns=[text_column]).column(0)
        for i, t in enumerate(col.to_pylist()):
            if t:
                texts.append(t)
                names.append(f"{unit.path}: row {unit.first_row + i}")
                size += len(t)
            if len(texts) >= _SAMPLE_DOCS or size >= _SAMPLE_BYTES:
                return texts, names
    return texts, names


def _clear_previous(out: Path) -> None:
    """Make `out` ready: empty, or a previous pack whose files are removed before new ones are written."""
    if not out.exists():
        out.mkdir(parents=True)
        return
    if not out.is_dir():
        raise PackError(f"{out}: exists and is not a directory")
    previous = out / TOKENS_JSON
    if previous.is_file():
        try:
            old = json.loads(previous.read_text())
        except ValueError:
            old = {}
        previous.unlink()  # from here on the directory no longer claims to be complete
        for entry in old.get("prefixes", []):
            for f in paths(out / entry["prefix"]):
                f.unlink(missing_ok=True)
        for entry in old.get("sequences", {}).get("files", []):
            (out / entry["file"]).unlink(missing_ok=True)
        for name in (NEOX_CONFIG, MEGATRON_DATA_PATH, MEGATRON_ARGS):
            (out / name).unlink(missing_ok=True)
    elif any(p for p in out.iterdir() if not p.name.endswith(TMP)):
        raise PackError(f"{out}: not empty and not a previous pack (no {TOKENS_JSON}); use a new --out")
    for stale in out.rglob(f"*{TMP}"):
        stale.unlink()


def pack(
    input_path: str | os.PathLike,
    tokenizer: str | os.PathLike | PackTokenizer,
    out: str | os.PathLike,
    *,
    format: str = "megatron",
    workers: int = 1,
    seq_len: int | None = None,
    shuffle_seed: int = 0,
    framing: Framing = Framing(),
    by_lang: bool = False,
    weights: dict[str, float] | None = None,
    subset: str | None = None,
    text_column: str = "text",
    backend: str = "auto",
    progress: bool = False,
) -> dict:
    """Pack a build directory or Parquet shards into `out`; returns what it wrote to `out/tokens.json`."""
    from proofpile.pack.configs import write_configs
    from proofpile.pack.sequences import SequenceStreams
    from proofpile.pack.tokenizer import load_tokenizer

    if format not in ("megatron", "npy"):
        raise PackError(f"--format must be megatron or npy, not {format!r}")
    if format == "npy" and not seq_len:
        raise PackError("--format npy writes fixed-length sequences: give --seq-len")
    if seq_len is not None and seq_len <= 0:
        raise PackError(f"--seq-len must be positive, not {seq_len}")
    input_path, out = Path(input_path).resolve(), Path(out).resolve()
    kind, units = find_units(input_path, subset=subset, text_column=text_column)
    if weights and kind == "build":
        missing = sorted({u.subset for u in units} - set(weights))
        if missing:
            raise PackError(f"weights: no weight for subset {', '.join(missing)} (have {', '.join(sorted(weights))})")
    tok = tokenizer if isinstance(tokenizer, PackTokenizer) else load_tokenizer(tokenizer, backend=backend)
    specials = tok.special_ids()
    for want, name in ((framing.bos, "bos"), (framing.eos, "eos")):
        if want and specials[name] < 0:
            raise PackError(f"{tok.files.ref}: framing asks for {name.upper()} but the tokenizer has no {name} token")
    texts, names = _sample(units, text_column)
    parity = tok.check_parity(texts, names)
    dtype = token_dtype(tok.vocab_size)
    encoder = Encoder(tok, framing, specials["bos"], specials["eos"], dtype.name, text_column)

    _clear_previous(out)
    sink = PrefixSet(out, dtype, by_lang)
    skipped: Counter = Counter()
    errors: list[str] = []
    bar = streams = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(units), unit="row group", desc="pack: tokenize")
    try:
        for result in encode_units(encoder, units, workers):
            for key, tokens, lengths, nbytes in result.groups:
                sink.add(key, tokens, lengths, nbytes)
            skipped.update(result.skipped)
            errors.extend(result.errors[: max(0, _MAX_ERRORS - len(errors))])
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        streams = SequenceStreams(out, dtype, seq_len) if seq_len else None
        prefixes = []
        for p in sink.ordered():
            writer = IndexedWriter(out / p.name, dtype) if format == "megatron" else None
            docs = tokens = 0
            for chunk, lens in sink.shuffled(p, shuffle_seed):
                if writer is not None:
                    writer.add(chunk, lens)
                if streams is not None:
                    streams.add(p.split, chunk)
                docs += len(lens)
                tokens += len(chunk)
            entry = {"prefix": p.name, "subset": p.subset, "split": p.split, "lang": p.lang,
                     "documents": docs, "tokens": tokens, "text_bytes": p.text_bytes,
                     "by_lang": {k or "": {"documents": p.docs_by_lang[k], "tokens": v}
                                 for k, v in sorted(p.by_lang.items())}}
            if writer is not None:
                writer.close()
                bin_path, idx_path = paths(out / p.name)
                entry.update(bin_bytes=bin_path.stat().st_size, bin_sha256=sha256_file(bin_path),
                             idx_sha256=sha256_file(idx_path))
            prefixes.append(entry)
        sequences = streams.finish(shuffle_seed) if streams is not None else None
    except BaseException:
        sink.abort()
        if streams is not None:
            streams.abort()
        raise
    if not prefixes:
        raise PackError(f"{input_path}: 0 documents packed ({dict(skipped) or 'no rows'}); is the text column empty?")

    record = {
        "proofpile_pack": 1,
        "input": {"path": str(input_path), "kind": kind, "row_groups": len(units),
                  "files": len({u.path for u in units})},
        "format": format,
        "tokenizer": {**tok.record(), "parity": parity},
        "framing": {"bos": framing.bos, "eos": framing.eos, "bos_id": specials["bos"] if framing.bos else None,
                    "eos_id": specials["eos"] if framing.eos else None},
        "dtype": dtype.name,
        "shuffle": {"seed": shuffle_seed,
                    "documents": "numpy.random.default_rng(seed).permutation(documents), within each prefix"},
        "by_lang": by_lang,
        "prefixes": prefixes if format == "megatron" else [],
        "tokens": _totals(prefixes),
        "total": {k: sum(p[k] for p in prefixes) for k in ("documents", "tokens", "text_bytes")},
        "skipped": dict(sorted(skipped.items())),
        "errors": errors,
    }
    if sequences is not None:
        record["sequences"] = sequences
    if format == "megatron":
        record["weights"] = write_configs(out, prefixes, weights)
    tmp = out / (TOKENS_JSON + TMP)
    tmp.write_text(json.dumps(record, indent=1, sort_keys=False, ensure_ascii=False) + "\n")
    os.replace(tmp, out / TOKENS_JSON)
    return record


def _totals(prefixes: list[dict]) -> dict:
    """tokens.json's `tokens`: per subset, per split, per language — documents, tokens, text bytes."""
    out: dict = {}
    for p in prefixes:
        node = out.setdefault(p["subset"], {}).setdefault(p["split"], {"documents": 0, "tokens": 0, "text_bytes": 0,
                                                                       "by_lang": {}})
        node["documents"] += p["documents"]
        node["tokens"] += p["tokens"]
        node["text_bytes"] += p["text_bytes"]
        for lang, c in p["by_lang"].items():
            slot = node["by_lang"].setdefault(lang, {"documents": 0, "tokens": 0})
            slot["documents"] += c["documents"]
            slot["tokens"] += c["tokens"]
    return out
