"""Documents -> framed token ids -> one Megatron prefix per subset/split (optionally per language).

Work is split by Parquet row group: workers read and encode a row group each and the main process writes
their results strictly in input order, so the bytes never depend on `--workers`. Each prefix is first written
unshuffled to a temporary file, then copied out in a seeded permutation of its documents (spill.py), because
shuffling a corpus that does not fit in memory needs random access to tokens, not to Parquet rows.

Memory does not grow with the input: a row group is encoded a bounded batch of text at a time, at most two
row groups per worker are in flight, tokens go to disk as they come, and what stays in memory is each
document's length (for the `.idx`). A document above `max_document_bytes` is skipped and counted; below it,
a long one is encoded in pieces where that is exact (tokenizer.py).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from itertools import chain, islice
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from proofpile.atomic import write_text
from proofpile.pack.configs import write_configs
from proofpile.pack.errors import PackError
from proofpile.pack.megatron import TMP, IndexedWriter, paths, token_dtype
from proofpile.pack.outdir import OutDirError, PackDir, inside
from proofpile.pack.spill import PrefixSet
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
_SAMPLE_DOCS, _SAMPLE_BYTES = 64, 256_000
#: text handed to the tokenizer at once: bounds the Python lists of ids it returns (~36 bytes an id)
_BATCH_TEXT_BYTES = 1 << 20
#: rows read from Parquet at once (a build's row groups hold up to 32 MiB of text; a foreign file's, anything)
_READ_ROWS = 256
#: row groups queued per worker: results wait in memory only this far ahead of the writer
_IN_FLIGHT_PER_WORKER = 2
#: documents above this are skipped (`too_long`): a tokenizer that cannot be fed pieces needs the whole text
DEFAULT_MAX_DOCUMENT_BYTES = 64 << 20


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
        kind_of_text = pf.schema_arrow.field(text_column).type
        if not _is_text_type(kind_of_text):
            raise PackError(f"{f}: column '{text_column}' holds {kind_of_text}, not strings")
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


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300]}" if text else type(e).__name__


def _is_text_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t) or (
        hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t))


def _name(value, default: str) -> str:
    """A subset/split/lang cell as a name: any non-empty value as text (a column may hold numbers)."""
    return default if not value else str(value)


def _row_keys(unit: Unit, table, n: int) -> list[Key]:
    names = table.column_names
    if unit.subset is not None:
        subsets = [unit.subset] * n
    elif "subset" in names:
        subsets = [_name(s, unit.default_subset) for s in table.column("subset").to_pylist()]
    else:
        subsets = [unit.default_subset] * n
    if unit.split is not None:
        splits = [unit.split] * n
    elif "split" in names:
        splits = [_name(s, "train") for s in table.column("split").to_pylist()]
    elif "meta" in names:
        splits = []
        for m in table.column("meta").to_pylist():
            try:
                splits.append(_name(json.loads(m).get("split"), "train") if m else "train")
            except (ValueError, AttributeError, TypeError, RecursionError):
                splits.append("train")
    else:
        splits = ["train"] * n
    langs = [_name(s, "") for s in table.column("lang").to_pylist()] if "lang" in names else [""] * n
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
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES

    def frame(self, ids_list: list) -> tuple[np.ndarray, np.ndarray]:
        """Framed ids of many documents back to back, and their lengths, without a Python loop per token.

        An entry is a list of ids, or an array (a long document encoded in pieces)."""
        nb, ne = int(self.framing.bos), int(self.framing.eos)
        lens = np.fromiter((len(x) for x in ids_list), dtype=np.int64, count=len(ids_list))
        if all(isinstance(x, list) for x in ids_list):
            body = np.fromiter(chain.from_iterable(ids_list), dtype=np.int64, count=int(lens.sum()))
        else:
            body = np.concatenate([np.asarray(x, dtype=np.int64) for x in ids_list])
        framed = lens + nb + ne
        dtype = np.dtype(self.dtype)
        used = [body.max(), body.min()] if len(body) else []
        for tid in [*used, *([self.bos_id] if nb else []), *([self.eos_id] if ne else [])]:
            if int(tid) > np.iinfo(dtype).max or int(tid) < 0:
                raise AssertionError(f"token id {int(tid)} does not fit {dtype} (uint16 holds ids < 65,536)")
        if len(ids_list) == 1:  # one (maybe very long) document: no index arithmetic the size of its tokens
            bos, eos = (np.array([t][:n], dtype=np.int64) for t, n in ((self.bos_id, nb), (self.eos_id, ne)))
            return np.concatenate([bos, body, eos]).astype(dtype), framed
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
        return out.astype(dtype), framed

    def encode_texts(self, texts: list[str], names: list[str], result: UnitResult) -> list:
        if len(texts) == 1 and len(texts[0]) > _BATCH_TEXT_BYTES:
            try:
                return [self.tokenizer.encode_long(texts[0], piece_chars=_BATCH_TEXT_BYTES)]
            except Exception as e:
                result.skipped["tokenize_error"] += 1
                if len(result.errors) < _MAX_ERRORS:
                    result.errors.append(f"{names[0]}: cannot tokenize: {type(e).__name__}: {e}")
                return [None]
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

    def _skip(self, result: UnitResult, reason: str, where: str, detail: str = "") -> None:
        result.skipped[reason] += 1
        if len(result.errors) < _MAX_ERRORS:
            result.errors.append(f"{where}: {detail or reason.replace('_', ' ')}, skipped")

    def __call__(self, unit: Unit) -> UnitResult:
        """The row group's documents encoded and framed, grouped by (subset, split, lang) in order of first
        appearance; read `_READ_ROWS` rows at a time, so even a foreign file's huge row group is not held
        whole as text."""
        result = UnitResult(groups=[])
        parts: dict[Key, tuple[list[np.ndarray], list[np.ndarray], list[int]]] = {}
        where = f"{unit.path}: row group {unit.row_group}"
        try:
            pf = pq.ParquetFile(unit.path)
            names = pf.schema_arrow.names
            cols = [self.text_column] + [c for c in ("subset", "split", "lang") if c in names]
            if unit.split is None and "split" not in names and "meta" in names:
                cols.append("meta")
            batches = pf.iter_batches(batch_size=_READ_ROWS, row_groups=[unit.row_group], columns=cols)
        except Exception as e:  # a damaged row group costs its rows, not the pack
            self._skip(result, "unreadable_row_group", where, f"unreadable ({_one_line(e)})")
            return result
        first = 0
        while True:
            try:
                batch = next(batches, None)
            except Exception as e:
                self._skip(result, "unreadable_row_group", where,
                           f"unreadable from row {unit.first_row + first} on ({_one_line(e)})")
                break
            if batch is None:
                break
            self._encode_rows(unit, pa.Table.from_batches([batch]), first, parts, result)
            first += batch.num_rows
        for key, (tokens, lengths, text_bytes) in parts.items():
            if tokens:
                result.groups.append((key, np.concatenate(tokens), np.concatenate(lengths), text_bytes[0]))
        return result

    def _encode_rows(self, unit: Unit, table, first: int, parts: dict, result: UnitResult) -> None:
        column = table.column(self.text_column)
        n = len(column)
        if pa.types.is_null(column.type):
            nbytes = np.zeros(n, dtype=np.int64)
        else:
            nbytes = pc.binary_length(column).fill_null(0).to_numpy().astype(np.int64)
        keys = _row_keys(unit, table, n)
        start = 0
        while start < n:  # batches of about _BATCH_TEXT_BYTES of text (a longer document alone)
            stop = start + 1
            total = int(nbytes[start])
            while stop < n and total + int(nbytes[stop]) <= _BATCH_TEXT_BYTES:
                total += int(nbytes[stop])
                stop += 1
            texts = column.slice(start, stop - start).to_pylist()
            order: dict[Key, list[int]] = {}
            for i, text in enumerate(texts, start):
                where = f"{unit.path}: row {unit.first_row + first + i}"
                if text is None or text == "":
                    self._skip(result, "no_text" if text is None else "empty_text", where)
                elif nbytes[i] > self.max_document_bytes:
                    self._skip(result, "too_long", where, f"{int(nbytes[i]):,} bytes of text, more than "
                               f"max_document_bytes {self.max_document_bytes:,}")
                else:
                    order.setdefault(keys[i], []).append(i)
            for key, rows in order.items():
                slot = parts.setdefault(key, ([], [], [0]))
                row_names = [f"{unit.path}: row {unit.first_row + first + i}" for i in rows]
                encoded = self.encode_texts([texts[i - start] for i in rows], row_names, result)
                kept = [(i, ids) for i, ids in zip(rows, encoded) if ids is not None]
                if not kept:
                    continue
                tokens, lengths = self.frame([ids for _, ids in kept])
                slot[0].append(tokens)
                slot[1].append(lengths)
                slot[2][0] += sum(int(nbytes[i]) for i, _ in kept)
            start = stop


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
    """Results in exactly the order of `units`, whatever the worker count; at most
    `_IN_FLIGHT_PER_WORKER * workers` results wait in memory (`Pool.imap` would queue every one the workers
    finish while the writer is busy)."""
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            yield encoder(unit)
        return
    import multiprocessing as mp
    from collections import deque

    # spawn, not fork: the parent has pyarrow's and maybe the tokenizer's threads running
    with mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(encoder,)) as pool:
        pending = iter(units)
        ahead = _IN_FLIGHT_PER_WORKER * workers
        window = deque(pool.apply_async(_encode_in_worker, (u,)) for u in islice(pending, ahead))
        while window:
            result = window.popleft().get()
            for u in islice(pending, 1):
                window.append(pool.apply_async(_encode_in_worker, (u,)))
            yield result


# -- output ------------------------------------------------------------------------------------------------
def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", s) or "unknown"


def prefix_name(subset: str, split: str, lang: str | None) -> str:
    """`<subset>/<split>/<subset>_text_document`, or `..._<lang>_text_document` per language."""
    base = f"{_slug(subset)}_{_slug(lang)}" if lang is not None else _slug(subset)
    return f"{_slug(subset)}/{_slug(split)}/{base}_text_document"


def _sample(units: list[Unit], text_column: str) -> tuple[list[str], list[str]]:
    """The first documents of the input (each cut to the sample's size), for the tokenizer parity check."""
    texts, names, size = [], [], 0
    for unit in units:
        try:
            batches = pq.ParquetFile(unit.path).iter_batches(batch_size=_SAMPLE_DOCS, row_groups=[unit.row_group],
                                                             columns=[text_column])
            col = next(batches).column(0).to_pylist()
        except Exception:  # counted when the row group is packed
            continue
        for i, t in enumerate(col):
            if t:
                t = t[: _SAMPLE_BYTES - size]
                texts.append(t)
                names.append(f"{unit.path}: row {unit.first_row + i}")
                size += len(t)
            if len(texts) >= _SAMPLE_DOCS or size >= _SAMPLE_BYTES:
                return texts, names
    return texts, names


def _legacy_files(out: Path) -> list[Path] | None:
    """The files a pack by a proofpile without the ownership marker wrote into `out`, from its tokens.json;
    None when `out` is not such a pack."""
    try:
        old = json.loads((out / TOKENS_JSON).read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(old, dict) or "proofpile_pack" not in old:
        return None
    files = [out / TOKENS_JSON]
    for entry in old.get("prefixes") or []:
        if isinstance(entry, dict) and (prefix := inside(out, entry.get("prefix"))) is not None:
            files += [q for p in paths(prefix) for q in (p, Path(str(p) + TMP))]
    seq = old.get("sequences")
    for entry in seq.get("files") or [] if isinstance(seq, dict) else []:
        if isinstance(entry, dict) and (p := inside(out, entry.get("file"))) is not None:
            files.append(p)
    return files + [out / name for name in (NEOX_CONFIG, MEGATRON_DATA_PATH, MEGATRON_ARGS)]


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
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
) -> dict:
    """Pack a build directory or Parquet shards into `out`; returns what it wrote to `out/tokens.json`.

    `out` must be new, empty, or a previous pack (finished or killed): proofpile marks it when it starts
    (outdir.py), and a re-run replaces exactly the files the previous one wrote."""
    from proofpile.pack.sequences import SequenceStreams
    from proofpile.pack.tokenizer import load_tokenizer

    if format not in ("megatron", "npy"):
        raise PackError(f"--format must be megatron or npy, not {format!r}")
    if format == "npy" and not seq_len:
        raise PackError("--format npy writes fixed-length sequences: give --seq-len")
    if seq_len is not None and seq_len <= 0:
        raise PackError(f"--seq-len must be positive, not {seq_len}")
    if max_document_bytes <= 0:
        raise PackError(f"--max-document-bytes must be positive, not {max_document_bytes}")
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
    del texts, names
    dtype = token_dtype(tok.vocab_size)
    encoder = Encoder(tok, framing, specials["bos"], specials["eos"], dtype.name, text_column, max_document_bytes)

    try:
        owner = PackDir(out, legacy_files=_legacy_files)
    except OutDirError as e:
        raise PackError(str(e)) from None
    try:
        return _pack_into(owner, encoder, units, input_path, kind, tok, parity, specials, dtype, format=format,
                          workers=workers, seq_len=seq_len, shuffle_seed=shuffle_seed, framing=framing,
                          by_lang=by_lang, weights=weights, progress=progress, write_configs=write_configs,
                          streams_class=SequenceStreams)
    finally:
        owner.close()


def _pack_into(owner: PackDir, encoder: Encoder, units: list[Unit], input_path: Path, kind: str, tok, parity,
               specials, dtype, *, format, workers, seq_len, shuffle_seed, framing, by_lang, weights, progress,
               write_configs, streams_class) -> dict:
    out = owner.out
    sink = PrefixSet(out, dtype, owner.claim)
    skipped: Counter = Counter()
    errors: list[str] = []
    bar = streams = writer = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(units), unit="row group", desc="pack: tokenize")
    try:
        for result in encode_units(encoder, units, workers):
            for (subset, split, lang), tokens, lengths, nbytes in result.groups:
                prefix_lang = lang if by_lang else None
                sink.add(prefix_name(subset, split, prefix_lang), subset, split, prefix_lang, lang, tokens,
                         lengths, nbytes)
            skipped.update(result.skipped)
            errors.extend(result.errors[: max(0, _MAX_ERRORS - len(errors))])
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        streams = streams_class(out, dtype, seq_len, owner.claim) if seq_len else None
        prefixes = []
        ordered = sorted(sink.prefixes.values(), key=lambda p: (p.subset, _split_rank(p.split), p.lang or ""))
        for p in ordered:
            writer = None
            if format == "megatron":
                bin_path, idx_path = paths(out / p.name)
                owner.claim(Path(str(bin_path) + TMP), Path(str(idx_path) + TMP), bin_path, idx_path)
                writer = IndexedWriter(out / p.name, dtype)
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
                writer = None
                entry.update(bin_bytes=bin_path.stat().st_size, bin_sha256=sha256_file(bin_path),
                             idx_sha256=sha256_file(idx_path))
            prefixes.append(entry)
        sequences = streams.finish(shuffle_seed) if streams is not None else None
    except BaseException:
        sink.abort()
        if writer is not None:
            writer.abort()
        if streams is not None:
            streams.abort()
        raise
    if not prefixes:
        raise PackError(f"{input_path}: 0 documents packed ({dict(skipped) or 'no rows'}); is the text column empty?")
    if format == "npy" and not sequences["files"]:
        have = ", ".join(f"{s['split']}: {s['tokens']:,}" for s in sequences["short_splits"])
        raise PackError(f"{input_path}: no split has --seq-len {seq_len} tokens ({have}), nothing to write")

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
        owner.claim(*(out / name for base in (NEOX_CONFIG, MEGATRON_DATA_PATH, MEGATRON_ARGS)
                      for name in (base, base + TMP)))
        record["weights"] = write_configs(out, prefixes, weights)
    owner.claim(out / (TOKENS_JSON + TMP), out / TOKENS_JSON)  # atomic_path's temporary name
    write_text(out / TOKENS_JSON, json.dumps(record, indent=1, sort_keys=False, ensure_ascii=False) + "\n")
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
