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


def verify(out: str | Path) -> VerifyReport:
    out = Path(out)
    report = VerifyReport(out=out)
    path = out / TOKENS_JSON
    if not path.is_file():
        report.errors.append(f"{path}: missing (not a pack directory, or the pack did not finish)")
        return report
    try:
        record = json.loads(path.read_text())
    except ValueError as e:
        report.errors.append(f"{path}: not valid JSON ({e})")
        return report
    for entry in record.get("prefixes", []):
        _check_prefix(out, entry, record, report)
    _check_sequences(out, record, report)
    return report
