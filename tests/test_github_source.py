import os
import subprocess
from pathlib import Path

import pytest

from proofpile.sources.github import (
    GitHubReader,
    RepoError,
    RepoFile,
    SkippedFile,
    fetch_repo,
    iter_repo_files,
)
from proofpile.sources.repo_manifest import RepoSpec

from .gitrepo import commit_more, make_repo

EXTS = {"lean": (".lean",), "coq": (".v",)}


def spec_for(path: Path, commit: str | None, lang: str = "lean", name: str | None = None) -> RepoSpec:
    url = path.resolve().as_uri()
    return RepoSpec(name=name or f"test/{path.name}", url=url, commit=commit, lang=lang, origin="t:1")


@pytest.fixture
def mixed_repo(tmp_path):
    """A repository exercising every way a file can be read or skipped; a later commit must stay unseen."""
    files = {
        "Main.lean": "theorem t : 1 + 1 = 2 := rfl\n",
        "src/Algebra/Group.lean": "\ufeffdef g := 1\n",
        "src/Binary.lean": b"\x00\x01\x02 not text",
        "src/Latin1.lean": b"-- caf\xe9 au lait\n",
        "big/Huge.lean": b"-- " + b"a" * (5 * 2**20),
        "proofs/Basic.v": "Lemma x : True. Proof. exact I. Qed.\n",
        "README.md": "not lean\n",
        "UPPER.LEAN": "wrong case, not read\n",
    }
    root, pinned = make_repo(
        tmp_path / "mixed",
        files,
        symlinks={"Escape.lean": "../../etc/passwd", "link-to-passwd": "../../../../etc/passwd"},
        gitlinks={"vendor/mathlib": "1" * 40},
    )
    head = commit_more(root, {"Later.lean": "-- added after the pin\n"}, message="later")
    return root, pinned, head


def test_fetch_reads_pinned_commit_not_branch_head(mixed_repo, tmp_path):
    root, pinned, head = mixed_repo
    repo = fetch_repo(spec_for(root, pinned), tmp_path / "work")
    assert repo.commit == pinned != head
    paths = [f.path for f in iter_repo_files(repo, (".lean",), 1_048_575)]
    assert "Main.lean" in paths and "Later.lean" not in paths
    # the object store holds the pinned commit only
    out = subprocess.run(["git", "--git-dir", str(repo.git_dir), "cat-file", "-e", head], capture_output=True)
    assert out.returncode != 0


def test_unpinned_takes_remote_head(mixed_repo, tmp_path):
    root, pinned, head = mixed_repo
    repo = fetch_repo(spec_for(root, None), tmp_path / "work")
    assert repo.commit == head
    assert "Later.lean" in [f.path for f in iter_repo_files(repo, (".lean",), 10**9)]


def test_abbreviated_commit_is_expanded(mixed_repo, tmp_path):
    root, pinned, head = mixed_repo
    assert fetch_repo(spec_for(root, pinned[:10]), tmp_path / "w1").commit == pinned  # not a branch tip
    assert fetch_repo(spec_for(root, head[:7]), tmp_path / "w2").commit == head  # a branch tip


def test_walk_skips_symlinks_submodules_and_large_files(mixed_repo, tmp_path):
    root, pinned, _ = mixed_repo
    repo = fetch_repo(spec_for(root, pinned), tmp_path / "work")
    items = list(iter_repo_files(repo, (".lean",), 1_048_575))
    assert [i.path for i in items] == sorted(i.path for i in items)
    by_path = {i.path: i for i in items}
    assert by_path["Escape.lean"] == SkippedFile("Escape.lean", "symlink")
    assert by_path["link-to-passwd"] == SkippedFile("link-to-passwd", "symlink")  # reported whatever its name
    assert by_path["vendor/mathlib"] == SkippedFile("vendor/mathlib", "submodule")
    assert by_path["big/Huge.lean"] == SkippedFile("big/Huge.lean", "too_large")
    assert set(by_path) == {
        "Escape.lean",
        "Main.lean",
        "big/Huge.lean",
        "src/Algebra/Group.lean",
        "src/Binary.lean",
        "src/Latin1.lean",
        "link-to-passwd",
        "vendor/mathlib",
    }
    main = by_path["Main.lean"]
    assert isinstance(main, RepoFile) and main.data == b"theorem t : 1 + 1 = 2 := rfl\n" and main.size == len(main.data)
    assert not any(isinstance(i, RepoFile) and b"root:" in i.data for i in items)
    # with a higher cap the 5 MB file is read in full
    huge = [i for i in iter_repo_files(repo, (".lean",), 6 * 2**20) if i.path == "big/Huge.lean"]
    assert isinstance(huge[0], RepoFile) and huge[0].size == 3 + 5 * 2**20
    with pytest.raises(ValueError):
        list(iter_repo_files(repo, (), 10))


