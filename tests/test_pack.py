"""proofpile pack: token files read back by a reader written here from the format facts, round trips through
real tokenizers, corruption caught by verify, and byte-identical output for 1 and 2 workers."""

from __future__ import annotations

import json
import random
import shutil
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datatrove.data import Document

from proofpile.pack import (
    Framing,
    IndexedReader,
    IndexedWriter,
    PackError,
    TokenizerParityError,
    load_tokenizer,
    pack,
    verify,
)
from proofpile.pack.packer import find_units
from proofpile.shards import ShardSet, shard_key, to_row

PROSE = [
    "Let $f\\colon \\mathbb{R}\\to\\mathbb{R}$ be continuous on $[a,b]$.",
    "Then $\\int_0^1 f(x)\\,dx = \\lim_{n\\to\\infty} \\frac{1}{n}\\sum_{k=1}^{n} f(k/n)$.",
    "∀ε>0 ∃δ>0: |x−y|<δ ⇒ |f(x)−f(y)|<ε, as in Cauchy's definition.",
    "The ﬁrst case is trivial; the second follows from Lemma~\\ref{lem:bound}.",
    "We write <s> and </s> literally here, and <unk> too.",
    "数学 is mathematics; émigré, naïve café 🙂 — and ½ of ²√x.",
    "\\begin{theorem}\\label{thm:main} Every bounded sequence has a convergent subsequence. \\end{theorem}",
    "  leading spaces, trailing spaces   ",
]
CODE = [
    "theorem add_comm' (a b : ℕ) : a + b = b + a := by\n  simp [Nat.add_comm]",
    "def f(x):\n    return x ** 2  # square\n\n\n",
    "    indented    with   runs   of    spaces\t\ttabs\r\nand CRLF",
    "Lemma app_nil : forall (A : Type) (l : list A), l ++ [] = l.\nProof. induction l; simpl; congruence. Qed.",
    "function y = sq(x)\n  y = x.^2; % MATLAB\nend",
]


def _text(rng: random.Random) -> str:
    parts = [rng.choice(PROSE + CODE) for _ in range(rng.randint(1, 5))]
    return rng.choice(["\n\n", " ", "\n"]).join(parts)


