"""Every failure of a command is one `error:` line and a non-zero exit, never a traceback: the real `proofpile`
entry point in a subprocess, fed what a user gets wrong (a recipe that includes itself, a Hub URL that answers
HTML or never answers, no network for the benchmarks, a build of another kind or with nothing in it, a damaged
manifest)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

PROOFPILE = [sys.executable, "-m", "proofpile.cli"]


def proofpile(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; `env` adds variables, or removes those it maps to None."""
    full = {**os.environ, **(env or {})}
    return subprocess.run([*PROOFPILE, *map(str, args)], capture_output=True, text=True, check=False,
                          env={k: str(v) for k, v in full.items() if v is not None}, timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


def cli_error_line(*args) -> str:
    """One `error:` line from the CLI run in this process (typer's runner): for the many quick cases."""
    from typer.testing import CliRunner

    from proofpile.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code != 0, result.output[-2000:]
    assert not isinstance(result.exception, Exception), repr(result.exception)  # an uncaught one: a traceback
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output[-3000:]
    return errors[0]


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def decontaminated_build(tmp_path_factory) -> Path:
    """The arXiv sample built with decontamination on, so `contamination.parquet` sits beside `data/`; carded."""
    out = tmp_path_factory.mktemp("errors") / "arxiv"
    ok(proofpile("build", "arxiv", "--sample", "--out", out, "--no-progress", "--set", "decontaminate.enabled=true"))
    assert (out / "contamination.parquet").is_file()
    ok(proofpile("card", out))
    return out


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory) -> Path:
    """A finished build that kept 0 documents (its only paper has no LaTeX document in it)."""
    root = tmp_path_factory.mktemp("empty-build")
    (root / "papers").mkdir()
    (root / "papers" / "x.tex").write_text("hello\n")
    out = root / "out"
    ok(proofpile("build", "arxiv", "--out", out, "--no-progress", "--set", f"arxiv.paths=[{root / 'papers'}]"))
    assert json.loads((out / "manifest.json").read_text())["outputs"]["shards"] == []
    return out


# -- a recipe include cycle ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cycle", ["two recipes", "itself"])
def test_recipe_include_cycle(tmp_path: Path, cycle: str):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(f"name: a\ninclude:\n  - recipe: {b if cycle == 'two recipes' else a}\n")
    b.write_text(f"name: b\ninclude:\n  - recipe: {a}\n")
    line = one_error_line(proofpile("build", a, "--out", tmp_path / "out", "--dry-run"))
    assert f"{a}: include:" in line and "includes other recipes itself" in line, line


# -- publish: a server that is not the Hub ---------------------------------------------------------------------


class _NotTheHub(BaseHTTPRequestHandler):
    """What a captive portal or a misconfigured proxy answers to everything: 200 and a page of its own."""

    def _any(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type, body = self.server.page
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _any

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("page", [
    ("text/html", b"<html><body>Please sign in to the network</body></html>"),
    ("application/json", b"{}"),
    ("application/json", b"[]"),
    ("application/json", b"null"),
], ids=["html", "empty-object", "list", "null"])
def test_publish_answered_by_a_server_that_is_not_the_hub(decontaminated_build: Path, tmp_path: Path, page):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTheHub)
    server.page = page
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = proofpile("publish", decontaminated_build, "--repo", "org/name", "--endpoint",
                         f"http://127.0.0.1:{server.server_address[1]}", env={"HF_TOKEN": "hf_x", "HF_HOME": tmp_path})
    finally:
        server.shutdown()
        server.server_close()
    line = one_error_line(proc)
    assert "not what a Hugging Face Hub sends" in line and "--endpoint" in line, line


