"""An input that failed for a passing reason (server down, HTTP 503) is tried again by the next run into the same
--out, and the corpus then is the one an undisturbed build makes; a permanent failure (404) is not retried.
Real servers on 127.0.0.1: a WARC and e-print server answering 503 once, a git smart-HTTP server that is down
for the first run."""

from __future__ import annotations

import gzip
import json
import socket

import pyarrow.parquet as pq
import pytest

from proofpile.manifest import render_funnel

from ..git_http_server import serve_git
from ..gitrepo import git, make_repo
from ..warc_server import serve, warc_record_bytes
from .helpers import build, corpus_files, counts, drops, manifest_json


def _shards(out) -> dict[str, list]:
    return {p.relative_to(out).as_posix(): pq.read_table(p).to_pylist() for p in corpus_files(out)}


def _notes(manifest: dict) -> dict[str, int]:
    total: dict[str, int] = {}
    for row in manifest["funnel"]:
        for k, v in row.get("notes", {}).items():
            total[k] = total.get(k, 0) + v
    return total


def test_a_warc_that_failed_with_503_is_read_on_resume(tmp_path, shared_data, lid_model):
    site = tmp_path / "site"
    site.mkdir()
    pages = shared_data / "html" / "math"
    for name, page in (("a.warc.gz", "wikipedia-hermitian-matrix.html"), ("b.warc.gz", "wikipedia-tsne.html")):
        (site / name).write_bytes(gzip.compress(warc_record_bytes(f"https://en.wikipedia.org/wiki/{page}",
                                                                  (pages / page).read_bytes()), mtime=0))
    with serve(site, fail_once={"b.warc.gz"}) as (base, server):
        files = [f"{base}a.warc.gz", f"{base}b.warc.gz", f"{base}gone.warc.gz"]  # gone: 404, not retried
        sets = (f"commoncrawl.files={json.dumps(files)}", "commoncrawl.retries=0", f"langid.model={lid_model}")
        out = tmp_path / "out"
        first = build("open-web-math", out, *sets)
        assert first["inputs"]["failed"] == [f"commoncrawl: {base}b.warc.gz"]
        assert drops(first)["input_failed_transient"] == 1 and drops(first)["file_failed"] == 2
        assert first["outputs"]["documents"] == 1
        second = build("open-web-math", out, *sets)
        fresh = build("open-web-math", tmp_path / "fresh", *sets)
        requests = [path for path, _ in server.requests]
    assert second["inputs"]["failed"] == [] and _notes(second) == {"retried": 1}
    assert second["outputs"]["documents"] == 2
    assert requests.count("a.warc.gz") == 2 and requests.count("gone.warc.gz") == 2  # once per build: not redone
    assert _shards(out) == _shards(tmp_path / "fresh") and fresh["outputs"] == second["outputs"]


def test_an_eprint_that_failed_with_503_is_fetched_on_resume(tmp_path, shared_data):
    mirror = tmp_path / "mirror" / "e-print"
    mirror.mkdir(parents=True)
    for aid in ("2301.00002", "2301.00003"):
        (mirror / aid).write_bytes((shared_data / "arxiv" / f"{aid}.gz").read_bytes())
    with serve(tmp_path / "mirror", fail_once={"e-print/2301.00003"}) as (base, server):
        sets = ("arxiv.paths=[]", "arxiv.ids=['2301.00002', '2301.00003']", "arxiv.ids_per_task=1", "arxiv.retries=0",
                "arxiv.request_interval=0", f"arxiv.eprint_url={json.dumps(base + 'e-print/{id}')}")
        out = tmp_path / "out"
        first = build("arxiv", out, *sets)
        assert first["inputs"]["failed"] == [f"arxiv: {base}e-print/2301.00003"]
        assert first["outputs"]["documents"] == 1
        second = build("arxiv", out, *sets)
        requests = [path for path, _ in server.requests]
    assert second["inputs"]["failed"] == [] and second["outputs"]["documents"] == 2
    assert requests.count("e-print/2301.00002") == 1  # its task finished the first time: not run again
    assert counts(second)["inputs_retried"] == 1


def test_a_repository_unreachable_then_reachable_is_fetched_on_resume(tmp_path, lid_model):
    src, commit = make_repo(tmp_path / "src", {"Comm.lean": "theorem c (a b : Nat) : a + b = b + a := Nat.add_comm a b\n"})
    git(tmp_path, "clone", "-q", "--bare", str(src), str(tmp_path / "srv" / "comm.git"))
    with socket.socket() as s:  # a port nothing listens on until the second run
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manifest_file = tmp_path / "lean.txt"
    manifest_file.write_text(f"http://127.0.0.1:{port}/comm.git@{commit}\n")
    sets = (f"github.manifests=[{manifest_file}]", "stack=null", f"langid.model={lid_model}")
    out = tmp_path / "out"
    first = build("algebraic-stack", out, *sets)
    assert first["inputs"]["failed"] == [f"github: http://127.0.0.1:{port}/comm.git"]
    assert drops(first)["input_failed_transient"] == 1 and first["outputs"]["documents"] == 0
    assert first["inputs"]["github"][0]["transient"] is True
    with serve_git(tmp_path / "srv", port=port):
        second = build("algebraic-stack", out, *sets)
    assert second["inputs"]["failed"] == [] and second["outputs"]["documents"] == 1
    assert second["inputs"]["github"][0]["status"] == "ok"
    assert "input_failed_transient" not in drops(second) and _notes(second) == {"retried": 1}
    assert "input_failed_transient: 1" in render_funnel(first["funnel"]) and "retried: 1" in render_funnel(second["funnel"])
    assert manifest_json(out) == second


@pytest.mark.parametrize("error", ["fatal: unable to access 'x': Failed to connect to h port 1: Connection refused",
                                   "fatal: unable to access 'x': The requested URL returned error: 503",
                                   "fatal: the remote end hung up unexpectedly"])
def test_network_failures_of_git_are_transient(error):
    from proofpile.sources.github import _TRANSIENT_GIT

    assert _TRANSIENT_GIT.search(error)


@pytest.mark.parametrize("error", ["fatal: repository 'x' not found", "fatal: Authentication failed for 'x'",
                                   "fatal: 'x' does not appear to be a git repository",
                                   "fatal: unable to access 'x': The requested URL returned error: 403"])
def test_repository_failures_of_git_are_not_transient(error):
    from proofpile.sources.github import _TRANSIENT_GIT

    assert not _TRANSIENT_GIT.search(error)

