"""Bounded cost for any input: each hostile case below runs in a process of its own, against a real HTTP server on
127.0.0.1, and must end within generous caps on wall time and peak RSS, with its reason counted and the good
input beside it kept. The caps are correctness limits, not benchmarks (bench/hostile_cost.py measures).

Without the limits: a 1 GiB e-print answer peaks at over 1 GB, a server dripping a byte every half second holds
a task for as long as it likes, and a remote paths list naming /dev/zero makes a task read zeros forever.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time

from tests.hostile_http import serve

from ..warc_server import warc_record_bytes, write_warc
from .cost_child import run_case

GIB = 2**30
CAP = 8 * 2**20  # arxiv.max_paper_bytes for these builds
MAX_RSS_MB = 400
MAX_SECONDS = 60
PAPER = (b"\\documentclass{article}\\begin{document}\\section{Fermat}For every prime $p$ and integer $a$ we have "
         b"$a^p \\equiv a \\pmod p$, which is Fermat's little theorem, proved by induction on $a$.\\end{document}")


def _good_eprint() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("main.tex")
        info.size = len(PAPER)
        tf.addfile(info, io.BytesIO(PAPER))
    return gzip.compress(buf.getvalue(), mtime=0)


def _arxiv(tmp_path, ids: list[str], *overrides: str, timeout: float = MAX_SECONDS * 3) -> dict:
    with serve({"2401.00001": _good_eprint()}) as (base, _):
        return run_case("arxiv_build", {"out": str(tmp_path / "out"), "ids": ids, "url": base + "{id}",
                                        "set": [f"arxiv.max_paper_bytes={CAP}", *overrides]},
                        timeout=timeout, max_address_space=6 * GIB)


def _assert_bounded(result: dict) -> None:
    assert not result["timed_out"], f"still running after {result['seconds']:.0f} s\n{result['stderr']}"
    assert result["returncode"] == 0, result["stderr"]
    assert result["seconds"] < MAX_SECONDS, result["seconds"]
    assert result["rss_mb"] < MAX_RSS_MB, result["rss_mb"]


def test_a_1_gib_eprint_answer_is_stopped_past_the_cap(tmp_path):
    """Without Content-Length the body is streamed and cut past max_paper_bytes; with a Content-Length over the
    cap it is refused before the body is read. The good paper after them is kept."""
    result = _arxiv(tmp_path, [f"huge-nolength/{GIB}", f"huge/{GIB}", "file/2401.00001"])
    _assert_bounded(result)
    assert result["counts"]["skipped_too_large"] == 2
    assert result["ids"] == ["2401.00001"] and "Fermat's little theorem" in result["texts"][0]


def test_a_server_dripping_bytes_meets_the_deadline(tmp_path):
    """A body sent a byte every half second, and headers that never end: each is cut at arxiv.deadline (2 s
    here), counted as http_deadline, and the next paper goes on."""
    start = time.monotonic()
    result = _arxiv(tmp_path, ["drip/100000", "drip-head", "file/2401.00001"], "arxiv.deadline=2")
    _assert_bounded(result)
    assert result["counts"]["skipped_http_deadline"] == 2
    assert result["ids"] == ["2401.00001"]
    assert time.monotonic() - start < 30


def test_a_remote_paths_list_may_not_name_local_files(tmp_path):
    """A warc.paths list served over HTTP names /dev/zero, file:///dev/urandom and an ftp URL beside one real
    WARC: `/dev/zero` is a path on the list's base URL (asked of the server, a 404 there), the other two are
    refused with a named count, and the WARC (relative, so on the base URL too) is read."""
    page = b"<html><body><p>Let $x^2 = 2$; then $x$ is irrational.</p></body></html>"
    warc = write_warc(tmp_path / "good.warc.gz", [warc_record_bytes("https://example.org/sqrt2", page)])
    listing = b"/dev/zero\nfile:///dev/urandom\nftp://127.0.0.1/x.warc.gz\ncrawl/good.warc.gz\n"
    with serve({"warc.paths": listing, "crawl/good.warc.gz": warc.read_bytes()}) as (base, srv):
        result = run_case("commoncrawl_list", {"paths_file": base + "file/warc.paths", "base_url": base + "file/",
                                               "work": str(tmp_path / "work")},
                          timeout=MAX_SECONDS * 2, max_address_space=6 * GIB)
    _assert_bounded(result)
    assert result["counts"]["file_refused_scheme"] == 2 and result["counts"]["file_failed"] == 1
    assert result["urls"] == ["https://example.org/sqrt2"]
    assert "/file/crawl/good.warc.gz" in srv.requests and "/file/dev/zero" in srv.requests


def test_a_warc_download_has_a_deadline_and_a_size_cap(tmp_path):
    """A WARC that drips, and one that never ends: each stops at commoncrawl.deadline / max_file_bytes, counted."""
    listing = b"drip/100000\nhuge-nolength/%d\n" % (64 * GIB)
    with serve({"warc.paths": listing}) as (base, _):
        result = run_case("commoncrawl_list", {"paths_file": base + "file/warc.paths", "base_url": base,
                                               "work": str(tmp_path / "work"),
                                               "set": ["commoncrawl.deadline=2",
                                                       f"commoncrawl.max_file_bytes={2 * 2**20}"]},
                          timeout=MAX_SECONDS * 2, max_address_space=6 * GIB)
    _assert_bounded(result)
    assert result["counts"]["file_deadline"] == 1 and result["counts"]["file_too_large"] == 1, result["counts"]


def test_limits_are_recipe_settings():
    from proofpile.recipes import load_recipe

    recipe, _ = load_recipe("arxiv", ["arxiv.deadline=2", "arxiv.clean.max_inlines=7"])
    assert recipe.sources.arxiv.deadline == 2 and recipe.sources.arxiv.clean.max_inlines == 7
    assert json.loads(json.dumps(recipe.sources.arxiv.clean.model_dump()))["max_inline_bytes"] == 32 * 2**20


def test_eprint_urls_are_http_only_and_ids_stay_on_the_template_host():
    """`file:///dev/zero` would be read by urllib forever; an id cannot take the request to another scheme."""
    from proofpile.sources.arxiv import ArxivReader, PoliteFetcher, plan_units

    assert PoliteFetcher(interval=0).get("file:///dev/zero") == (None, "not_http_url")
    units, _ = plan_units([], ["zero"])
    reader = ArxivReader(units, eprint_url="file:///dev/{id}", request_interval=0, retries=0)
    assert list(reader.run(None, 0, 1)) == []
    assert reader.stats.stats["skipped_not_http_url"].total == 1
    units, _ = plan_units([], ["evil.org/"])  # `{id}` in the host part: the id must not pick another host
    reader = ArxivReader(units, eprint_url="http://{id}.mirror.invalid/e-print", request_interval=0, retries=0)
    assert list(reader.run(None, 0, 1)) == []
    assert reader.stats.stats["skipped_bad_id"].total == 1
