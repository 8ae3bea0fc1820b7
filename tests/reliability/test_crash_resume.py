"""SIGKILL a real `proofpile build` (its whole process group) at chosen points, re-run it into the same
directory, and require the finished build to be byte-identical to one that was never interrupted, with exactly
the same documents (none lost, none twice).

Kill points are found by polling for the files a stage writes (datatrove completion markers, near-dedup
signatures, the pack directory), so they do not depend on timing; the state at each kill is asserted, so a
build too fast to be caught fails loudly instead of passing untested. The reference is built with 2 workers and
the interrupted builds with 1, at the same path (paths appear in the manifest), so equality also shows that the
worker count does not matter.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ..warc_server import warc_record_bytes, write_warc
from .helpers import PROOFPILE, WORK, doc_ids, output_digest, run_cli


def _run_until(args: list[str], ready: Callable[[], bool], tmp: Path, timeout: float = 180) -> None:
    """Start the build; SIGKILL its process group the moment `ready()` holds. Fails if the build ends first.

    A killed process cannot remove its temporary files (multiprocessing's `pymp-*` directories), so the build
    gets a TMPDIR of its own under `tmp` rather than the suite's, which must end empty."""
    tmpdir = tmp / "killed-build-tmp"
    tmpdir.mkdir(exist_ok=True)
    proc = subprocess.Popen([*PROOFPILE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(tmpdir)})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if ready():
                return
            if proc.poll() is not None:
                pytest.fail(f"the build ended (exit {proc.returncode}) before the kill point: make it slower\n"
                            f"{proc.stderr.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.005)
        pytest.fail("the kill point was never reached")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stderr.close()


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return list(folder.glob(pattern)) if folder.is_dir() else []


def _same_build(reference: Path, out: Path) -> None:
    ids = doc_ids(out)
    assert len(ids) == len(set(ids)), "a document was written twice"
    assert ids == doc_ids(reference), "the resumed build lost or gained documents"
    want, got = output_digest(reference), output_digest(out)
    assert sorted(got) == sorted(want)
    assert [name for name in want if want[name] != got[name]] == []
    assert not list(out.rglob("*.tmp"))


def _math_pages(html: Path) -> list[bytes]:
    pages = sorted((html / "math").glob("*.html")) + sorted((html / "nonmath").glob("*.html"))[:12]
    return [warc_record_bytes(f"https://site.example/{p.parent.name}/{p.stem}", p.read_bytes()) for p in pages]


@pytest.fixture(scope="module")
def web_inputs(tmp_path_factory, shared_data):
    """Six WARC files of real pages, one of them holding a near-copy of a math page from another."""
    inputs = tmp_path_factory.mktemp("resume-web")
    records = _math_pages(shared_data / "html")
    files = []
    for i in range(6):
        chunk = records[i::6]
        if i == 5:  # the first page again under another URL with one word changed: a near-duplicate
            first = records[0].replace(b"https://site.example/", b"https://mirror.example/", 1)
            chunk.append(first.replace(b"the", b"teh", 1))
        files.append(str(write_warc(inputs / f"CC-MAIN-20230201-{i:05d}.warc.gz", chunk)))
    return inputs, files


def _owm_args(out: Path, files: list[str], lid_model: Path, shared_data: Path) -> list[str]:
    return ["build", "open-web-math", "--out", str(out), "--set", "commoncrawl.files=[" + ", ".join(files) + "]",
            "--set", f"langid.model={lid_model}", "--set", "pack.enabled=true",
            "--set", f"pack.tokenizer={shared_data / 'tokenizer' / 'llama2-tokenizer.model'}"]


def _pp2_args(out: Path, lid_model: Path, shared_data: Path) -> list[str]:
    return ["build", "proof-pile-2", "--sample", "--out", str(out), "--set", f"langid.model={lid_model}",
            "--set", f"pack.tokenizer={shared_data / 'tokenizer' / 'llama2-tokenizer.model'}"]


def _references(root: Path, args: list[str]) -> tuple[Path, Path]:
    """The same build with 2 and with 1 workers, uninterrupted, each made at `root/out` and moved aside."""
    made = []
    for workers in ("2", "1"):
        run_cli(*args, "--workers", workers)
        made.append(root / f"reference-{workers}")
        shutil.move(root / "out", made[-1])
    return made[0], made[1]


@pytest.fixture(scope="module")
def owm(tmp_path_factory, web_inputs, lid_model: Path, shared_data: Path):
    """open-web-math with near-dedup and pack (Llama 2 tokenizer) in the build."""
    _, files = web_inputs
    root = tmp_path_factory.mktemp("owm-resume")
    args = _owm_args(root / "out", files, lid_model, shared_data)
    return root, args, *_references(root, args)


PP2 = Path(__file__).resolve().parents[2] / "recipes" / "proof-pile-2.yaml"


@pytest.fixture(scope="module")
def pp2(tmp_path_factory, lid_model: Path, shared_data: Path):
    if not PP2.is_file():
        pytest.skip("recipes/proof-pile-2.yaml is not there yet")
    root = tmp_path_factory.mktemp("pp2-resume")
    args = _pp2_args(root / "out", lid_model, shared_data)
    return root, args, *_references(root, args)


def test_workers_do_not_change_web_shards_dedup_or_token_files(owm):
    _, _, two, one = owm
    assert (two / "packed" / "tokens.json").is_file() and (two / "duplicates.parquet").is_file()
    assert any(name.endswith(".bin") for name in output_digest(two))
    _same_build(two, one)


def test_workers_do_not_change_the_whole_proof_pile_2_sample(pp2):
    _, _, two, one = pp2
    _same_build(two, one)


def test_kill_mid_crawl_mid_dedup_and_mid_pack(owm):
    root, args, reference, _ = owm
    out = root / "out"
    n_files = next(a for a in args if a.startswith("commoncrawl.files=")).count(".warc.gz")
    crawled = out / WORK / "logs" / "commoncrawl" / "completions"
    _run_until([*args, "--workers", "1"], lambda: 0 < len(_files(crawled)) < n_files, root)
    assert 0 < len(_files(crawled)) < n_files, "not killed mid-crawl"
    marks = {p.name: p.stat().st_mtime_ns for p in _files(crawled)}

    sigs, finalized = out / WORK / "near_dedup" / "sigs", out / WORK / "logs" / "finalize" / "completions"
    _run_until([*args, "--workers", "1"], lambda: bool(_files(sigs)), root)
    assert _files(sigs) and not _files(finalized), "not killed mid-dedup"
    assert all((crawled / n).stat().st_mtime_ns == t for n, t in marks.items()), "finished crawl tasks were redone"

    _run_until([*args, "--workers", "1"], lambda: (out / "packed").is_dir(), root)
    assert not (out / "packed" / "tokens.json").exists(), "not killed mid-pack"

    run_cli(*args, "--workers", "1")
    _same_build(reference, out)


def test_proof_pile_2_sample_killed_mid_crawl(pp2):
    root, args, reference, _ = pp2
    out = root / "out"
    tasks = len(list((reference / WORK / "logs").glob("*/*/completions/*")))

    def crawl_under_way() -> bool:
        return 0 < len(list((out / WORK / "logs").glob("*/*/completions/*"))) < tasks

    _run_until([*args, "--workers", "1"], crawl_under_way, root)
    assert not (out / "manifest.json").exists()
    run_cli(*args, "--workers", "1")
    _same_build(reference, out)
