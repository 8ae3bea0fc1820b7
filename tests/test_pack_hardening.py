"""`proofpile pack` against what a corpus run meets: inputs far larger than memory, one huge document, a
SIGKILL half-way, odd options and hostile files. Every pack runs as a real subprocess of the real CLI, and
its output is read back with the trainers' reader logic (IndexedReader, and the format-facts reader of
test_pack) and decoded to the input text."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from proofpile.pack import IndexedReader, PackError, load_tokenizer, pack, verify
from proofpile.pack.outdir import MARKER, OutDirError, PackDir

from .test_pack import make_build, read_megatron, trained_tokenizer  # noqa: F401  (a fixture)

REPO = Path(__file__).resolve().parents[1]
PACK = [sys.executable, "-m", "proofpile", "pack"]


def run(*args, check: bool = True) -> subprocess.CompletedProcess:
    extra = [] if args[0] == "verify" else ["--no-progress"]
    proc = subprocess.run([*PACK, *map(str, args), *extra], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def bench(shared_data):
    os.environ.setdefault("PROOFPILE_TEST_DATA", str(shared_data))
    spec = importlib.util.spec_from_file_location("bench_pack", REPO / "bench" / "pack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpora(bench, tmp_path_factory):
    """Build directories of `mb` MB of real text (arXiv LaTeX, web pages, MATH, Python sources), cached."""
    root = tmp_path_factory.mktemp("corpora")
    return lambda mb: bench.make_corpus(root / f"c{mb}", mb)


@pytest.fixture(scope="module")
def llama_model(shared_data) -> Path:
    p = shared_data / "tokenizer" / "llama2-tokenizer.model"
    if not p.is_file():
        pytest.skip(f"Llama 2 tokenizer missing: {p}")
    return p


def _real_text(shared_data: Path, chars: int) -> str:
    """Real text nobody here wrote (web pages, MATH problems, arXiv LaTeX), repeated up to `chars`."""
    parts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((shared_data / "html").rglob("*.html"))]
    parts += [json.loads(line)["problem"] for line in open(shared_data / "benchmarks" / "math_test.jsonl")][:2000]
    text = "\n".join(parts)
    return (text * (chars // len(text) + 1))[:chars]


def _decoded_docs(out: Path, tok, record: dict) -> Counter:
    """Every document of every prefix, read with IndexedReader, checked against the format-facts reader, and
    decoded without its <s> </s>."""
    docs: Counter = Counter()
    for entry in record["prefixes"]:
        reader = IndexedReader(out / entry["prefix"])
        assert not reader.check()
        _, facts = read_megatron(out / entry["prefix"])
        assert len(facts) == len(reader) == entry["documents"]
        for i in range(len(reader)):
            ids = reader[i]
            assert np.array_equal(ids, facts[i])
            docs[tok.decode(ids[1:-1])] += 1
    return docs


# -- memory ------------------------------------------------------------------------------------------------
def test_peak_memory_is_flat_in_the_input_size(bench, corpora, llama_model, tmp_path):
    """Before: 336 MB at 8 MB of text, 650 MB at 32 (bench: 589, 674, 785 MB at 20, 50, 150): it grew with
    the input."""
    peaks = {}
    for mb in (8, 32):
        peaks[mb], _ = bench.peak_rss([*PACK, str(corpora(mb)), "--tokenizer", str(llama_model),
                                       "--out", str(tmp_path / f"p{mb}"), "--no-progress"])
    assert peaks[32] - peaks[8] < 60, f"peak RSS grows with the input: {peaks} MB"
    assert verify(tmp_path / "p32").ok


def test_one_huge_document_is_encoded_in_pieces_with_bounded_memory(bench, llama_model, shared_data, tmp_path):
    """A 10^7-character document peaked at 1.35 GB; the pieces must give exactly the whole text's ids."""
    text = _real_text(shared_data, 10**7)
    pq.write_table(pa.table({"text": [text, "a short second document"]}), tmp_path / "big.parquet")
    peak, _ = bench.peak_rss([*PACK, str(tmp_path / "big.parquet"), "--tokenizer", str(llama_model),
                              "--out", str(tmp_path / "out"), "--no-progress"])
    assert peak < 600, f"one 10 MB document peaks at {peak:.0f} MB"
    tok = load_tokenizer(llama_model)
    record = json.loads((tmp_path / "out" / "tokens.json").read_text())
    assert _decoded_docs(tmp_path / "out", tok, record) == Counter([text, "a short second document"])

    # too long for the cap: skipped, counted and named; the other document is packed
    proc = run(tmp_path / "big.parquet", "--tokenizer", llama_model, "--out", tmp_path / "capped",
               "--max-document-bytes", 1_000_000)
    record = json.loads((tmp_path / "capped" / "tokens.json").read_text())
    assert record["skipped"] == {"too_long": 1} and record["total"]["documents"] == 1
    assert "big.parquet: row 0: " in proc.stderr and "more than max_document_bytes 1,000,000, skipped" in proc.stderr


