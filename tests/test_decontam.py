"""Decontamination against the real MATH and GSM8K test sets in ../shared/data/benchmarks."""

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from proofpile.cli import app
from proofpile.decontam import BenchmarkError, BenchmarkItem, Decontaminator, load
from proofpile.shards import SCHEMA, iter_documents


@pytest.fixture(scope="module")
def bench_files(shared_data: Path) -> dict[str, str]:
    b = shared_data / "benchmarks"
    return {"math": str(b / "math_test.jsonl"), "gsm8k": str(b / "gsm8k_test.jsonl")}


@pytest.fixture(scope="module")
def index(bench_files) -> Decontaminator:
    return Decontaminator.from_benchmarks(files=bench_files)


@pytest.fixture(scope="module")
def small_bench_files(bench_files, tmp_path_factory) -> dict[str, str]:
    """The first 300 items of each benchmark, so command-line runs (which index anew) stay quick."""
    d = tmp_path_factory.mktemp("bench")
    out = {}
    for name, path in bench_files.items():
        lines = Path(path).read_text().splitlines()[:300]
        (d / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        out[name] = str(d / f"{name}.jsonl")
    return out


def _item(index: Decontaminator, benchmark: str, item_id: str) -> BenchmarkItem:
    return next(i for i in index.items if i.benchmark == benchmark and i.item_id == item_id)


UNRELATED = ("The harbour town hosts a market every Saturday, where fishermen sell the morning catch and "
             "bakers bring bread from the hills. Visitors are advised to arrive early. ") * 40


def test_every_test_item_fed_as_a_document_is_caught(index):
    assert index.info.items == {"math": 5000, "gsm8k": 1319}
    missed = []
    for it in index.items:
        doc = "\n\n".join(v[0] for v in it.fields.values())
        if not any((m.benchmark, m.item_id) == (it.benchmark, it.item_id) for m in index.matches(doc)):
            missed.append(it.item_id)
    assert missed == []
    assert index.items[0].item_id == "test/algebra/1.json"  # the benchmark's own ids
    assert any(i.item_id == "gsm8k/test/0042" for i in index.items)


def test_verbatim_item_inside_a_long_unrelated_document(index):
    it = _item(index, "gsm8k", "gsm8k/test/0042")
    q = it.fields["question"][0]
    doc = UNRELATED + q + " " + UNRELATED
    [m] = index.matches(doc)
    assert (m.benchmark, m.item_id, m.field) == ("gsm8k", "gsm8k/test/0042", "question")
    assert doc[m.start:m.end] == q[: m.end - m.start]  # the span is in the original text
    assert m.start == len(UNRELATED)


def test_other_delimiters_spacing_and_line_breaks_still_match(index):
    it = _item(index, "math", "test/algebra/1.json")
    problem = it.fields["problem"][0]
    assert "$" in problem
    inline = iter(["\\( ", " \\)"] * 20)
    changed = re.sub(r"\$", lambda _: next(inline), problem).replace(" ", "  \n ")
    doc = UNRELATED + "\n\n" + changed + "\n\n" + UNRELATED
    [m] = index.matches(doc)
    assert (m.item_id, m.field) == ("test/algebra/1.json", "problem")
    assert doc[m.start:m.end].startswith("How  \n many")


def test_middle_sixty_percent_of_a_solution(index):
    it = _item(index, "math", "test/algebra/2.json")
    sol = it.fields["solution"][0]
    middle = sol[int(len(sol) * 0.2): int(len(sol) * 0.8)]
    doc = UNRELATED + middle + UNRELATED
    ms = index.matches(doc)
    assert [(m.item_id, m.field) for m in ms] == [("test/algebra/2.json", "solution")]
    assert ms[0].ngrams >= 5
    assert middle.find(doc[ms[0].start:ms[0].end]) >= 0


def test_span_maps_back_through_unicode_normalisation(index):
    it = _item(index, "gsm8k", "gsm8k/test/0001")
    q = it.fields["question"][0].replace("2", "２")  # full-width digit: NFKC folds it
    doc = "ｆｕｌｌ ｗｉｄｔｈ ﬁrst. " + q
    [m] = index.matches(doc)
    assert doc[m.start:m.end] == q[: m.end - m.start]


def test_a_batch_scan_gives_each_text_what_it_gets_alone(index):
    # a batch is tokenised as one text, NFKC text by text; a batch holding a text that needs the slow
    # tokenizer (U+0130) is halved until that text is alone
    q = _item(index, "gsm8k", "gsm8k/test/0042").fields["question"][0]
    texts = [UNRELATED[:500], UNRELATED[:300] + q, "\u0130stanbul " + q, "", "\ufb01nd \uff12 $x$ " + PROSE, PROSE,
             q + " \u0130", UNRELATED[:200] + " ".join(PARAPHRASES), "\u00c9t\u00e9 " + q]
    found, keys = index.scan(texts)
    alone = [index.scan([t]) for t in texts]
    assert found == [i for i, (f, _) in enumerate(alone) if f]
    assert [k.tolist() for k in keys] == [k[0].tolist() for _, k in alone]
    assert {1, 2, 6, 8} <= set(found) and 0 not in found


def _strip_tags(html: str) -> str:
    html = re.sub(r"(?is)<(script|style|noscript)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"(?s)<[^>]+>", " ", html))


def test_real_non_math_pages_are_not_flagged(index, shared_data):
    pages = sorted(p for p in (shared_data / "html" / "nonmath").iterdir() if p.is_file())
    assert len(pages) >= 50
    flagged = {p.name: index.matches(_strip_tags(p.read_text(encoding="utf-8", errors="replace"))) for p in pages}
    assert {k: v for k, v in flagged.items() if v} == {}


# Problems and solutions in the style of MATH's *train* split, written for this test: same templates and
# instructions as test items, different content. None of them may be removed.
PARAPHRASES = [
    "How many horizontal asymptotes does the graph of $y=\\frac{5x}{x^2+7x-18}$ have? Express your answer as "
    "a common fraction.",
    "Find the distance between the vertex of the parabola $g(x) = x^2 + 6x + 11$ and the point $(3, -4)$. "
    "Express your answer in simplest radical form.",
    "Janet's chickens lay 11 eggs per day. She uses two for lunch and gives five to her neighbour. She sells "
    "the rest at the corner shop for $3 per egg. How much money, in dollars, does she earn each day?",
    "What is the probability that a fair six-sided die rolled twice shows a sum of 9? Express your answer as a "
    "common fraction.",
    "Take the point $P$ on the unit circle at $150^\\circ$, measured counterclockwise from $(1,0)$. Its "
    "reference angle is $30^\\circ$ and it lies in the second quadrant, so $\\cos 150^\\circ = -\\frac{\\sqrt{3}}{2}$.",
    "Completing the square, we get $h(x) = (x+3)^2 + 2$. The vertex of this parabola is therefore $(-3, 2)$, "
    "and its distance to the origin is $\\sqrt{13}$.",
    "A rectangle has a perimeter of 30 units and its length is twice its width. What is the area of the "
    "rectangle, in square units?",
]

PROSE = """A group is a set together with an associative binary operation that has an identity element and
inverses. For example, the integers under addition form a group, while the natural numbers do not, since
$-1$ is missing. The derivative of $f(x) = x^n$ is $f'(x) = n x^{n-1}$, which follows from the binomial
theorem. In linear algebra, a matrix $A$ is invertible if and only if $\\det A \\neq 0$; equivalently, the
equation $Ax = b$ has exactly one solution for every $b$. The quadratic formula gives the roots of
$ax^2 + bx + c = 0$ as $x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$. By the Pythagorean theorem, the
hypotenuse of a right triangle with legs $3$ and $4$ has length $5$. The sum of the first $n$ positive
integers is $\\frac{n(n+1)}{2}$, a fact usually proved by induction."""


def test_paraphrases_and_generic_math_prose_are_not_flagged(index):
    for text in [*PARAPHRASES, PROSE, "\n\n".join(PARAPHRASES) + PROSE]:
        assert index.matches(text) == [], text[:80]


def test_benchmark_common_and_skeleton_ngrams_are_excluded_and_listed(index):
    info = index.info
    assert info.excluded_common_total > 0 and info.excluded_skeleton > 0
    assert all(c > info.max_items_per_ngram for _, c in info.excluded_common)


def test_changed_numbers_are_reported_as_template_not_removed(index):
    """GSM8K questions with every number changed: the same text with other numbers is a `template` (or
    stronger where long number-free stretches remain), reported for every item."""
    removed = 0
    for it in [i for i in index.items if i.benchmark == "gsm8k"][:100]:
        q = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), it.fields["question"][0])
        ms = [m for m in index.matches(UNRELATED + q) if m.item_id == it.item_id]
        assert ms and ms[0].cls in ("copy", "partial", "template"), (it.item_id, ms)
        removed += ms[0].removed
    assert removed < 100  # number-dense questions are reported, not removed: what the template class is for