def test_reader_documents_and_counters(mixed_repo, tmp_path, warnings_logged):
    root, pinned, _ = mixed_repo
    spec = spec_for(root, pinned, name="acme/mixed")
    reader = GitHubReader([spec], EXTS, workdir=str(tmp_path / "work"), max_file_bytes=1_048_575)
    docs = list(reader.run())
    assert [d.metadata["path"] for d in docs] == ["Main.lean", "src/Algebra/Group.lean"]
    group = docs[1]
    assert group.text == "def g := 1\n"  # BOM stripped
    assert group.metadata == {
        "source": "github",
        "subset": "algebraic-stack",
        "lang": "lean",
        "repo": "acme/mixed",
        "url": spec.url,
        "commit": pinned,
        "path": "src/Algebra/Group.lean",
        "size_bytes": len("\ufeffdef g := 1\n".encode()),
    }
    stats = reader.stats
    counts = {k: stats[k].total for k in stats.stats if not k.startswith("doc_len")}
    assert counts == {
        "repos_fetched": 1,
        "documents": 2,
        "skipped_binary": 1,
        "skipped_invalid_utf8": 1,
        "skipped_symlink": 2,
        "skipped_submodule": 1,
        "skipped_too_large": 1,
    }
    bad_utf8 = [m for m in warnings_logged if "invalid UTF-8" in m]
    assert bad_utf8 == [f"acme/mixed@{pinned}:src/Latin1.lean: invalid UTF-8 at byte 6"]
    assert list((tmp_path / "work").iterdir()) == []  # clone removed


def test_reader_walks_only_the_specs_language(mixed_repo, tmp_path):
    root, pinned, _ = mixed_repo
    reader = GitHubReader([spec_for(root, pinned, lang="coq")], EXTS, workdir=str(tmp_path / "work"))
    assert [d.metadata["path"] for d in reader.run()] == ["proofs/Basic.v"]


def test_missing_repository_is_counted_and_others_go_on(mixed_repo, tmp_path, warnings_logged):
    root, pinned, _ = mixed_repo
    other, other_commit = make_repo(tmp_path / "other", {"A.lean": "-- a\n"})
    missing = spec_for(tmp_path / "does-not-exist", None, name="ghost/repo")
    bad_commit = spec_for(other, "f" * 40, name="acme/other")
    specs = [missing, spec_for(root, pinned), bad_commit, spec_for(other, other_commit)]
    reader = GitHubReader(specs, EXTS, workdir=str(tmp_path / "work"))
    docs = list(reader.run())
    assert {d.metadata["path"] for d in docs} == {"Main.lean", "src/Algebra/Group.lean", "A.lean"}
    assert reader.stats["repo_failed"].total == 2
    assert reader.stats["repos_fetched"].total == 2
    failures = [m for m in warnings_logged if m.startswith(("ghost/repo", "acme/other"))]
    assert len(failures) == 2 and all("\n" not in m for m in failures)
    assert "does-not-exist" in failures[0] and "not appear to be a git repository" in failures[0]
    assert "commit not found on the remote" in failures[1]


def test_fetch_errors_are_one_line(tmp_path):
    with pytest.raises(RepoError) as info:
        fetch_repo(spec_for(tmp_path / "nowhere", "a" * 40, name="x/nowhere"), tmp_path / "work")
    msg = str(info.value)
    assert msg.startswith("x/nowhere (file://") and "\n" not in msg
    assert list((tmp_path / "work").iterdir()) == []  # failed clone cleaned up


def test_repository_over_size_cap(tmp_path):
    root, commit = make_repo(tmp_path / "big", {"noise.lean": os.urandom(1_500_000)})
    with pytest.raises(RepoError, match=r"over the cap") as info:
        fetch_repo(spec_for(root, commit, name="x/big"), tmp_path / "work", max_repo_bytes=500_000)
    assert "repository is 1.4 MB, over the cap of 0.5 MB" in str(info.value)
    assert list((tmp_path / "work").iterdir()) == []
    assert fetch_repo(spec_for(root, commit), tmp_path / "work", max_repo_bytes=2_000_000).size_bytes == 1_500_000


def test_hooks_configured_by_the_user_never_run(tmp_path, monkeypatch):
    root, commit = make_repo(tmp_path / "src", {"A.lean": "-- a\n"})
    marker = tmp_path / "HOOK_RAN"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("reference-transaction", "post-checkout", "post-merge", "pre-auto-gc", "post-index-change"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{marker}'\ncat >/dev/null 2>&1 || true\n")
        hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n[init]\n\ttemplateDir = {tmp_path / 'no-templates'}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))

    # control: plain git with this configuration does run the hook, so the check below can fail
    control = tmp_path / "control.git"
    subprocess.run(["git", "init", "-q", "--bare", str(control)], check=True)
    subprocess.run(
        ["git", "--git-dir", str(control), "fetch", "-q", root.as_uri(), f"+{commit}:refs/x"],
        check=True,
        capture_output=True,
    )
    assert marker.exists()
    marker.unlink()

    repo = fetch_repo(spec_for(root, commit), tmp_path / "work")
    list(iter_repo_files(repo, (".lean",), 10**6))
    assert not marker.exists()