def test_pieces_give_the_ids_of_the_whole_text(llama_model, shared_data):
    """Cutting after line breaks is exact for Llama's BPE model: checked on real text with cuts every few KB."""
    tok = load_tokenizer(llama_model, backend="sentencepiece")
    assert tok.sp_tail, "Llama's model is BPE, identity-normalised, byte-fallback, no piece holds a line break"
    text = _real_text(shared_data, 600_000)
    whole = tok.encode(text)
    for piece in (997, 4096, 50_000):
        assert list(tok.encode_long(text, piece_chars=piece)) == whole
    # the HF backend has no exact cut: it encodes whole documents
    hf = load_tokenizer(str(llama_model).replace(".model", ".json"), backend="tokenizers")
    assert hf.encode_long(text[:20_000], piece_chars=997) == hf.encode(text[:20_000])


# -- kill and re-run ---------------------------------------------------------------------------------------
def _kill_when(cmd: list[str], ready) -> bool:
    """Start `cmd`, SIGKILL it as soon as `ready()`; False when it finished first."""
    def looks_ready() -> bool:
        try:
            return ready()
        except OSError:  # a directory the pack removes while it is being listed
            return False

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            if looks_ready():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.01)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.suffix in (".bin", ".idx", ".npy")}


def test_sigkill_mid_pack_then_rerun_gives_the_uninterrupted_output(corpora, llama_model, tmp_path):
    """Before: after a kill once packed/<subset>/ existed, every later run was refused."""
    corpus = corpora(4)
    args = [str(corpus), "--tokenizer", str(llama_model), "--seq-len", "512"]
    run(*args, "--workers", 2, "--out", tmp_path / "ref")
    reference = _outputs(tmp_path / "ref")
    out = tmp_path / "packed"
    cmd = [*PACK, *args, "--out", str(out), "--no-progress"]

    # killed while tokenizing, once packed/<subset>/ exists
    assert _kill_when(cmd, lambda: any(p.is_dir() for p in out.glob("*"))), "the pack finished before the kill"
    assert not (out / "tokens.json").exists()
    run(*args, "--out", out)
    assert _outputs(out) == reference
    assert run("verify", out).stdout.startswith("ok: ")

    # a re-pack over a finished pack, killed half-way: the next run still redoes it cleanly
    assert _kill_when(cmd, lambda: any(out.rglob("*.unshuffled.tmp"))), "the pack finished before the kill"
    run(*args, "--out", out)
    assert _outputs(out) == reference
    assert run("verify", out).stdout.startswith("ok: ")
    record = json.loads((out / "tokens.json").read_text())
    assert not list(out.rglob("*.tmp"))

    # read back as the trainers read it, and decoded: every input document once
    texts = Counter(t for p in sorted(corpus.glob("data/*/*.parquet"))
                    for t in pq.read_table(p).column("text").to_pylist())
    assert _decoded_docs(out, load_tokenizer(llama_model), record) == texts


