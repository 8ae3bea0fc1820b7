"""The bundled sample inputs: real git repositories with stable commit ids, and Stack-shaped Parquet files."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pyarrow.parquet as pq
import pytest

from proofpile.samples import (
    GITHUB_LANGS,
    MARKER,
    SAMPLES_ROOT,
    STACK_LANGS,
    STACK_SCHEMA,
    SampleInputs,
    create_sample_inputs,
    read_manifest,
)
from proofpile.samples import expected as E

AFTER_PIN = E.AFTER_PIN


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)


def _url_path(url: str) -> Path:
    return Path(url2pathname(urlparse(url).path))


def _pins(inputs: SampleInputs) -> dict[str, tuple[Path, str]]:
    """"lang/name" -> (repo dir, pinned commit)."""
    out = {}
    for lang, manifest in inputs.manifests.items():
        for url, commit in read_manifest(manifest):
            path = _url_path(url)
            out[f"{lang}/{path.name}"] = (path, commit)
    return out


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> tuple[SampleInputs, SampleInputs]:
    a = create_sample_inputs(tmp_path_factory.mktemp("first") / "samples")
    # a relative destination from another working directory: creation must not depend on the cwd
    base = tmp_path_factory.mktemp("second")
    old = os.getcwd()
    os.chdir(base)
    try:
        b = create_sample_inputs(Path("nested") / "samples")
    finally:
        os.chdir(old)
    return a, b


@pytest.fixture(scope="module")
def inputs(two) -> SampleInputs:
    return two[0]


def test_api_shape(inputs: SampleInputs):
    assert set(inputs.manifests) == set(GITHUB_LANGS)
    assert all(p.is_absolute() and p.is_file() for p in inputs.manifests.values())
    assert len(inputs.stack_files) == len(STACK_LANGS)
    assert all(p.is_file() and p.suffix == ".parquet" for p in inputs.stack_files)
    assert (inputs.root / MARKER).is_file()
    for manifest in inputs.manifests.values():
        text = manifest.read_text()
        assert text.startswith("# Generated")
        entries = read_manifest(manifest)
        assert len(entries) == 2
        for url, commit in entries:
            assert url.startswith("file:///") and re.fullmatch(r"[0-9a-f]{40}", commit)


def test_same_commits_and_manifests_on_two_creations(two):
    a, b = two
    assert a.root != b.root
    pa_, pb = _pins(a), _pins(b)
    assert {k: c for k, (_, c) in pa_.items()} == {k: c for k, (_, c) in pb.items()}
    for lang in GITHUB_LANGS:
        ta = a.manifests[lang].read_text().replace(a.root.as_uri(), "ROOT")
        tb = b.manifests[lang].read_text().replace(b.root.as_uri(), "ROOT")
        assert ta == tb


def test_parquet_bytes_identical(two):
    a, b = two
    assert [p.relative_to(a.root) for p in a.stack_files] == [p.relative_to(b.root) for p in b.stack_files]
    for pa_, pb in zip(a.stack_files, b.stack_files):
        assert pa_.read_bytes() == pb.read_bytes(), pa_.name


def test_repos_are_real_and_pinned_to_first_commit(inputs: SampleInputs):
    pins = _pins(inputs)
    assert len(pins) == 2 * len(GITHUB_LANGS)
    for key, (repo, commit) in pins.items():
        lang = key.split("/")[0]
        assert _git(repo, "cat-file", "-t", commit).stdout.strip() == "commit"
        after = AFTER_PIN[lang]
        # the pinned commit lacks the after-pin file; the branch head (one commit later) has it
        assert _git(repo, "cat-file", "-e", f"{commit}:{after}", check=False).returncode != 0
        assert _git(repo, "cat-file", "-e", f"HEAD:{after}", check=False).returncode == 0
        assert _git(repo, "rev-parse", "HEAD~1").stdout.strip() == commit
        assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip() == "main"


def test_symlink_and_binaries_in_pinned_tree(inputs: SampleInputs):
    repo, commit = _pins(inputs)["lean/algebra-basics"]
    entries = {}
    for line in _git(repo, "ls-tree", "-r", commit).stdout.splitlines():
        meta, path = line.split("\t", 1)
        mode, _, sha = meta.split()
        entries[path] = (mode, sha)
    mode, sha = entries["link-to-passwd"]
    assert mode == "120000"
    assert _git(repo, "cat-file", "-p", sha).stdout == "../../../../etc/passwd"
    png = subprocess.run(["git", "cat-file", "-p", entries["logo.png"][1]], cwd=repo, capture_output=True).stdout
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    blob = subprocess.run(["git", "cat-file", "-p", entries["data/weights.bin"][1]], cwd=repo, capture_output=True)
    assert b"\0" in blob.stdout
    assert ".lake/packages/tinyorder/Tinyorder/Basic.lean" in entries
    assert all(m == "100644" for p, (m, _) in entries.items() if p != "link-to-passwd")


def test_symlink_fallback_gives_same_commits(tmp_path, monkeypatch, inputs: SampleInputs):
    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    other = create_sample_inputs(tmp_path / "nolinks")
    assert {k: c for k, (_, c) in _pins(other).items()} == {k: c for k, (_, c) in _pins(inputs).items()}


def test_reuse_and_rebuild(tmp_path):
    dest = tmp_path / "s"
    first = create_sample_inputs(dest)
    marker = dest / MARKER
    stamp = marker.stat().st_mtime_ns
    again = create_sample_inputs(dest)
    assert again == first and marker.stat().st_mtime_ns == stamp  # reused, not rebuilt
    marker.unlink()  # an interrupted creation: no marker, so everything is made again
    rebuilt = create_sample_inputs(dest)
    assert rebuilt == first and marker.is_file()
    assert {k: c for k, (_, c) in _pins(rebuilt).items()} == {k: c for k, (_, c) in _pins(first).items()}


def test_parquet_schema_and_languages(inputs: SampleInputs):
    seen_langs = set()
    for path in inputs.stack_files:
        assert pq.read_schema(path).remove_metadata().equals(STACK_SCHEMA)
        t = pq.read_table(path).to_pylist()
        assert t, path
        langs = {r["lang"] for r in t}
        assert len(langs) == 1
        seen_langs |= langs
        assert path.parent.name in STACK_LANGS and STACK_LANGS[path.parent.name] in langs
        assert [r["max_stars_repo_path"] for r in t] == sorted(r["max_stars_repo_path"] for r in t)
        for r in t:
            data = r["content"].encode()
            assert r["size"] == len(data)
            assert r["hexsha"] == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            assert r["max_stars_repo_path"].endswith("." + r["ext"])
            assert r["max_stars_repo_name"].startswith("sample/")
            assert re.fullmatch(r"[0-9a-f]{40}", r["max_stars_repo_head_hexsha"])
            assert r["max_stars_repo_licenses"]
    assert seen_langs == set(STACK_LANGS.values())


def test_expected_table_covers_every_sample(inputs: SampleInputs):
    github = {}
    for key, (repo, commit) in _pins(inputs).items():
        for path in _git(repo, "ls-tree", "-r", "--name-only", commit).stdout.splitlines():
            github[f"{key}/{path}"] = True
    assert set(github) == set(E.GITHUB)
    stack = set()
    for path in inputs.stack_files:
        lang = path.parent.name
        stack |= {f"stack/{lang}/{r['max_stars_repo_path']}" for r in pq.read_table(path).to_pylist()}
    assert stack == set(E.STACK)
    for table in (E.GITHUB, E.STACK):
        for key, (verdict, reason) in table.items():
            assert (verdict == E.KEEP) == (reason == ""), key


# ---- the samples really are what the expected table says they are (content-level checks of each trap)


def _repo_file(rel: str) -> str:
    lang, repo, *rest = rel.split("/")
    rest = ["__dot__" + p[1:] if p.startswith(".") else p for p in rest]
    return (SAMPLES_ROOT / "repos" / lang / repo / Path(*rest)).read_text(encoding="utf-8")


def _stack_file(rel: str) -> str:
    return (SAMPLES_ROOT / rel).read_text(encoding="utf-8")


def _ext(rel: str) -> str:
    return rel.rsplit(".", 1)[-1] if "." in rel.rsplit("/", 1)[-1] else ""


LEAN_KW = re.compile(r"\b(theorem|lemma|example) ")
COQ_KW = re.compile(r"\b(Theorem|Proof|Qed|Inductive|Definition|Fixpoint)\b")
VERILOG_KW = re.compile(r"\b(pragma|endmodule|posedge|negedge|wire)\b")
ISA_KW = re.compile(r"\b(theorem|lemma) ")
SOURCE_EXT = {"lean": "lean", "coq": "v", "isabelle": "thy", "matlab": "m"}


def test_github_samples_match_their_verdicts():
    for rel, (verdict, reason) in E.GITHUB.items():
        lang = rel.split("/")[0]
        if reason in (E.NOT_SOURCE, E.SYMLINK):
            assert _ext(rel) != SOURCE_EXT[lang], rel
            continue
        if reason in (E.BINARY, E.INVALID_UTF8):  # generated at repo creation, checked in the build tests
            assert _ext(rel) == SOURCE_EXT[lang], rel
            continue
        assert _ext(rel) == SOURCE_EXT[lang], rel
        text = _repo_file(rel)
        kw = {"lean": LEAN_KW, "coq": COQ_KW, "isabelle": ISA_KW}.get(lang)
        if kw is not None:
            assert bool(kw.search(text)) == (reason != E.NO_KEYWORD), rel
        if lang == "coq":
            assert bool(VERILOG_KW.search(text)) == (reason == E.VERILOG), rel
            assert ("This file was automatically generated" in text) == (reason == E.AUTOGENERATED), rel
        if lang == "matlab":
            assert bool(re.search(r"@interface|#import", text)) == (reason == E.OBJC), rel
            assert bool(re.search(r"#include|int main\(", text)) == (reason == E.C_IN_M), rel
        if reason == E.BENCHMARK:
            for name in ("mathd_algebra_123", "amc12a_2019_p21", "imo_1959_p1"):
                assert f"theorem {name}" in text
        assert ("/.lake/packages/" in rel) == (reason == E.VENDORED)
        assert ("/afp-2021-10-22/thys/" in rel) == (reason == E.AFP_MIRROR)


def test_duplicate_traps():
    exact = [k for k, (_, r) in E.GITHUB.items() if r == E.EXACT_DUP]
    assert exact == ["matlab/signal-tools/lib/vecnorm2.m"]
    assert _repo_file(exact[0]) == _repo_file("matlab/linear-solvers/utils/vecnorm2.m")
    chunk = [k for k, (_, r) in E.GITHUB.items() if r == E.CHUNK_DUP]
    assert chunk == ["lean/number-theory-notes/src/rings_extended.lean"]
    copy, original = _repo_file(chunk[0]), _repo_file("lean/algebra-basics/AlgebraBasics/Rings.lean")
    assert len(copy) > 2048 and len(original) > 2048 and copy != original
    assert copy[:2048] == original[:2048]
    # the original comes first in manifest order (repositories are listed by name)
    assert "algebra-basics" < "number-theory-notes"


def test_stack_samples_match_their_verdicts():
    py_math = re.compile(r"^\s*(import|from)\s+(numpy|scipy|sympy|sage|numba|numexpr)\b", re.M)
    for rel, (verdict, reason) in E.STACK.items():
        lang = rel.split("/")[1]
        text = _stack_file(rel)
        if lang == "python":
            assert bool(py_math.search(text)) == (verdict == E.KEEP), rel
        if rel.endswith("coin_model.py"):
            assert "import numpyro" in text
        if lang == "c":
            assert bool(re.search(r"#include\s*<(fftw3\.h|gsl/)", text)) == (verdict == E.KEEP), rel
        if lang == "cpp":
            digits = sum(c.isdigit() for c in text) / len(text)
            assert (digits > 0.6) == (reason == E.DIGITS), rel
            assert ("#include <Eigen/" in text) == (reason != E.NO_MATH_IMPORT), rel
        if lang == "haskell":
            assert "import Numeric.LinearAlgebra" in text
        if lang == "tex":
            assert bool(re.search(r"\\(section|chapter)\{", text)) == (reason != E.NO_SECTION), rel
        if lang == "jupyter":
            import json

            try:
                nb = json.loads(text)
            except ValueError:
                assert reason == E.BAD_NOTEBOOK, rel
                assert "import sympy" in text
                continue
            code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
            assert ("import sympy" in code) == (verdict == E.KEEP), rel
            if verdict == E.KEEP:
                assert any("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))


def test_tex_language_id(lid_model):
    fasttext = pytest.importorskip("fasttext")
    model = fasttext.load_model(str(lid_model))

    def lang(rel: str) -> str:
        labels, _ = model.predict(_stack_file(rel).replace("\n", " "))
        return labels[0].removeprefix("__label__")

    assert lang("stack/tex/convex_notes.tex") == "en"
    assert lang("stack/tex/konvexe_notizen.tex") == "de"


def test_samples_are_small():
    total = sum(p.stat().st_size for p in SAMPLES_ROOT.rglob("*") if p.is_file())
    assert total < 200_000
