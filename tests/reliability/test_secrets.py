"""No credential from an input URL reaches any output: canaries are planted in every kind of input URL (a git
remote behind basic auth, presigned WARC URLs, a paths list and its base URL, an e-print mirror, Stack and
arXiv file URLs), real builds run through the CLI, and every file they wrote (shards read back with pyarrow,
manifest, card, `_work/**`, logs, stats) and everything they printed is searched for the canaries."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ..git_http_server import serve_git
from ..gitrepo import git, make_repo
from ..warc_server import serve, warc_record_bytes
from .helpers import build, run_cli

CANARY = "CANARY"
LEAN = "theorem add_comm' (a b : Nat) : a + b = b + a := Nat.add_comm a b\n"


def _texts(path: Path) -> list[str]:
    """What a file says, in every form someone could read it: raw bytes, and the rows of a Parquet file or
    the decompressed bytes of a gzip file."""
    raw = path.read_bytes()
    out = [raw.decode("utf-8", "replace")]
    if path.suffix == ".parquet":
        out.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
    elif raw[:2] == b"\x1f\x8b":
        try:
            out.append(gzip.decompress(raw).decode("utf-8", "replace"))
        except (OSError, EOFError):
            pass
    return out


def _leaks(out: Path, printed: str) -> list[str]:
    found = [f"{p.relative_to(out)}" for p in sorted(out.rglob("*")) if p.is_file()
             and any(CANARY in t for t in _texts(p))]
    return found + (["stdout/stderr"] if CANARY in printed else [])


def _cli_build(recipe: str, out: Path, *sets: str) -> tuple[dict, str]:
    args = ["build", recipe, "--out", out, "--no-progress"]
    for s in sets:
        args += ["--set", s]
    proc = run_cli(*args)
    return json.loads((out / "manifest.json").read_text()), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def code_build(tmp_path_factory, lid_model):
    """A github repository served over smart HTTP that needs the password in its manifest URL, and a Stack
    file URL with a token (unreadable here: it must not leak from the error either). Card enabled."""
    root = tmp_path_factory.mktemp("secrets-code")
    src, commit = make_repo(root / "src", {"Comm.lean": LEAN})
    git(root, "clone", "-q", "--bare", str(src), str(root / "srv" / "algebra.git"))
    with serve_git(root / "srv", auth="user:CANARY1") as (base, server):
        url = base.replace("http://", "http://user:CANARY1@") + "algebra.git"
        manifest_file = root / "lean.txt"
        manifest_file.write_text(f"{url}@{commit}\n")
        stack_url = "http://user:CANARY4@127.0.0.1:9/the-stack.jsonl"
        out = root / "out"
        manifest, printed = _cli_build("algebraic-stack", out, f"github.manifests=[{manifest_file}]",
                                       f"stack.files={json.dumps([stack_url])}", "stack.langs=[tex]",
                                       f"langid.model={lid_model}", "card.enabled=true")
        authorized = len(server.requests)
    return out, manifest, printed, authorized


@pytest.fixture(scope="module")
def web_build(tmp_path_factory, shared_data, lid_model):
    """A WARC paths list fetched with a signature, naming one presigned WARC (absolute) and one relative to a
    base URL with credentials."""
    root = tmp_path_factory.mktemp("secrets-web")
    site = root / "site"
    site.mkdir()
    pages = shared_data / "html" / "math"
    # a page whose own address in the WARC carries a token too: `meta.url` keeps the page, not the token
    (site / "signed.warc.gz").write_bytes(gzip.compress(warc_record_bytes(
        "https://user:CANARY9@en.wikipedia.org/wiki/Hermitian_matrix?access_token=CANARY9",
        (pages / "wikipedia-hermitian-matrix.html").read_bytes()), mtime=0))
    (site / "relative.warc.gz").write_bytes(gzip.compress(warc_record_bytes(
        "https://en.wikipedia.org/wiki/T-distributed_stochastic_neighbor_embedding",
        (pages / "wikipedia-tsne.html").read_bytes()), mtime=0))
    with serve(site) as (base, server):
        (site / "warc.paths").write_text(
            f"{base}signed.warc.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=CANARY5&X-Amz-Signature=CANARY2\n"
            "relative.warc.gz\n")
        paths_file = f"{base}warc.paths?X-Amz-Signature=CANARY6"
        base_url = base.replace("http://", "http://user:CANARY7@")
        out = root / "out"
        manifest, printed = _cli_build("open-web-math", out, f"commoncrawl.paths_file={json.dumps(paths_file)}",
                                       f"commoncrawl.base_url={json.dumps(base_url)}", "commoncrawl.retries=0",
                                       f"langid.model={lid_model}", "card.enabled=true")
        requests = list(server.requests)
    return out, manifest, printed, requests


@pytest.fixture(scope="module")
def arxiv_build(tmp_path_factory, shared_data):
    """E-prints from a mirror whose URL carries a password and a token, a bulk tar URL with a password, and
    one local paper so the build has output."""
    root = tmp_path_factory.mktemp("secrets-arxiv")
    mirror = root / "mirror" / "e-print"
    mirror.mkdir(parents=True)
    shutil.copy(shared_data / "arxiv" / "2301.00002.gz", mirror / "2301.00002")
    with serve(root / "mirror") as (base, server):
        eprint_url = base + "e-print/{id}?token=CANARY3"
        secret_mirror = base.replace("http://", "http://user:CANARY3@") + "e-print/{id}"
        out = root / "out"
        manifest, printed = _cli_build(
            "arxiv", out, "arxiv.paths=" + json.dumps([str(shared_data / "arxiv" / "2301.00001.gz"),
                                                      "http://user:CANARY8@127.0.0.1:9/src/bulk.tar"]),
            "arxiv.ids=['2301.00002']", f"arxiv.eprint_url={json.dumps(eprint_url)}", "arxiv.request_interval=0",
            "arxiv.retries=0", "card.enabled=true")
        # the same build again with the password in the mirror's address: a new --out, a new build
        out2 = root / "out2"
        manifest2, printed2 = _cli_build("arxiv", out2, f"arxiv.paths=[{shared_data / 'arxiv' / '2301.00001.gz'}]",
                                         "arxiv.ids=['2301.00002']", f"arxiv.eprint_url={json.dumps(secret_mirror)}",
                                         "arxiv.request_interval=0", "arxiv.retries=0")
        requests = list(server.requests)
    return (out, manifest, printed), (out2, manifest2, printed2), requests


def test_git_credentials_are_used_but_never_written(code_build):
    out, manifest, printed, authorized = code_build
    assert _leaks(out, printed) == []
    assert authorized >= 2  # the server asked for the password and got it: the raw URL reached git
    repo = manifest["inputs"]["github"][0]
    assert repo["status"] == "ok" and repo["documents"] == 1, repo
    assert repo["url"].startswith("http://***@127.0.0.1:")
    rows = [r for p in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert [json.loads(r["meta"])["url"] for r in rows] == [repo["url"]]
    assert (out / "README.md").is_file() and (out / "_work" / "build.json").is_file()


def test_presigned_warc_urls_and_paths_list_secrets_are_never_written(web_build):
    out, manifest, printed, requests = web_build
    assert _leaks(out, printed) == []
    assert ("signed.warc.gz", None) in requests  # read with its signature (the test server ignores it)
    files = manifest["inputs"]["commoncrawl"]["files"]
    assert any(f.endswith("X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED") for f in files), files
    metas = [json.loads(r["meta"]) for p in sorted((out / "data").rglob("*.parquet"))
             for r in pq.read_table(p).to_pylist()]
    assert {m["warc_file"] for m in metas} == {files[0]}, files
    # urllib does not send a URL's userinfo as basic auth, so the relative WARC fails: listed, redacted
    assert manifest["inputs"]["failed"] == [f"commoncrawl: {files[1]}"] and files[1].startswith("http://***@")
    assert f"warning: input failed (network or server), re-run to retry: commoncrawl: {files[1]}" in printed
    card = (out / "README.md").read_text()
    assert f"failed at build time (not in this corpus):\n\n- commoncrawl: {files[1]}" in card
    assert "https://***@en.wikipedia.org/wiki/Hermitian_matrix?access_token=REDACTED" in {m["url"] for m in metas}
    assert (out / "README.md").is_file()


def test_eprint_mirror_and_archive_url_secrets_are_never_written(arxiv_build):
    (out, manifest, printed), (out2, manifest2, printed2), requests = arxiv_build
    assert _leaks(out, printed) == []
    assert _leaks(out2, printed2) == []
    assert ("e-print/2301.00002", None) in requests
    assert manifest["outputs"]["documents"] == 2, manifest["funnel"]
    assert manifest["recipe"]["resolved"]["sources"]["arxiv"]["eprint_url"].endswith("?token=REDACTED")
    assert manifest2["recipe"]["resolved"]["sources"]["arxiv"]["eprint_url"].startswith("http://***@")
    assert (out / "README.md").is_file()


def test_a_new_token_resumes_the_same_build(tmp_path, shared_data):
    """Credentials are not what a build reads: a rotated token must not make `--out` "another build"."""
    paper = json.dumps([str(shared_data / "arxiv" / "2301.00001.gz")])
    out = tmp_path / "out"
    first = build("arxiv", out, f"arxiv.paths={paper}", "arxiv.eprint_url='https://u:OLD@m.example/{id}?token=OLD'")
    second = build("arxiv", out, f"arxiv.paths={paper}", "arxiv.eprint_url='https://u:NEW@m.example/{id}?token=NEW'")
    assert first["outputs"] == second["outputs"]
    assert "OLD" not in (out / "_work" / "build.json").read_text()


def test_dry_run_and_input_errors_print_no_secret(tmp_path):
    manifest_file = tmp_path / "lean.txt"
    manifest_file.write_text("https://user:CANARY1@git.example/o/r.git@0123456\n"
                             "https://user:CANARY1@git.example/o/r.git@0123456\n"  # a duplicate: an input error
                             "https://user:CANARY1@git.example/o/bad.git@not-hex!\n")
    code = run_cli("build", "algebraic-stack", "--out", tmp_path / "a", "--dry-run", "--set",
                   f"github.manifests=[{manifest_file}]", "--set", "stack=null")
    web = run_cli("build", "open-web-math", "--out", tmp_path / "w", "--dry-run", "--set",
                  "commoncrawl.files=" + json.dumps(["https://b.example/x.warc.gz?X-Amz-Signature=CANARY2"]))
    printed = code.stdout + code.stderr + web.stdout + web.stderr
    assert "https://***@git.example/o/r.git" in code.stdout and "X-Amz-Signature=REDACTED" in web.stdout
    assert code.stderr.count("warning: ") == 2, code.stderr
    assert CANARY not in printed
    assert not (tmp_path / "a").exists() and not (tmp_path / "w").exists()
