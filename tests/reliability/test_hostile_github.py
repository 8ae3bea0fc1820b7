"""Hostile git repositories through a real `algebraic-stack` build: hooks and config in the repository we fetch
from never run, a submodule is never followed, a symlink to /etc/passwd is never read, a 200 MB file is never
read, invalid UTF-8 (contents and file names) is a named skip; every case is counted and the build finishes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ..gitrepo import git, make_repo
from ..warc_server import serve
from .helpers import build, counts, drops, rows, task_warnings

HOOKS = ("post-checkout", "pre-commit", "post-commit", "reference-transaction", "post-update", "pre-receive",
         "update", "post-receive", "post-index-change", "pre-auto-gc", "push-to-checkout", "fsmonitor-watchman")


def _lean(n: int) -> str:
    return f"theorem t{n} (a b : Nat) : a + b = b + a := Nat.add_comm a b\n-- file {n}\n"


def _arm(git_dir: Path, marker: Path) -> None:
    """Every hook git knows, and the config keys that make git run a program, write `marker` when run."""
    script = f"#!/bin/sh\necho \"$0\" >> '{marker}'\ncat >/dev/null 2>&1\nexit 0\n"
    hooks = git_dir / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in HOOKS:
        (hooks / name).write_text(script)
        (hooks / name).chmod(0o755)
    program = git_dir / "hostile-program"
    program.write_text(script)
    program.chmod(0o755)
    with open(git_dir / "config", "a") as f:
        f.write(f"[core]\n\tfsmonitor = {program}\n\tsshCommand = {program}\n\tpager = {program}\n"
                f"[uploadpack]\n\tpackObjectsHook = {program}\n[filter \"lfs\"]\n\tsmudge = {program}\n"
                f"\tprocess = {program}\n")


def _big_file_commit(repo: Path, size: int) -> str:
    """Commit a `size`-byte file of zeros without writing `size` bytes to disk: a sparse file, hashed by git."""
    sparse = repo.parent / "sparse.bin"
    with open(sparse, "wb") as f:
        f.truncate(size)
    sha = git(repo, "-c", "core.compression=1", "-c", "core.looseCompression=1", "hash-object", "-w", str(sparse))
    sparse.unlink()
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{sha},Big.lean")
    git(repo, "commit", "-q", "-m", "a 200 MB file")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory, lid_model):
    root = tmp_path_factory.mktemp("github")
    inputs = root / "in"
    marker = root / "HOOK_RAN"
    lines = []
    # hooks and program-running config in the bare repository we fetch from
    src, _ = make_repo(inputs / "hooked-src", {"Hooked.lean": _lean(1)})
    hooked = inputs / "hooked.git"
    git(inputs, "clone", "-q", "--bare", str(src), str(hooked))
    _arm(hooked, marker)
    commit = git(hooked, "rev-parse", "HEAD")
    lines.append(f"{hooked.as_uri()}@{commit}")
    # control: the hooks are live, git runs them for whoever works inside that repository
    subprocess.run(["git", "--git-dir", str(hooked), "update-ref", "refs/control", commit], check=True)
    assert marker.is_file(), "the armed hooks do not run at all, so the check below could not fail"
    marker.unlink()

    site = inputs / "site"  # where the submodule points: a real server that records any request
    site.mkdir(parents=True)
    with serve(site) as (base, server):
        sub, commit = make_repo(inputs / "submodule", {
            "Main.lean": _lean(2),
            ".gitmodules": f"[submodule \"vendor\"]\n\tpath = vendor\n\turl = {base}vendor.git\n",
        }, gitlinks={"vendor": "1" * 40})
        lines.append(f"{sub.as_uri()}@{commit}")
        links, commit = make_repo(inputs / "links", {"Main.lean": _lean(3)},
                                  symlinks={"Passwd.lean": "/etc/passwd", "Up.lean": "../../../../../etc/passwd"})
        lines.append(f"{links.as_uri()}@{commit}")
        big, _ = make_repo(inputs / "big", {"Small.lean": _lean(4)})
        lines.append(f"{big.as_uri()}@{_big_file_commit(big, 200 * 2**20)}")
        bad_name = "Caf\udce9.lean"  # the bytes "Caf\xe9.lean": a Latin-1 file name, not UTF-8
        utf8, commit = make_repo(inputs / "utf8", {
            "Good.lean": _lean(5),
            "Latin1.lean": "theorem caf\u00e9 : True := trivial\n".encode("latin-1"),
            "Broken.lean": b"theorem t6 : True := trivial\n-- \xff\xfe\xc3\x28 \xed\xa0\x80 bad sequences\n",
            bad_name: _lean(7),
        })
        lines.append(f"{utf8.as_uri()}@{commit}")
        manifest_file = inputs / "lean.txt"
        manifest_file.write_text("".join(line + "\n" for line in lines))
        out = root / "out"
        manifest = build("algebraic-stack", out, f"github.manifests=[{manifest_file}]", "stack=null",
                         f"langid.model={lid_model}")
        requests = list(server.requests)
    return out, manifest, marker, requests


def test_hooks_and_config_of_the_fetched_repository_never_run(hostile_build):
    out, manifest, marker, _ = hostile_build
    assert not marker.exists(), marker.read_text()
    paths = {json.loads(r["meta"])["path"] for r in rows(out)}
    assert "Hooked.lean" in paths
    assert all(r["status"] == "ok" for r in manifest["inputs"]["github"]), manifest["inputs"]["github"]


def test_every_hostile_file_is_a_named_skip(hostile_build):
    out, manifest, _, requests = hostile_build
    dropped, counted = drops(manifest), counts(manifest)
    assert dropped["submodule"] == 1 and requests == []  # the submodule's server never heard from us
    assert dropped["symlink"] == 2
    assert dropped["too_large"] == 1  # the 200 MB file, skipped from its size in the tree: never read
    assert dropped["invalid_utf8"] == 2
    assert counted["repos_fetched"] == 5 and counted.get("repo_failed", 0) == 0
    texts = "".join(r["text"] for r in rows(out))
    assert "root:" not in texts and "\ufffd" not in texts
    paths = {json.loads(r["meta"])["path"] for r in rows(out)}
    assert paths == {"Hooked.lean", "Main.lean", "Small.lean", "Good.lean", "Caf\\xe9.lean"}, paths
    warnings = task_warnings(out, "github")
    assert any("Broken.lean: invalid UTF-8 at byte" in w for w in warnings), warnings
    big = next(r for r in manifest["inputs"]["github"] if r["url"].endswith("/big"))
    assert big["size_bytes"] > 200 * 2**20  # the tree really holds it
    assert not (out / "_work" / "clones").exists() or not any((out / "_work" / "clones").iterdir())
