"""Repository manifests: the pinned list of git repositories a code subset is built from.

A build is only reproducible if every repository is pinned to a commit, so the manifest is the input of record:
one repository a line, ``owner/name@commit`` for GitHub or any git URL with an optional ``@commit``. Parsing
never stops at the first bad line: every mistake in a 5,000-line manifest is reported at once, each naming its
file and line, and the good lines are still returned so the caller decides whether to go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from proofpile.errors import ProofpileError

_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}")
# GitHub allows letters, digits, '-', '_' and '.' in owner and repository names
_GITHUB_SHORT = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SCHEME_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_URL = re.compile(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:")  # git@host:path
_TRAILING_COMMENT = re.compile(r"\s#.*$")


@dataclass(frozen=True)
class RepoSpec:
    name: str  # "owner/name" for GitHub entries, otherwise the last two parts of the URL path
    url: str  # what `git fetch` is given
    commit: str | None  # 7-40 hex, lower case; None = whatever the remote HEAD is at fetch time
    lang: str
    origin: str  # "manifest.txt:LINE", so later errors can point back at the line to fix


class ManifestError(ProofpileError, ValueError):
    """One bad manifest line; ``str()`` is a single line a user can paste into an editor's goto-line."""

    def __init__(self, origin: str, problem: str, line: str):
        self.origin, self.problem, self.line = origin, problem, line
        super().__init__(f"{origin}: {problem}: {line}")


def _name_from_url(url: str) -> str:
    if _SCHEME_URL.match(url):
        path = urlsplit(url).path
    else:  # scp-like git@host:owner/name.git
        path = url.split(":", 1)[1]
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    if parts and parts[-1].endswith(".git"):
        parts[-1] = parts[-1][: -len(".git")]
    parts = [p for p in parts if p]
    return "/".join(parts[-2:])


def _dedup_key(url: str) -> str:
    """The same repository written two ways (short form, https, trailing .git or /) must count as one."""
    key = url.rstrip("/")
    key = key[: -len(".git")] if key.endswith(".git") else key
    if "github.com" in key:  # GitHub names are case-insensitive
        key = key.lower()
    return key


def parse_line(text: str, lang: str, origin: str) -> RepoSpec | None:
    """One manifest line -> a spec, None for blank/comment lines; raises ManifestError when malformed."""
    entry = _TRAILING_COMMENT.sub("", text).strip()
    if not entry or entry.startswith("#"):
        return None

    def bad(problem: str) -> ManifestError:
        return ManifestError(origin, problem, text.strip())

    if any(c.isspace() for c in entry):
        raise bad("whitespace inside an entry")

    is_url = bool(_SCHEME_URL.match(entry) or _SCP_URL.match(entry))
    location, commit = entry, None
    head, at, tail = entry.rpartition("@")
    if at:
        if _COMMIT.fullmatch(tail):
            location, commit = head, tail.lower()
        elif not tail:
            raise bad("'@' without a commit")
        elif not is_url or not ("/" in tail or ":" in tail):
            # in a URL an '@' followed by a host or path belongs to the URL (git@host:..., https://user@host/...)
            raise bad(f"commit must be 7-40 hex digits, got {tail!r}")
    if not location:
        raise bad("empty repository name")

    if is_url:
        name = _name_from_url(location)
        if not name:
            raise bad("URL has no repository path")
        return RepoSpec(name=name, url=location, commit=commit, lang=lang, origin=origin)

    if not _GITHUB_SHORT.fullmatch(location):
        raise bad("expected owner/name or a git URL")
    owner, name = location.split("/")
    name = name[: -len(".git")] if name.endswith(".git") else name
    if not name or owner in (".", "..") or name in (".", ".."):
        raise bad("empty repository name")
    return RepoSpec(
        name=f"{owner}/{name}", url=f"https://github.com/{owner}/{name}.git", commit=commit, lang=lang, origin=origin
    )


def parse_manifest(path: Path, lang: str | None = None) -> tuple[list[RepoSpec], list[ManifestError]]:
    """All good entries in file order plus every problem found; ``lang`` defaults to the file's stem."""
    path = Path(path)
    lang = lang or path.stem
    specs: list[RepoSpec] = []
    errors: list[ManifestError] = []
    first_seen: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, start=1):
            origin = f"{path}:{lineno}"
            try:
                spec = parse_line(text, lang, origin)
            except ManifestError as err:
                errors.append(err)
                continue
            if spec is None:
                continue
            key = _dedup_key(spec.url)
            if key in first_seen:
                errors.append(ManifestError(origin, f"duplicate of {first_seen[key]}", text.strip()))
                continue
            first_seen[key] = origin
            specs.append(spec)
    return specs, errors