def test_ids_are_deterministic_and_clones_reused(mixed_repo, tmp_path):
    root, pinned, _ = mixed_repo
    spec = spec_for(root, pinned)
    first = [(d.id, d.text) for d in GitHubReader([spec], EXTS, workdir=str(tmp_path / "a")).run()]
    second = [(d.id, d.text) for d in GitHubReader([spec], EXTS, workdir=str(tmp_path / "b"), keep_clones=True).run()]
    assert first == second and len({i for i, _ in first}) == len(first) == 2
    # a kept, complete clone is reused: the source can be gone
    kept = list((tmp_path / "b").iterdir())
    assert len(kept) == 1
    subprocess.run(["rm", "-rf", str(root)], check=True)
    again = [(d.id, d.text) for d in GitHubReader([spec], EXTS, workdir=str(tmp_path / "b")).run()]
    assert again == first


def test_ranks_split_the_repositories(tmp_path):
    specs = []
    for i in range(5):
        root, commit = make_repo(tmp_path / f"r{i}", {f"F{i}.lean": f"-- {i}\n"})
        specs.append(spec_for(root, commit))
    reader = GitHubReader(specs, EXTS, workdir=str(tmp_path / "w"))
    by_rank = [[d.metadata["path"] for d in reader.run(rank=rank, world_size=2)] for rank in range(2)]
    assert by_rank == [["F0.lean", "F2.lean", "F4.lean"], ["F1.lean", "F3.lean"]]


def test_readers_survive_pickling(tmp_path):
    import pickle

    root, commit = make_repo(tmp_path / "p", {"A.lean": "-- a\n"})
    reader = pickle.loads(pickle.dumps(GitHubReader([spec_for(root, commit)], EXTS, workdir=str(tmp_path / "w"))))
    assert [d.text for d in reader.run()] == ["-- a\n"]


def test_language_without_extensions_is_refused(tmp_path):
    spec = RepoSpec("a/b", "file:///nowhere", None, "matlab", "t:1")
    with pytest.raises(ValueError, match="matlab"):
        GitHubReader([spec], EXTS, workdir=str(tmp_path))


def test_a_url_that_looks_like_an_option_never_reaches_git_as_one(tmp_path, monkeypatch, warnings_logged):
    """`--upload-pack=<program>` as a manifest URL: git would run the program (on the far side of an ssh
    connection, here a stand-in ssh that runs the command like a reachable host would)."""
    marker = tmp_path / "PWNED"
    ssh = tmp_path / "ssh"
    ssh.write_text('#!/bin/sh\nfor last; do :; done\nsh -c "$last"\n')
    ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(ssh))
    spec = RepoSpec(name="evil/option", url=f"--upload-pack=touch {marker};:", commit="a" * 40, lang="lean",
                    origin="t:1")
    good, commit = make_repo(tmp_path / "good", {"A.lean": "-- a\n"})
    reader = GitHubReader([spec, spec_for(good, commit)], EXTS, workdir=str(tmp_path / "work"))
    docs = list(reader.run())
    assert not marker.exists()
    assert [d.metadata["path"] for d in docs] == ["A.lean"]
    assert reader.stats["repo_failed"].total == 1
    assert any(m.startswith("evil/option (--upload-pack=") and "refused" in m for m in warnings_logged)


def test_names_from_the_repository_are_escaped_in_log_lines(tmp_path, warnings_logged):
    name = "Evil\x1b[2J\rWARNING: forged.lean"
    root, commit = make_repo(tmp_path / "r", {name: b"\x00binary"})
    list(GitHubReader([spec_for(root, commit)], EXTS, workdir=str(tmp_path / "work")).run())
    line = next(m for m in warnings_logged if "binary content" in m)
    assert "Evil\\x1b[2J\\rWARNING: forged.lean" in line and line.isprintable()


def test_credentials_in_the_url_stay_out_of_errors_reports_and_documents(tmp_path):
    from proofpile.redact import redact_url

    from .git_http_server import serve_git

    src, commit = make_repo(tmp_path / "src", {"A.lean": "-- a\n"})
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(tmp_path / "srv" / "a.git")], check=True)
    with serve_git(tmp_path / "srv", auth="user:CANARY") as (base, _):
        url = base.replace("http://", "http://user:CANARY@") + "a.git"
        wrong = base.replace("http://", "http://user:WRONG-CANARY@") + "a.git"
        reader = GitHubReader([RepoSpec("o/a", url, commit, "lean", "t:1"), RepoSpec("o/b", wrong, commit, "lean", "t:2")],
                              EXTS, workdir=str(tmp_path / "work"), report_dir=str(tmp_path / "reports"))
        docs = list(reader.run())
    assert [d.metadata["url"] for d in docs] == [redact_url(url)] and "***@" in redact_url(url)
    reports = (tmp_path / "reports" / "00000.jsonl").read_text()
    assert "CANARY" not in reports and "Authentication failed" in reports