# -- sequences longer than a split -------------------------------------------------------------------------
def test_seq_len_longer_than_a_split_gives_no_file_and_reruns_work(trained_tokenizer, tmp_path):  # noqa: F811
    """Before: `files[].file: null` in tokens.json, then a TypeError on the identical re-run."""
    root = tmp_path / "build"
    make_build(root)
    first = pack(root, trained_tokenizer, tmp_path / "probe")
    by_split = Counter()
    for entry in first["prefixes"]:
        by_split[entry["split"]] += entry["tokens"]
    seq_len = by_split["validation"] + 1
    assert by_split["train"] >= seq_len
    out = tmp_path / "out"
    for _ in range(3):  # the identical re-runs are the point
        proc = run(root, "--tokenizer", trained_tokenizer, "--out", out, "--seq-len", seq_len)
        record = json.loads((out / "tokens.json").read_text())
        seq = record["sequences"]
        assert [e["split"] for e in seq["files"]] == ["train"] and all(e["file"] for e in seq["files"])
        assert seq["short_splits"] == [{"split": "validation", "tokens": by_split["validation"],
                                        "reason": "fewer tokens than seq_len"}]
        assert seq["skipped"] == {"split_shorter_than_seq_len": 1}
        assert "validation: " in proc.stdout and "no sequence file" in proc.stdout
        assert run("verify", out).stdout.startswith("ok: ")
    arr = np.load(out / seq["files"][0]["file"], mmap_mode="r")
    assert arr.shape == (by_split["train"] // seq_len, seq_len)
    with pytest.raises(PackError, match="no split has --seq-len"):
        pack(root, trained_tokenizer, tmp_path / "npy", format="npy", seq_len=10**9)


# -- one error line ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("column", [
    pa.array([1, 2], pa.int64()),
    pa.array([b"x", b"y"], pa.binary()),
    pa.array([["a"], ["b"]], pa.list_(pa.string())),
    pa.array([{"t": "a"}, {"t": "b"}]),
], ids=["int64", "binary", "list", "struct"])
def test_text_column_that_is_not_strings_is_one_error_line(trained_tokenizer, tmp_path, column):  # noqa: F811
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"text": column}), path)
    line = one_error_line(run(path, "--tokenizer", trained_tokenizer, "--out", tmp_path / "out", check=False))
    assert f"{path}: column 'text' holds" in line and "not strings" in line
    assert not (tmp_path / "out").exists()


def test_subset_split_lang_cells_that_are_not_strings_are_names(trained_tokenizer, tmp_path):  # noqa: F811
    table = pa.table({"text": ["one", "two", "three"], "subset": [1, None, 3], "split": [5, None, 5],
                      "lang": [None, 2.5, 1.0]})
    pq.write_table(table, tmp_path / "odd.parquet")
    record = pack(tmp_path / "odd.parquet", trained_tokenizer, tmp_path / "out", by_lang=True)
    assert record["total"]["documents"] == 3 and verify(tmp_path / "out").ok


def test_a_damaged_row_group_costs_only_its_rows(llama_model, tmp_path):
    path = tmp_path / "damaged.parquet"
    texts = [f"document {i}: " + "the integral of a continuous function " * 20 for i in range(20)]
    pq.write_table(pa.table({"text": texts}), path, row_group_size=10, compression="snappy")
    header = pq.ParquetFile(path).metadata.row_group(0).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[header : header + 24] = b"\xab" * 24  # row group 0's data page header: not decodable
    path.write_bytes(bytes(data))
    proc = run(path, "--tokenizer", llama_model, "--out", tmp_path / "out")
    record = json.loads((tmp_path / "out" / "tokens.json").read_text())
    assert record["skipped"] == {"unreadable_row_group": 1} and record["total"]["documents"] == 10
    assert f"warning: {path}: row group 0: unreadable from row 0 on (OSError: " in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "unreadable" in line]) == 1
    assert _decoded_docs(tmp_path / "out", load_tokenizer(llama_model), record) == Counter(texts[10:])


@pytest.fixture(scope="module")
def packed_once(trained_tokenizer, tmp_path_factory) -> Path:  # noqa: F811
    root = tmp_path_factory.mktemp("build")
    make_build(root)
    out = tmp_path_factory.mktemp("packed") / "out"
    pack(root, trained_tokenizer, out, seq_len=16)
    return out


