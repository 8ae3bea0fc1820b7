"""`proofpile pack verify DIR`: re-read every file a pack wrote and report each fault on one line.

A trainer that memory-maps a bad `.idx` does not fail: it reads tokens from the wrong place for weeks. So
this re-derives everything derivable — header, offsets from lengths, `.bin` size, dtype, ids below the
vocabulary size, the framing tokens at every document boundary, counts and sha256 against tokens.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from proofpile.pack.megatron import CODE_OF, IndexedReader, IndexFormatError
from proofpile.pack.packer import TOKENS_JSON
from proofpile.shards import sha256_file

_SCAN_TOKENS = 1 << 24


@dataclass
class VerifyReport:
    out: Path
    errors: list[str] = field(default_factory=list)
    prefixes: int = 0
    documents: int = 0
    tokens: int = 0
    sequence_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _max_id(tokens: np.ndarray) -> int:
    hi = 0
    for i in range(0, len(tokens), _SCAN_TOKENS):
        hi = max(hi, int(np.asarray(tokens[i : i + _SCAN_TOKENS]).max()))
    return hi


def _check_prefix(out: Path, entry: dict, record: dict, report: VerifyReport) -> None:
    prefix = out / entry["prefix"]
    try:
        r = IndexedReader(prefix)
    except IndexFormatError as e:
        report.errors.append(str(e))
        return
    want = np.dtype(record["dtype"])
    if r.dtype != want:
        report.errors.append(
            f"{r.idx_path}: dtype code {r.dtype_code} ({r.dtype}), but the pack wrote {want} (code {CODE_OF[want]})"
        )
    structural = r.check()
    report.errors += structural
    if len(r) != entry["documents"]:
        report.errors.append(f"{r.idx_path}: {len(r):,} sequences, tokens.json says {entry['documents']:,} documents")
    n_tokens = int(r.lengths.astype(np.int64).sum())
    if n_tokens != entry["tokens"]:
        report.errors.append(f"{r.idx_path}: {n_tokens:,} tokens indexed, tokens.json says {entry['tokens']:,}")
    if structural or r.dtype != want:
        return  # token-level checks would only repeat the same fault in other words
    vocab = record["tokenizer"]["vocab_size"]
    if len(r.tokens) and (hi := _max_id(r.tokens)) >= vocab:
        report.errors.append(f"{r.bin_path}: token id {hi:,} is outside the vocabulary ({vocab:,})")
    framing = record.get("framing", {})
    starts = r.offsets // r.dtype.itemsize
    nonempty = r.lengths > 0
    for name, pos in (("bos", starts), ("eos", starts + r.lengths.astype(np.int64) - 1)):
        tid = framing.get(f"{name}_id")
        if tid is None or not nonempty.any():
            continue
        got = np.asarray(r.tokens[pos[nonempty]])
        bad = np.flatnonzero(got != tid)
        if len(bad):
            doc = int(np.flatnonzero(nonempty)[bad[0]])
            report.errors.append(
                f"{r.bin_path}: document {doc} {'starts' if name == 'bos' else 'ends'} with {int(got[bad[0]])}, "
                f"not {name.upper()} {tid} ({len(bad):,} documents like it): offsets or lengths point off "
                f"the document boundaries"
            )
    for key, path in (("bin_sha256", r.bin_path), ("idx_sha256", r.idx_path)):
        if key in entry and sha256_file(path) != entry[key]:
            report.errors.append(f"{path}: sha256 differs from tokens.json: the file changed after packing")
    report.prefixes += 1
    report.documents += len(r)
    report.tokens += n_tokens


def _check_sequences(out: Path, record: dict, report: VerifyReport) -> None:
    seq = record.get("sequences")
    if not seq:
        return
    for entry in seq["files"]:
        if entry["file"] is None:
            continue
        path = out / entry["file"]
        if not path.is_file():
            report.errors.append(f"{path}: missing")
            continue
        try:
            arr = np.load(path, mmap_mode="r")
        except (ValueError, OSError) as e:
            report.errors.append(f"{path}: not a readable .npy ({e})")
            continue
        if arr.shape != (entry["rows"], seq["seq_len"]) or arr.dtype != np.dtype(seq["dtype"]):
            report.errors.append(
                f"{path}: shape {arr.shape} {arr.dtype}, tokens.json says ({entry['rows']}, {seq['seq_len']}) {seq['dtype']}"
            )
            continue
        if "sha256" in entry and sha256_file(path) != entry["sha256"]:
            report.errors.append(f"{path}: sha256 differs from tokens.json: the file changed after packing")
        report.sequence_files += 1


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_rel_path(v) -> bool:
    return isinstance(v, str) and bool(v) and not Path(v).is_absolute() and ".." not in Path(v).parts


def _is_dtype(v) -> bool:
    try:
        return isinstance(v, str) and np.dtype(v) in CODE_OF
    except TypeError:
        return False


def record_fault(record) -> str | None:
    """What is wrong with the shape of a tokens.json, naming the key; None when verify can read it.

    Checked up front so that a hand-edited or truncated record is one line, not a KeyError deep in a check."""
    if not isinstance(record, dict):
        return f"expected an object, got {type(record).__name__}"
    checks = [("dtype", record.get("dtype"), _is_dtype, "uint16 or int32"),
              ("tokenizer", record.get("tokenizer"), lambda v: isinstance(v, dict), "an object")]
    if isinstance(record.get("tokenizer"), dict):
        checks.append(("tokenizer.vocab_size", record["tokenizer"].get("vocab_size"), _is_int, "an integer"))
    framing = record.get("framing", {})
    checks.append(("framing", framing, lambda v: isinstance(v, dict), "an object"))
    if isinstance(framing, dict):
        for k in ("bos_id", "eos_id"):
            checks.append((f"framing.{k}", framing.get(k), lambda v: v is None or _is_int(v), "an integer or null"))
    prefixes = record.get("prefixes", [])
    checks.append(("prefixes", prefixes, lambda v: isinstance(v, list), "a list"))
    for i, entry in enumerate(prefixes if isinstance(prefixes, list) else []):
        key = f"prefixes[{i}]"
        if not isinstance(entry, dict):
            checks.append((key, entry, lambda v: False, "an object"))
            continue
        checks += [(f"{key}.prefix", entry.get("prefix"), _is_rel_path, "a relative path inside the pack"),
                   (f"{key}.documents", entry.get("documents"), _is_int, "an integer"),
                   (f"{key}.tokens", entry.get("tokens"), _is_int, "an integer")]
        checks += [(f"{key}.{k}", entry[k], lambda v: isinstance(v, str), "a string")
                   for k in ("bin_sha256", "idx_sha256") if k in entry]
    seq = record.get("sequences")
    if seq is not None:
        checks.append(("sequences", seq, lambda v: isinstance(v, dict), "an object"))
    if isinstance(seq, dict):
        checks += [("sequences.seq_len", seq.get("seq_len"), lambda v: _is_int(v) and v > 0, "a positive integer"),
                   ("sequences.dtype", seq.get("dtype"), _is_dtype, "uint16 or int32"),
                   ("sequences.files", seq.get("files"), lambda v: isinstance(v, list), "a list")]
        for i, entry in enumerate(seq["files"] if isinstance(seq.get("files"), list) else []):
            key = f"sequences.files[{i}]"
            if not isinstance(entry, dict):
                checks.append((key, entry, lambda v: False, "an object"))
                continue
            checks += [(f"{key}.file", entry.get("file"), lambda v: v is None or _is_rel_path(v),
                        "a relative path inside the pack"),
                       (f"{key}.rows", entry.get("rows"), _is_int, "an integer")]
            if "sha256" in entry:
                checks.append((f"{key}.sha256", entry["sha256"], lambda v: isinstance(v, str), "a string"))
    for key, value, ok, want in checks:
        if not ok(value):
            shown = json.dumps(value)
            return f"{key}: expected {want}, got {shown if len(shown) <= 40 else shown[:37] + '...'}"
    return None


def verify(out: str | Path) -> VerifyReport:
    out = Path(out)
    report = VerifyReport(out=out)
    path = out / TOKENS_JSON
    if not path.is_file():
        report.errors.append(f"{path}: missing (not a pack directory, or the pack did not finish)")
        return report
    try:
        record = json.loads(path.read_text())
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        report.errors.append(f"{path}: not valid JSON ({type(e).__name__}: {str(e).splitlines()[0][:200]})")
        return report
    except OSError as e:
        report.errors.append(f"{path}: cannot read ({e.strerror or e})")
        return report
    fault = record_fault(record)
    if fault:
        report.errors.append(f"{path}: malformed: {fault}")
        return report
    for entry in record.get("prefixes", []):
        _check_prefix(out, entry, record, report)
    _check_sequences(out, record, report)
    return report