def test_missing_field_names_file_and_field(tmp_path):
    f = tmp_path / "math_copy.jsonl"
    f.write_text(json.dumps({"id": "a", "problem": "What is one plus one in this long question here?"}) + "\n")
    with pytest.raises(BenchmarkError, match=r"math_copy\.jsonl: record 1: field 'solution'"):
        load("math", f)
    g = tmp_path / "gsm.parquet"
    pq.write_table(__import__("pyarrow").Table.from_pylist([{"question": "q", "answer": None}]), g)
    with pytest.raises(BenchmarkError, match=r"gsm\.parquet: record 1: field 'answer'.*missing"):
        load("gsm8k", g)


def test_empty_index_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="empty decontamination index"):
        Decontaminator([])
    f = tmp_path / "tiny.jsonl"
    f.write_text(json.dumps({"question": "Two?", "answer": "Four."}) + "\n")
    with pytest.raises(ValueError, match="empty decontamination index"):
        Decontaminator.from_benchmarks(["gsm8k"], files={"gsm8k": str(f)})
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(BenchmarkError, match="empty.jsonl: no gsm8k items"):
        load("gsm8k", empty)


def _write_shard(path: Path, docs: list[dict]) -> None:
    import pyarrow as pa

    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": d["id"], "text": d["text"], "meta": json.dumps(d["meta"], sort_keys=True),
             "subset": d["meta"]["subset"], "lang": d["meta"]["lang"]} for d in docs]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)


