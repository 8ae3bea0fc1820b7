"""Evidence-based decontamination on real MATH items planted in real clean text (PlanetMath articles from
the classifier's training data): a copy is removed, a document sharing only boilerplate is kept, a copy with
other numbers is reported as a template, and the corpus document frequency is the same whatever the worker
count."""

import gzip
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from proofpile.decontam import Decontaminator, DecontaminationFilter
from proofpile.decontam.benchmarks import load
from proofpile.decontam.frequency import FrequencyCounter
from proofpile.shards import SCHEMA


@pytest.fixture(scope="module")
def math_file(shared_data: Path, tmp_path_factory) -> Path:
    """The algebra and geometry items of MATH's test set (a fifth of it, so the index builds in a second)."""
    rows = [json.loads(x) for x in (shared_data / "benchmarks" / "math_test.jsonl").read_text().splitlines()]
    keep = [r for r in rows if r["id"].startswith(("test/algebra/", "test/geometry/"))]
    path = tmp_path_factory.mktemp("bench") / "math.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in keep))
    return path


@pytest.fixture(scope="module")
def index(math_file) -> Decontaminator:
    return Decontaminator(load("math", math_file))


@pytest.fixture(scope="module")
def clean(shared_data: Path) -> list[str]:
    """60 PlanetMath articles: formula-rich, independent of MATH."""
    out = []
    with gzip.open(shared_data / "classifier" / "train.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            if r["source"] == "planetmath" and len(r["text"]) > 1500:
                out.append(r["text"])
                if len(out) == 60:
                    break
    return out


def _item(index, item_id):
    return next(i for i in index.items if i.item_id == item_id)


def _long_solution(index, min_len=1500):
    return next(i for i in index.items if len(i.fields["solution"][0]) > min_len and "[asy]" not in i.fields["solution"][0])


def test_copy_in_real_text_is_removed_and_clean_text_is_kept(index, clean):
    it = _long_solution(index)
    doc = clean[0][:1000] + "\n\n" + it.fields["problem"][0] + "\n\n" + it.fields["solution"][0] + "\n\n" + clean[1]
    ms = {m.field: m for m in index.matches(doc) if m.item_id == it.item_id}
    assert ms["problem"].cls == ms["solution"].cls == "copy" and ms["solution"].removed
    assert ms["solution"].coverage == 1.0
    assert [m for t in clean for m in index.matches(t) if m.removed] == []


def test_half_a_solution_is_a_partial_and_removed(index, clean):
    it = _long_solution(index)
    sol = it.fields["solution"][0]
    [m] = [m for m in index.matches(clean[2] + "\n" + sol[: len(sol) // 2]) if m.item_id == it.item_id]
    assert m.cls in ("partial", "copy") and m.removed and 0.25 <= m.coverage < 0.9


def test_boilerplate_only_document_is_kept_and_corpus_frequent_ngrams_leave_the_evidence(math_file, clean):
    index = Decontaminator(load("math", math_file))
    it = _long_solution(index)
    sol = it.fields["solution"][0]
    # one sentence of the solution, as a phrase many documents of the corpus share
    sentence = max(re.split(r"(?<=\.)\s+", sol), key=len)
    shared = [f"{t[:700]}\n{sentence}\n{t[700:1400]}" for t in clean[:30]]
    hit = [m for m in index.matches(shared[0]) if m.item_id == it.item_id]
    assert hit and not any(m.removed for m in hit)  # one shared sentence: reported, not removed
    copy = clean[40] + "\n" + sol
    counter = FrequencyCounter(index.exact.keys)
    for i in range(0, len(shared) + 1, 8):
        counter.add(index.scan((shared + [copy])[i : i + 8])[1])
    index.set_frequencies(counter.keys, counter.counts)
    assert index.info.excluded_corpus > 0
    assert [m for m in index.matches(shared[0]) if m.item_id == it.item_id] == []  # boilerplate now
    [m] = [m for m in index.matches(copy) if m.item_id == it.item_id]
    assert m.cls == "copy" and m.removed  # the copy itself still goes


def test_asymptote_code_alone_is_not_evidence(index, clean):
    it = next(i for i in index.items if i.fields["problem"][0].count("[asy]") == 1
              and len(re.search(r"\[asy\].*?\[/asy\]", i.fields["problem"][0], re.S).group()) > 400)
    asy = re.search(r"\[asy\].*?\[/asy\]", it.fields["problem"][0], re.S).group()
    assert not any(m.item_id == it.item_id for m in index.matches(clean[3] + "\n" + asy + "\n" + clean[4]))


def test_number_changed_copy_is_reported_as_template_and_kept(index, clean):
    it = next(i for i in index.items if len(re.findall(r"\d+", i.fields["problem"][0])) >= 4
              and len(i.fields["problem"][0]) > 300 and "[asy]" not in i.fields["problem"][0])
    changed = re.sub(r"\d+", lambda m: str(int(m.group()) + 3), it.fields["problem"][0])
    changed = re.sub(r"\b(?:John|Mary|Alice|Bob)\b", "Zed", changed)
    [m] = [m for m in index.matches(clean[5] + "\n" + changed) if m.item_id == it.item_id]
    assert m.cls in ("template", "partial"), m


def test_filter_keeps_template_and_incidental_and_drops_copies(math_file, clean):
    filt = DecontaminationFilter(benchmarks=["math"], files={"math": str(math_file)})
    it = _long_solution(filt.index)
    docs = [Document(text=clean[6] + "\n" + it.fields["solution"][0], id="copy"),
            Document(text=clean[7], id="clean")]
    assert [d.id for d in filt.run(iter(docs))] == ["clean"]
    assert {r["class"] for r in filt.records} == {"copy"}


def _shard(path: Path, texts: list[str], prefix: str) -> None:
    import pyarrow as pa

    rows = [{"id": f"{prefix}-{i}", "text": t, "meta": json.dumps({"subset": "web"}), "subset": "web", "lang": "en"}
            for i, t in enumerate(texts)]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)


def test_frequencies_are_the_same_whatever_the_worker_count(math_file, clean, tmp_path):
    from proofpile.decontam.scan import frequency_file, run_scan

    index = Decontaminator(load("math", math_file))
    it = _long_solution(index)
    sentence = max(re.split(r"(?<=\.)\s+", it.fields["solution"][0]), key=len)
    files = []
    for k in range(3):
        p = tmp_path / f"task-{k}.parquet"
        _shard(p, [f"{t}\n{sentence}" for t in clean[k * 10 : k * 10 + 10]], f"t{k}")
        files.append(str(p))
    got = {}
    for workers in (1, 2):
        filt = DecontaminationFilter(benchmarks=["math"], files={"math": str(math_file)})
        work = tmp_path / f"w{workers}"
        run_scan(work, files, [filt], workers, progress=False)
        got[workers] = [frequency_file(work / "decontaminate", r).read_bytes() for r in range(3)]
        assert len(filt.frequency_files) == 3
    assert got[1] == got[2]
    counts = pq.read_table(frequency_file(tmp_path / "w1" / "decontaminate", 0)).to_pylist()
    assert max(r["documents"] for r in counts) == 10