@pytest.mark.parametrize("content, fault", [
    ("{not json", "not valid JSON"),
    ("[]", "malformed: expected an object, got list"),
    ('{"dtype": "uint16", "tokenizer": {"vocab_size": 600}, "prefixes": "x"}', "prefixes: expected a list"),
    (None, "prefixes[0].tokens: expected an integer"),
    ("drop:dtype", "dtype: expected uint16 or int32, got null"),
    ("seq:rows", "sequences.files[0].rows: expected an integer"),
    ("prefix:/etc/passwd", "prefixes[0].prefix: expected a relative path inside the pack"),
    ('{"dtype": "uint16", "tokenizer": {"vocab_size": 600}, "prefixes": [7]}', "prefixes[0]: expected an object"),
])
def test_verify_of_a_malformed_tokens_json_is_one_error_line(packed_once, tmp_path, content, fault):
    out = tmp_path / "out"
    shutil.copytree(packed_once, out)
    good = json.loads((out / "tokens.json").read_text())
    if content is None:
        good["prefixes"][0]["tokens"] = "many"
    elif content == "drop:dtype":
        del good["dtype"]
    elif content == "seq:rows":
        good["sequences"]["files"][0]["rows"] = None
    elif content.startswith("prefix:"):
        good["prefixes"][0]["prefix"] = content.split(":", 1)[1]
    (out / "tokens.json").write_text(content if content and content[0] in "{[" else json.dumps(good))
    line = one_error_line(run("verify", out, check=False))
    assert line.startswith(f"error: {out / 'tokens.json'}: ") and fault in line, line


# -- never delete what the pack did not write --------------------------------------------------------------
def _plant(d: Path) -> dict[Path, bytes]:
    files = {d / "notes.txt": b"mine", d / "scratch.tmp": b"also mine", d / "arxiv" / "draft.tmp": b"mine too"}
    for p, data in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def test_out_never_deletes_files_the_pack_did_not_write(trained_tokenizer, tmp_path):  # noqa: F811
    root = tmp_path / "build"
    make_build(root)

    busy = tmp_path / "busy"  # an unrelated directory: refused, untouched
    planted = _plant(busy)
    line = one_error_line(run(root, "--tokenizer", trained_tokenizer, "--out", busy, check=False))
    assert "not empty and not a previous pack" in line
    assert {p: p.read_bytes() for p in planted} == planted and not (busy / MARKER).exists()

    # a pack by a proofpile from before the marker (tokens.json, no marker) with the user's files beside it:
    # re-packed, and only the files its tokens.json names are replaced
    legacy = tmp_path / "legacy"
    pack(root, trained_tokenizer, legacy, seq_len=16, by_lang=True)
    (legacy / MARKER).unlink()
    old = json.loads((legacy / "tokens.json").read_text())  # as the old packer wrote a split shorter than L
    old["sequences"]["files"].append({"split": "validation", "file": None, "rows": 0})
    (legacy / "tokens.json").write_text(json.dumps(old))
    planted = _plant(legacy)
    pack(root, trained_tokenizer, legacy)
    assert {p: p.read_bytes() for p in planted} == planted
    assert not list(legacy.glob("*.npy")) and not list(legacy.rglob("*_lean_text_document.bin")) and verify(legacy).ok

    # a marked pack directory the user added files to: a re-pack leaves them
    pack(root, trained_tokenizer, legacy, by_lang=True)
    assert {p: p.read_bytes() for p in planted} == planted and verify(legacy).ok

    # a journal naming paths outside the directory (hand-edited, or hostile) deletes nothing there
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    with open(legacy / MARKER, "a") as f:
        f.write(json.dumps({"file": "../outside.txt"}) + "\n" + json.dumps({"file": str(outside)}) + "\n")
    pack(root, trained_tokenizer, legacy)
    assert outside.read_text() == "keep" and verify(legacy).ok


def test_two_packs_cannot_share_a_directory(tmp_path):
    first = PackDir(tmp_path / "out")
    try:
        with pytest.raises(OutDirError, match="another pack is writing"):
            PackDir(tmp_path / "out")
    finally:
        first.close()
    PackDir(tmp_path / "out").close()  # free again once the first is done
    shutil.rmtree(tmp_path / "out")