def make_build(root: Path, n: int = 80, seed: int = 7) -> list[Document]:
    """A build directory shaped like `proofpile build` output: manifest.json,
    data/<subset>/<split>-<lang>-NNNNN-of-MMMMM.parquet."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        subset, lang = rng.choice([("algebraic-stack", "lean"), ("algebraic-stack", "python"), ("arxiv", "tex")])
        split = "validation" if i % 9 == 4 else "train"
        docs.append(Document(text=_text(rng), id=f"d{i}", metadata={"subset": subset, "lang": lang, "split": split}))
    docs.append(Document(text="", id="empty", metadata={"subset": "arxiv", "lang": "tex", "split": "train"}))
    shards = ShardSet(max_shard_bytes=1 << 30, row_group_rows=6, of_total=True)
    for d in docs:
        m = d.metadata
        shards.write(root / "data" / m["subset"], shard_key(m["split"], m["lang"]), to_row(d))
    shards.close()
    (root / "manifest.json").write_text("{}")
    return docs


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> tuple[Path, list[Document]]:
    root = tmp_path_factory.mktemp("build")
    return root, make_build(root)


@pytest.fixture(scope="module")
def trained_tokenizer(tmp_path_factory) -> Path:
    """A small byte-level BPE with NFKC normalisation, trained here on a few KB (so 'ﬁ' decodes as 'fi')."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    rng = random.Random(1)
    tok.train_from_iterator([_text(rng) for _ in range(300)], trainer=trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def llama_model(shared_data: Path) -> Path:
    p = shared_data / "tokenizer" / "llama2-tokenizer.model"
    if not p.is_file():
        pytest.skip(f"Llama 2 tokenizer missing: {p}")
    return p


# -- an independent reader, written from the format facts only ---------------------------------------------
def read_megatron(prefix: Path) -> tuple[np.dtype, list[np.ndarray]]:
    idx = Path(str(prefix) + ".idx").read_bytes()
    binary = Path(str(prefix) + ".bin").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00"
    (version,) = struct.unpack_from("<Q", idx, 9)
    (code,) = struct.unpack_from("<B", idx, 17)
    n, n_doc = struct.unpack_from("<QQ", idx, 18)
    assert version == 1 and n_doc == n + 1
    dtype = {8: np.dtype("<u2"), 4: np.dtype("<i4")}[code]
    pos = 34
    lengths = struct.unpack_from(f"<{n}i", idx, pos)
    pos += 4 * n
    offsets = struct.unpack_from(f"<{n}q", idx, pos)
    pos += 8 * n
    doc_index = struct.unpack_from(f"<{n + 1}q", idx, pos)
    pos += 8 * (n + 1)
    assert pos == len(idx), "no bytes after the document index"
    assert list(doc_index) == list(range(n + 1))
    seqs, expect_offset = [], 0
    for length, offset in zip(lengths, offsets):
        assert offset == expect_offset
        seqs.append(np.frombuffer(binary, dtype=dtype, count=length, offset=offset))
        expect_offset += length * dtype.itemsize
    assert expect_offset == len(binary), "the .bin holds exactly the indexed tokens, no header or separators"
    return dtype, seqs


def _prefix_texts(docs: list[Document], by_lang: bool = False) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in docs:
        m = d.metadata
        base = f"{m['subset']}_{m['lang']}" if by_lang else m["subset"]
        if d.text:
            out.setdefault(f"{m['subset']}/{m['split']}/{base}_text_document", []).append(d.text)
    return out


def _check_round_trip(out: Path, docs: list[Document], tok, by_lang: bool = False) -> Counter:
    """Every packed sequence is <s> + a fresh encode of one input text + </s>, each text exactly once, and
    decodes back to its text (or to what the tokenizer's normaliser makes of it, which re-encodes the same)."""
    specials = tok.special_ids()
    outcome: Counter = Counter()
    expected = _prefix_texts(docs, by_lang)
    record = json.loads((out / "tokens.json").read_text())
    assert sorted(p["prefix"] for p in record["prefixes"]) == sorted(expected)
    for prefix, texts in expected.items():
        _, seqs = read_megatron(out / prefix)
        by_ids = {}
        for t in texts:
            by_ids.setdefault(tuple([specials["bos"], *tok.encode(t), specials["eos"]]), []).append(t)
        assert Counter(tuple(int(x) for x in s) for s in seqs) == Counter({k: len(v) for k, v in by_ids.items()})
        for s in seqs:
            text = by_ids[tuple(int(x) for x in s)][0]
            body = [int(x) for x in s[1:-1]]
            decoded = tok.decode(body)
            if decoded == text:
                outcome["exact"] += 1
            else:
                assert tok.encode(decoded) == body, f"{prefix}: {text!r} decodes to {decoded!r}"
                outcome["normalised"] += 1
    return outcome


# -- tests -------------------------------------------------------------------------------------------------
def test_round_trip_trained_tokenizer(build_dir, trained_tokenizer, tmp_path):
    root, docs = build_dir
    out = tmp_path / "packed"
    record = pack(root, trained_tokenizer, out)
    tok = load_tokenizer(trained_tokenizer)
    outcome = _check_round_trip(out, docs, tok)
    assert outcome["normalised"] > 0, "the NFKC case ('ﬁ' -> 'fi') must have been exercised"
    assert outcome["exact"] > 0
    assert record["dtype"] == "uint16" and record["tokenizer"]["backend"] == "tokenizers"
    assert record["tokenizer"]["special_ids"]["bos"] == 1 and record["tokenizer"]["vocab_size"] == 600
    assert record["skipped"] == {"empty_text": 1}
    assert any("row" in e and "empty text" in e for e in record["errors"])
    total = record["tokens"]["algebraic-stack"]["train"]
    assert total["tokens"] == sum(c["tokens"] for c in total["by_lang"].values())
    assert set(total["by_lang"]) == {"lean", "python"}


def test_round_trip_llama2_sentencepiece(build_dir, llama_model, tmp_path):
    root, docs = build_dir
    out = tmp_path / "packed"
    record = pack(root, llama_model, out, by_lang=True, shuffle_seed=3)
    tok = load_tokenizer(llama_model)
    outcome = _check_round_trip(out, docs, tok, by_lang=True)
    assert outcome["exact"] == sum(1 for d in docs if d.text), outcome  # Llama's normaliser is the identity
    t = record["tokenizer"]
    assert t["backend"] == "sentencepiece" and t["vocab_size"] == 32_000 and t["special_ids"]["eos"] == 2
    assert t["parity"]["checked"] > 0  # the .json beside the .model was compared on a sample
    assert len(t["sha256"]) == 64 and record["shuffle"]["seed"] == 3


def test_literal_special_token_text_is_text(llama_model, tmp_path):
    """`<s>` written in a document must not become the BOS id, with either library."""
    sp = load_tokenizer(llama_model)
    hf = load_tokenizer(llama_model.with_suffix(".json"))
    assert hf.backend == "tokenizers"
    text = "a <s> b </s> c"
    assert sp.encode(text) == hf.encode(text)
    assert 1 not in sp.encode(text) and 2 not in sp.encode(text)


def test_idx_bytes_match_the_format_facts(tmp_path):
    w = IndexedWriter(tmp_path / "x_text_document", np.uint16)
    w.add(np.array([1, 5, 9, 2, 1, 7, 2], dtype=np.int64), np.array([4, 3]))
    w.add(np.array([1, 2], dtype=np.uint16))
    assert not (tmp_path / "x_text_document.idx").exists(), "the .idx appears only at close"
    w.close()
    expected = (
        b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, 8, 3, 4) + struct.pack("<3i", 4, 3, 2)
        + struct.pack("<3q", 0, 8, 14) + struct.pack("<4q", 0, 1, 2, 3)
    )
    assert (tmp_path / "x_text_document.idx").read_bytes() == expected
    assert (tmp_path / "x_text_document.bin").read_bytes() == struct.pack("<9H", 1, 5, 9, 2, 1, 7, 2, 1, 2)
    assert not list(tmp_path.glob("*.tmp"))