def test_cli_removes_reports_and_keeps_the_layout(tmp_path, small_bench_files, index):
    bench_files = small_bench_files
    build = tmp_path / "build"
    sol = _item(index, "math", "test/algebra/2.json").fields["solution"][0]
    gsm = _item(index, "gsm8k", "gsm8k/test/0042").fields["question"][0]
    meta = {"subset": "web", "lang": "en", "split": "train"}
    _write_shard(build / "web" / "train" / "en-00000.parquet", [
        {"id": "clean-1", "text": PROSE, "meta": meta},
        {"id": "dirty-math", "text": UNRELATED + sol, "meta": meta},
        {"id": "clean-2", "text": PARAPHRASES[0], "meta": meta},
    ])
    _write_shard(build / "web" / "test" / "en-00000.parquet", [
        {"id": "dirty-gsm", "text": gsm + UNRELATED, "meta": {**meta, "split": "test"}}])
    (build / "_work").mkdir()
    _write_shard(build / "_work" / "r00000-00000.parquet", [{"id": "x", "text": gsm, "meta": meta}])
    out = tmp_path / "clean"
    args = ["decontaminate", str(build), "--out", str(out), "--bench", "math", "--bench", "gsm8k",
            "--bench-file", f"math={bench_files['math']}", "--bench-file", f"gsm8k={bench_files['gsm8k']}"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "4 documents scanned, 2 removed" in res.output
    kept = [d.id for d in iter_documents([out / "web" / "train" / "en-00000.parquet"])]
    assert kept == ["clean-1", "clean-2"]
    assert pq.read_table(out / "web" / "test" / "en-00000.parquet").num_rows == 0
    assert not (out / "_work").exists()
    rows = pq.read_table(out / "contamination.parquet").to_pylist()
    assert {(r["doc_id"], r["benchmark"], r["item_id"], r["field"]) for r in rows} == {
        ("dirty-math", "math", "test/algebra/2.json", "solution"),
        ("dirty-gsm", "gsm8k", "gsm8k/test/0042", "question")}
    dirty = next(r for r in rows if r["doc_id"] == "dirty-math")
    assert dirty["subset"] == "web" and dirty["ngrams"] > 10
    assert len(UNRELATED) <= dirty["start"] < dirty["end"] and (UNRELATED + sol)[dirty["start"]:dirty["end"]] in sol
    summary = json.loads((out / "contamination.json").read_text())
    assert summary["documents_removed"] == 2
    md = (out / "contamination.md").read_text()
    assert "test/algebra/2.json" in md and "## Examples: copy" in md
    # the same run again gives the same bytes
    out2 = tmp_path / "clean2"
    assert CliRunner().invoke(app, [*args[:3], str(out2), *args[4:]]).exit_code == 0
    for name in ("web/train/en-00000.parquet", "contamination.parquet", "contamination.json"):
        assert (out / name).read_bytes() == (out2 / name).read_bytes()


def test_report_only_keeps_everything_and_counts_items(tmp_path, small_bench_files, index):
    bench_files = small_bench_files
    docs = tmp_path / "docs.jsonl"
    items = [i for i in index.items if i.benchmark == "math"][:3]
    with open(docs, "w") as f:
        for n, it in enumerate(items):
            f.write(json.dumps({"id": f"d{n}", "text": UNRELATED + it.fields["problem"][0] + " " + it.fields["solution"][0]}) + "\n")
        f.write(json.dumps({"id": "plain", "text": PROSE}) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["decontaminate", str(docs), "--out", str(out), "--report-only", "--ngram", "30",
                                   "--bench-file", f"math={bench_files['math']}"])
    assert res.exit_code == 0, res.output
    assert pq.read_table(out / "docs.parquet").num_rows == 4
    summary = json.loads((out / "contamination.json").read_text())
    assert summary["settings"]["ngram"] == 30 and summary["settings"]["report_only"]
    [row] = summary["by_benchmark_and_subset"]
    assert row["items_hit"] == 3 and row["documents_hit"] == 3 and row["documents_removed"] == 0
    # LLEMMA's count: test problems and solutions with a hit, and the same by class
    assert row["items_hit_by_field"] == {"problem": 3, "solution": 3}
    assert row["items_by_class"]["copy"] == 3
    assert "problems hit | solutions hit" in (out / "contamination.md").read_text()
    assert "math     -" in res.output and "3 problems, 3 solutions (by class: copy 3," in res.output


def test_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "m.jsonl"
    bad.write_text(json.dumps({"problem": "p"}) + "\n")
    doc = tmp_path / "d.jsonl"
    doc.write_text(json.dumps({"id": "a", "text": "hello"}) + "\n")
    res = CliRunner().invoke(app, ["decontaminate", str(doc), "--out", str(tmp_path / "o"), "--bench-file", f"math={bad}"])
    assert res.exit_code == 2
    assert "m.jsonl: record 1: field 'solution'" in res.output
    assert not (tmp_path / "o").exists()