def test_publish_to_a_server_that_never_answers(decontaminated_build: Path, tmp_path: Path):
    """A real socket that accepts connections and then says nothing: without a timeout this hangs forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        start = time.monotonic()
        proc = proofpile("publish", decontaminated_build, "--repo", "org/name", "--timeout", "2", "--endpoint",
                         f"http://127.0.0.1:{listener.getsockname()[1]}", env={"HF_TOKEN": "hf_x", "HF_HOME": tmp_path},
                         timeout=60)
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    line = one_error_line(proc)
    assert accepted, "publish never connected, so the timeout was not what ended it"
    assert "no answer within 2 s" in line and "--timeout" in line, line
    assert elapsed < 50, elapsed


# -- card of a build with nothing in it ------------------------------------------------------------------------


def test_card_of_a_build_with_no_documents(empty_build: Path):
    line = one_error_line(proofpile("card", empty_build))
    assert f"{empty_build}: the build kept 0 documents" in line and "proofpile stats" in line, line
    assert not (empty_build / "README.md").exists() and not (empty_build / "assets").exists()
    ok(proofpile("stats", empty_build))  # the funnel that explains it still prints


# -- dedup reads the corpus, not every Parquet file ------------------------------------------------------------


def test_dedup_of_a_decontaminated_build(decontaminated_build: Path, tmp_path: Path):
    """The README's own example after a build with decontamination: `contamination.parquet` is not corpus."""
    out = tmp_path / "dedup"
    ok(proofpile("dedup", decontaminated_build, "--out", out, "--no-progress"))
    corpus = sorted((decontaminated_build / "data").rglob("*.parquet"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert [Path(i["path"]) for i in manifest["inputs"]] == corpus
    assert manifest["counts"]["documents"] == sum(pq.ParquetFile(p).metadata.num_rows for p in corpus)


def test_dedup_of_a_parquet_file_that_is_not_corpus(decontaminated_build: Path, tmp_path: Path):
    line = cli_error_line("dedup", decontaminated_build / "contamination.parquet", "--out", tmp_path / "d")
    assert "contamination.parquet: not a corpus shard" in line, line


def test_dedup_of_a_build_with_a_cut_shard(decontaminated_build: Path, tmp_path: Path):
    """A shard cut short after the build (a copy interrupted): the error names the file."""
    build = tmp_path / "build"
    shard = next((decontaminated_build / "data").rglob("*.parquet"))
    cut = build / shard.relative_to(decontaminated_build)
    cut.parent.mkdir(parents=True)
    cut.write_bytes(shard.read_bytes()[:1000])
    line = cli_error_line("dedup", build, "--out", tmp_path / "out")
    assert f"{cut}: not a readable Parquet file" in line, line


# -- decontaminate without the Hub -----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("offline", [None, "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_decontaminate_when_the_hub_is_unreachable(tmp_path: Path, offline: str | None):
    """The headline command on a machine without the Hub: one line that says how to go on, and no minute of
    retries first (the subprocess timeout is shorter than huggingface_hub's five backed-off retries)."""
    shard = tmp_path / "in.jsonl"
    shard.write_text(json.dumps({"text": "Let x be a prime number greater than two."}) + "\n")
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}", "HF_HOME": tmp_path / "hf",
           "HF_HUB_OFFLINE": None, "HF_DATASETS_OFFLINE": None}
    if offline:
        env[offline] = "1"
    line = one_error_line(proofpile("decontaminate", shard, "--out", tmp_path / "out", "--bench", "math",
                                    env=env, timeout=20))
    assert "hf://datasets/EleutherAI/hendrycks_math" in line and "--bench-file math=PATH" in line, line
    assert ("offline mode is on" in line) if offline else ("is not reachable" in line and "HF_HUB_OFFLINE=1" in line)


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("math.jsonl", b'{"problem": "p", "solution": "s"}\n[1, 2]\n', "math.jsonl:2: not a benchmark record: JSON array, not an object"),
    ("math.jsonl", b'"a string"\n', "math.jsonl:1: not a benchmark record: JSON string, not an object"),
    ("math.jsonl", b'{"problem": "p", "solution": "s"}\n{"problem": "\xff"}\n', "math.jsonl:2: not a benchmark record: invalid UTF-8"),
    ("math.parquet", b"PAR1 but cut short", "math.parquet: not a readable Parquet file"),
])
def test_decontaminate_with_a_broken_benchmark_file(tmp_path: Path, name: str, content: bytes, expected: str):
    bench = tmp_path / name
    bench.write_bytes(content)
    shard = tmp_path / "in.jsonl"
    shard.write_text(json.dumps({"text": "Let x be a prime number greater than two."}) + "\n")
    line = cli_error_line("decontaminate", shard, "--out", tmp_path / "out", "--bench-file", f"math={bench}")
    assert f"{tmp_path}/{expected}" in line, line