def test_uint16_refuses_large_ids_and_int32_holds_them(tmp_path):
    w = IndexedWriter(tmp_path / "u", np.uint16)
    with pytest.raises(AssertionError, match="65,536"):
        w.add(np.array([1, 70_000, 2]))
    w.abort()
    assert not list(tmp_path.iterdir())
    w = IndexedWriter(tmp_path / "i", np.int32)
    w.add(np.array([1, 70_000, 2]))
    w.close()
    dtype, seqs = read_megatron(tmp_path / "i")
    assert dtype == np.dtype("<i4") and seqs[0].tolist() == [1, 70_000, 2]


def test_large_vocabulary_packs_as_int32(tmp_path):
    """A real tokenizer with 70,000 entries, whose words sit above id 65,535: the int32 path end to end."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"filler{i}": i for i in range(3, 65_600)}}
    vocab.update({w: 65_600 + i for i, w in enumerate(words)})
    vocab.update({f"more{i}": i for i in range(65_605, 70_000)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(tmp_path / "big.json"))
    table = pa.table({"text": ["alpha beta", "gamma delta epsilon alpha"]})
    pq.write_table(table, tmp_path / "words.parquet")
    record = pack(tmp_path / "words.parquet", tmp_path / "big.json", tmp_path / "out", shuffle_seed=0)
    assert record["dtype"] == "int32" and record["tokenizer"]["vocab_size"] == 70_000
    dtype, seqs = read_megatron(tmp_path / "out" / record["prefixes"][0]["prefix"])
    assert dtype == np.dtype("<i4")
    assert sorted(s.tolist() for s in seqs) == [[1, 65_600, 65_601, 2], [1, 65_602, 65_603, 65_604, 65_600, 2]]
    assert verify(tmp_path / "out").ok


def test_workers_give_byte_identical_files(build_dir, trained_tokenizer, tmp_path):
    root, _ = build_dir
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        pack(root, trained_tokenizer, out, workers=workers, seq_len=16, by_lang=True, shuffle_seed=5)
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert any(f.suffix == ".bin" for f in files) and any(f.suffix == ".npy" for f in files)
    for f in files:
        if f.suffix in (".bin", ".idx", ".npy", ".json"):
            assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    assert sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file()) == files


def test_shuffle_is_seeded_and_recorded(build_dir, trained_tokenizer, tmp_path):
    root, _ = build_dir
    orders = {}
    for seed in (0, 1):
        rec = pack(root, trained_tokenizer, tmp_path / f"s{seed}", shuffle_seed=seed)
        assert rec["shuffle"]["seed"] == seed
        _, seqs = read_megatron(tmp_path / f"s{seed}" / "arxiv/train/arxiv_text_document")
        orders[seed] = [s.tobytes() for s in seqs]
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])


def test_sequences_npy(build_dir, trained_tokenizer, tmp_path):
    """Rows of --seq-len are the split's stream (prefixes in name order, shuffled documents) cut and shuffled."""
    root, _ = build_dir
    out = tmp_path / "seq"
    L = 32
    record = pack(root, trained_tokenizer, out, seq_len=L, shuffle_seed=2)
    stream = np.concatenate([
        np.concatenate(read_megatron(out / p["prefix"])[1]) for p in record["prefixes"] if p["split"] == "train"
    ])
    entry = next(e for e in record["sequences"]["files"] if e["split"] == "train")
    arr = np.load(out / entry["file"])
    rows = len(stream) // L
    assert arr.shape == (rows, L) and arr.dtype == np.uint16 and entry["dropped_tail_tokens"] == len(stream) - rows * L
    expected = stream[: rows * L].reshape(rows, L)
    assert sorted(map(bytes, arr)) == sorted(map(bytes, expected))
    assert not np.array_equal(arr, expected), "rows are shuffled"
    assert (out / entry["file"]).read_bytes()[:6] == b"\x93NUMPY"

    npy_only = tmp_path / "npy"
    rec2 = pack(root, trained_tokenizer, npy_only, format="npy", seq_len=L, shuffle_seed=2)
    assert not list(npy_only.rglob("*.bin")) and rec2["prefixes"] == []
    assert (npy_only / entry["file"]).read_bytes() == (out / entry["file"]).read_bytes()
    assert verify(npy_only).ok


