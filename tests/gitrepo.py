"""Real git repositories for tests, with fixed author, committer and dates so commit ids never change."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Proofpile Test",
    "GIT_AUTHOR_EMAIL": "test@proofpile.invalid",
    "GIT_AUTHOR_DATE": "2023-10-16T12:00:00+00:00",
    "GIT_COMMITTER_NAME": "Proofpile Test",
    "GIT_COMMITTER_EMAIL": "test@proofpile.invalid",
    "GIT_COMMITTER_DATE": "2023-10-16T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,  # a developer's signing or hooks settings must not leak in
}


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _ENV
    out = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false", "-C", str(repo), *args],
        env=env,
        check=True,
        capture_output=True,
    )
    return out.stdout.decode().strip()


def _write(repo: Path, files: dict[str, bytes | str], symlinks: dict[str, str], gitlinks: dict[str, str]) -> None:
    for rel, content in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    for rel, target in symlinks.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink() or p.exists():
            p.unlink()
        os.symlink(target, p)
    git(repo, "add", "-A")
    for rel, sha in gitlinks.items():  # a submodule entry without any .gitmodules or nested repository
        git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sha},{rel}")


def make_repo(
    root: Path,
    files: dict[str, bytes | str],
    symlinks: dict[str, str] = {},  # noqa: B006 - read only
    message: str = "init",
    gitlinks: dict[str, str] = {},  # noqa: B006 - read only
) -> tuple[Path, str]:
    """A new repository at ``root`` with one commit holding ``files``; returns (root, commit id)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    _write(root, files, symlinks, gitlinks)
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return root, git(root, "rev-parse", "HEAD")


def commit_more(
    root: Path,
    files: dict[str, bytes | str] = {},  # noqa: B006 - read only
    symlinks: dict[str, str] = {},  # noqa: B006 - read only
    message: str = "more",
    remove: tuple[str, ...] = (),
) -> str:
    """Another commit on top of the current branch; returns its id."""
    for rel in remove:
        (Path(root) / rel).unlink()
    _write(Path(root), files, symlinks, {})
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")