# -- inputs of the wrong kind ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wrong_kinds(tmp_path_factory, decontaminated_build: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("wrong-kinds")
    kinds = {"a file": root / "notes.txt", "an empty directory": root / "empty"}
    kinds["a file"].write_text("not a build\n")
    kinds["an empty directory"].mkdir()
    for name, text in {"a truncated manifest": '{"outputs": {"shards": [', "a manifest that is a list": "[1, 2]",
                       "a manifest of another shape": json.dumps({"outputs": {"shards": ["data/x.parquet"]}})}.items():
        d = root / name.replace(" ", "-")
        d.mkdir()
        (d / "manifest.json").write_text(text)
        kinds[name] = d
    odd = json.loads((decontaminated_build / "manifest.json").read_text())
    odd["funnel"], odd["inputs"] = [1, 2], [3]
    d = root / "odd-funnel"
    d.mkdir()
    (d / "data").symlink_to(decontaminated_build / "data")
    (d / "manifest.json").write_text(json.dumps(odd))
    kinds["a manifest with a damaged funnel"] = d
    return kinds


_KINDS = ["a file", "an empty directory", "a truncated manifest", "a manifest that is a list",
          "a manifest of another shape", "a manifest with a damaged funnel"]
_COMMANDS = {"stats": ["stats"], "card": ["card"], "publish": ["publish", "--dry-run", "--repo", "org/name"]}


# `stats` prints what it can read of a damaged funnel: its tables do not need it
@pytest.mark.parametrize(("command", "kind"), [(c, k) for c in _COMMANDS for k in _KINDS
                                               if (c, k) != ("stats", "a manifest with a damaged funnel")])
def test_build_commands_given_the_wrong_kind_of_directory(wrong_kinds, command: str, kind: str):
    line = cli_error_line(*_COMMANDS[command], wrong_kinds[kind])
    assert str(wrong_kinds[kind]) in line, line


@pytest.mark.parametrize("tokens", ["[1]", "null", '{"tokens": {"arxiv": [1]}}'])
@pytest.mark.parametrize("command", ["stats", "card"])
def test_a_damaged_pack_is_named_not_the_manifest(decontaminated_build: Path, tmp_path: Path, tokens: str, command):
    (tmp_path / "tokens.json").write_text(tokens)
    line = cli_error_line(command, decontaminated_build, "--pack", tmp_path)
    assert line.startswith(f"error: {tmp_path / 'tokens.json'}: "), line


def test_card_of_a_dedup_output(tmp_path: Path):
    """A directory of another kind with a manifest.json of its own: `proofpile dedup` of two small builds."""
    shards = tmp_path / "dedup"
    for n in range(2):
        shard = tmp_path / f"b{n}" / "data" / "arxiv" / "train-00000-of-00001.parquet"
        shard.parent.mkdir(parents=True)
        text = f"Theorem {n}. For every prime $p > 2$, the number $p^2 - 1$ is divisible by {8 * (n + 1)}."
        pq.write_table(pa.table({"id": [f"paper-{n}"], "text": [text], "meta": ["{}"], "subset": ["arxiv"],
                                 "lang": [""]}), shard)
    ok(proofpile("dedup", tmp_path / "b0", tmp_path / "b1", "--out", shards, "--no-progress"))
    line = cli_error_line("card", shards)
    assert "a `proofpile dedup` output" in line, line


@pytest.mark.parametrize("kind", ["a file", "an empty directory", "a manifest that is a list"])
def test_dedup_given_the_wrong_kind_of_input(wrong_kinds, kind: str, tmp_path: Path):
    line = cli_error_line("dedup", wrong_kinds[kind], "--out", tmp_path / "out")
    assert str(wrong_kinds[kind]) in line, line


def test_dedup_into_a_file(decontaminated_build: Path, wrong_kinds):
    line = cli_error_line("dedup", decontaminated_build, "--out", wrong_kinds["a file"])
    assert str(wrong_kinds["a file"]) in line and "not a directory" in line.lower(), line


@pytest.mark.parametrize("args", [
    ["plan", "dedup", "--docs", "10", "--avg-bytes", "10", "--workers", "0"],
    ["plan", "proof-pile-2", "--target-tokens", "nan"],
    ["plan", "proof-pile-2", "--target-tokens", "1e9", "--mem-per-node-gb", "0"],
])
def test_plans_of_impossible_machines(args: list[str]):
    assert "must be positive" in cli_error_line(*args)