def test_configs_from_weights(build_dir, trained_tokenizer, tmp_path):
    root, _ = build_dir
    out = tmp_path / "cfg"
    record = pack(root, trained_tokenizer, out, by_lang=True, weights={"arxiv": 2, "algebraic-stack": 1})
    neox = yaml.safe_load((out / "gpt-neox-data.yml").read_text())
    assert neox["data_impl"] == "mmap"
    train = dict(zip(neox["train_data_paths"], neox["train_data_weights"]))
    share = {s: sum(w for p, w in train.items() if f"/{s}/train/" in p) for s in ("arxiv", "algebraic-stack")}
    assert share["arxiv"] == pytest.approx(2 / 3) and share["algebraic-stack"] == pytest.approx(1 / 3)
    lean, python = (next(p for p in record["prefixes"] if p["lang"] == lang and p["split"] == "train")
                    for lang in ("lean", "python"))
    w_lean = train[str(out / lean["prefix"])]
    assert w_lean == pytest.approx(1 / 3 * lean["tokens"] / (lean["tokens"] + python["tokens"]), rel=1e-6)
    for p in neox["train_data_paths"] + neox["valid_data_paths"]:
        assert Path(p + ".bin").is_file() and Path(p + ".idx").is_file()
    blend = (out / "megatron-data-path.txt").read_text().split()
    assert [str(Path(p)) for p in blend[1::2]] == neox["train_data_paths"]
    assert sum(float(w) for w in blend[::2]) == pytest.approx(1.0, abs=1e-6)
    args = (out / "megatron-args.txt").read_text()
    assert args.startswith("--train-data-path ") and "--valid-data-path " in args and "--test-data-path" not in args
    with pytest.raises(PackError, match="no weight for subset arxiv"):
        pack(root, trained_tokenizer, tmp_path / "bad", weights={"algebraic-stack": 1})


def test_framing_is_configurable(build_dir, trained_tokenizer, tmp_path):
    root, docs = build_dir
    pack(root, trained_tokenizer, tmp_path / "eos", framing=Framing(bos=False, eos=True))
    tok = load_tokenizer(trained_tokenizer)
    _, seqs = read_megatron(tmp_path / "eos" / "arxiv/train/arxiv_text_document")
    texts = _prefix_texts(docs)["arxiv/train/arxiv_text_document"]
    assert Counter(tuple(s.tolist()) for s in seqs) == Counter(tuple([*tok.encode(t), 2]) for t in texts)


def test_generic_parquet_input(trained_tokenizer, tmp_path):
    src = tmp_path / "in" / "webmath"
    src.mkdir(parents=True)
    pq.write_table(pa.table({"text": ["x^2 + y^2 = z^2", None, "e^{i\\pi} + 1 = 0"],
                             "split": ["train", "train", "test"]}), src / "a.parquet", row_group_size=2)
    kind, units = find_units(src)
    assert kind == "parquet" and len(units) == 2
    record = pack(src, trained_tokenizer, tmp_path / "out")
    assert {(p["subset"], p["split"], p["documents"]) for p in record["prefixes"]} == {("webmath", "train", 1),
                                                                                       ("webmath", "test", 1)}
    assert record["skipped"] == {"no_text": 1} and "a.parquet: row 1: no text" in record["errors"][0]
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "nocol.parquet")
    with pytest.raises(PackError, match="nocol.parquet: no 'text' column"):
        pack(tmp_path / "nocol.parquet", trained_tokenizer, tmp_path / "out2")


