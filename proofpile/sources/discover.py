"""Find candidate repositories for a language with the GitHub search API, pinned to a commit.

The original AlgebraicStack listed Lean, Coq, Isabelle and MATLAB repositories by searching GitHub. Search
results change daily, so this module's only job is to write them down once as manifest lines with a commit id
each; the build then reads the manifest, never the search. ``pushed_before`` pins every repository to its last
commit before a date, which is how a manifest can approximate the state of GitHub at the original crawl.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from proofpile.errors import ProofpileError

# our language name -> GitHub's `language:` qualifier
GITHUB_LANGUAGES: dict[str, str] = {
    "lean": "Lean",
    "coq": "Coq",
    "isabelle": "Isabelle",
    "matlab": "MATLAB",
    "agda": "Agda",
    "idris": "Idris",
    "gap": "GAP",
    "maple": "Maple",
    "haskell": "Haskell",
    "julia": "Julia",
    "python": "Python",
    "c": "C",
    "cpp": "C++",
    "r": "R",
    "tex": "TeX",
    "fortran": "Fortran",
}

_SEARCH_RESULT_CAP = 1000  # GitHub returns at most this many results for any search


class DiscoverError(ProofpileError, RuntimeError):
    """The GitHub API refused or failed; the message is one line saying what to do about it."""


class _Api:
    def __init__(self, api_url: str, token: str | None, timeout: float):
        self.base = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get(self, path: str, params: dict[str, str | int]) -> object:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "proofpile-discover")  # GitHub rejects requests without one
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as err:
            raise self._explain(err, path) from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise DiscoverError(f"GET {self.base}{path}: {reason}") from None
        except json.JSONDecodeError as err:
            raise DiscoverError(f"GET {self.base}{path}: response is not JSON ({err.msg})") from None

    def _explain(self, err: urllib.error.HTTPError, path: str) -> DiscoverError:
        try:
            message = json.loads(err.read() or b"{}").get("message", "")
        except (json.JSONDecodeError, AttributeError):
            message = ""
        message = " ".join(str(message).split())
        remaining = err.headers.get("X-RateLimit-Remaining")
        if err.code in (403, 429) and (remaining == "0" or "rate limit" in message.lower()):
            reset = err.headers.get("X-RateLimit-Reset", "")
            when = ""
            if reset.isdigit():
                when = " until " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(reset)))
            hint = "" if self.token else "; set GITHUB_TOKEN for a higher limit"
            return DiscoverError(f"GitHub API rate limit exhausted{when} (HTTP {err.code} on {path}){hint}")
        return DiscoverError(f"GET {self.base}{path}: HTTP {err.code} {message or err.reason}")


def _pinned_commit(api: _Api, full_name: str, branch: str, pushed_before: str | None) -> str | None:
    params: dict[str, str | int] = {"sha": branch, "per_page": 1}
    if pushed_before:
        params["until"] = pushed_before
    try:
        commits = api.get(f"/repos/{full_name}/commits", params)
    except DiscoverError as err:
        if "HTTP 409" in str(err) or "HTTP 404" in str(err):  # empty or vanished since the search ran
            return None
        raise
    if not isinstance(commits, list) or not commits:
        return None  # no commit before the date
    return commits[0]["sha"]


def discover(
    lang: str,
    *,
    token: str | None = None,
    api_url: str = "https://api.github.com",
    min_stars: int = 0,
    limit: int = 100,
    pushed_before: str | None = None,
    per_page: int = 100,
    timeout: float = 30,
) -> list[str]:
    """Manifest lines ``owner/name@<commit>`` for the most-starred repositories of ``lang``.

    ``pushed_before`` (an ISO date) restricts the search to repositories created before it and pins each to
    its last commit before it; without it, each is pinned to the current head of its default branch.
    """
    from datatrove.utils.logging import logger

    if lang not in GITHUB_LANGUAGES:
        raise ValueError(f"no GitHub language for {lang!r} (known: {', '.join(sorted(GITHUB_LANGUAGES))})")
    token = token or os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    api = _Api(api_url, token, timeout)
    query = f"language:{GITHUB_LANGUAGES[lang]} stars:>={min_stars}"
    if pushed_before:
        query += f" created:<{pushed_before}"
    per_page = max(1, min(per_page, 100, limit))

    lines: list[str] = []
    page = 1
    while len(lines) < limit and (page - 1) * per_page < _SEARCH_RESULT_CAP:
        result = api.get(
            "/search/repositories",
            {"q": query, "sort": "stars", "order": "desc", "per_page": per_page, "page": page},
        )
        if not isinstance(result, dict) or not isinstance(result.get("items"), list):
            raise DiscoverError(f"GitHub search for {query!r} returned no item list")
        items = result["items"]
        if result.get("incomplete_results"):
            logger.warning(f"GitHub search for {query!r} timed out server-side; page {page} may be incomplete")
        for item in items:
            if len(lines) >= limit:
                break
            full_name = item["full_name"]
            sha = _pinned_commit(api, full_name, item.get("default_branch") or "HEAD", pushed_before)
            if sha is None:
                logger.warning(f"{full_name}: no commit to pin (empty repository or none before {pushed_before})")
                continue
            lines.append(f"{full_name}@{sha}")
        if len(items) < per_page:
            break
        page += 1
    return lines