def test_out_dir_is_refused_unless_empty_or_a_pack(build_dir, trained_tokenizer, tmp_path):
    root, _ = build_dir
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(PackError, match="not empty"):
        pack(root, trained_tokenizer, tmp_path / "busy")
    out = tmp_path / "again"
    pack(root, trained_tokenizer, out, by_lang=True)
    pack(root, trained_tokenizer, out)  # a re-pack replaces the previous one: no per-language prefixes remain
    assert not list(out.rglob("*_lean_text_document.bin")) and verify(out).ok


def test_parity_mismatch_fails_loudly(llama_model, build_dir, tmp_path):
    """A tokenizer.json that is not the .model's twin (one merge removed) stops the pack."""
    data = json.loads(llama_model.with_suffix(".json").read_text())
    merges = data["model"]["merges"]
    first = merges[0]
    data["model"]["merges"] = merges[1:]
    (tmp_path / "tok").mkdir()
    shutil.copy(llama_model, tmp_path / "tok" / "tokenizer.model")
    (tmp_path / "tok" / "tokenizer.json").write_text(json.dumps(data))
    root, _ = build_dir
    with pytest.raises(TokenizerParityError, match="disagrees with"):
        pack(root, tmp_path / "tok", tmp_path / "out")
    assert not (tmp_path / "out" / "tokens.json").exists(), f"merge {first!r} removed, nothing packed"


# -- verify ------------------------------------------------------------------------------------------------
@pytest.fixture()
def packed(build_dir, trained_tokenizer, tmp_path) -> Path:
    out = tmp_path / "packed"
    pack(build_dir[0], trained_tokenizer, out)
    assert verify(out).ok
    return out


def _one(errors: list[str], *needles: str) -> str:
    hits = [e for e in errors if all(n in e for n in needles)]
    assert hits, errors
    return hits[0]


def test_verify_truncated_bin(packed):
    path = packed / "arxiv/train/arxiv_text_document.bin"
    path.write_bytes(path.read_bytes()[:-2])
    _one(verify(packed).errors, str(path), "truncated")


def test_verify_wrong_offsets(packed):
    idx = packed / "arxiv/train/arxiv_text_document.idx"
    raw = bytearray(idx.read_bytes())
    n = struct.unpack_from("<Q", raw, 18)[0]
    pos = 34 + 4 * n + 8 * 2  # third sequence's offset
    struct.pack_into("<q", raw, pos, struct.unpack_from("<q", raw, pos)[0] + 2)
    idx.write_bytes(bytes(raw))
    _one(verify(packed).errors, str(idx), "byte offset of sequence 2")


def test_verify_wrong_dtype(packed):
    idx = packed / "arxiv/train/arxiv_text_document.idx"
    raw = bytearray(idx.read_bytes())
    raw[17] = 4  # int32 instead of uint16
    idx.write_bytes(bytes(raw))
    _one(verify(packed).errors, str(idx), "dtype code 4", "uint16")


def test_verify_swapped_tokens_and_missing_files(packed):
    """A changed token inside a document is invisible to the structure; the sha256 and framing catch it."""
    path = packed / "algebraic-stack/train/algebraic-stack_text_document.bin"
    raw = bytearray(path.read_bytes())
    raw[0:2] = struct.pack("<H", 7)  # the first BOS
    path.write_bytes(bytes(raw))
    errors = verify(packed).errors
    _one(errors, str(path), "document 0 starts with 7")
    _one(errors, str(path), "sha256")
    (packed / "arxiv/validation/arxiv_text_document.idx").unlink()
    _one(verify(packed).errors, "arxiv_text_document.idx: missing")
    (packed / "tokens.json").unlink()
    _one(verify(packed).errors, "tokens.json: missing")


def test_reader_matches_megatron_core(packed):
    """Megatron-LM's own reader, where megatron-core installs (it needs torch; CPU is enough)."""
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    prefix = packed / "algebraic-stack/train/algebraic-stack_text_document"
    ds = indexed.IndexedDataset(str(prefix))
    ours = IndexedReader(prefix)
    _, theirs_ref = read_megatron(prefix)
    assert len(ds) == len(ours) == len(theirs_ref)
    assert ds.index.dtype == np.uint16
    assert np.array_equal(ds.sequence_lengths, ours.lengths)
    assert np.array_equal(ds.document_indices, np.arange(len(ours) + 1))
    for i in range(len(ds)):
        assert np.array_equal(ds[i], ours[i]) and np.array_equal(ds[i], theirs_ref[i])
        assert ds[i][0] == 1 and ds[i][-1] == 2
