"""discover() against a real HTTP server on 127.0.0.1 that answers like the GitHub REST API."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from proofpile.sources.discover import DiscoverError, discover

REPOS = [
    {"full_name": "alice/flt", "default_branch": "main", "stargazers_count": 900},
    {"full_name": "bob/topology", "default_branch": "master", "stargazers_count": 500},
    {"full_name": "carol/empty", "default_branch": "main", "stargazers_count": 300},
    {"full_name": "dan/new-stuff", "default_branch": "release/v1", "stargazers_count": 200},
    {"full_name": "erin/tiny", "default_branch": "main", "stargazers_count": 3},
]


def sha_for(name: str, until: str | None) -> str:
    return hashlib.sha1(f"{name}\0{until}".encode()).hexdigest()


class FakeGitHub(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict, dict]] = []
    rate_limited = False

    def log_message(self, *args):  # keep pytest output clean
        pass

    def reply(self, status: int, body, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append((url.path, q, dict(self.headers)))
        if type(self).rate_limited:
            return self.reply(
                403,
                {"message": "API rate limit exceeded for 127.0.0.1.\n(But here's the good news: ...)"},
                {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"},
            )
        if url.path == "/search/repositories":
            terms = dict(t.split(":", 1) for t in q["q"].split())
            if terms.get("language") != "Lean":
                return self.reply(200, {"total_count": 0, "items": []})
            stars = int(terms["stars"].removeprefix(">="))
            hits = [r for r in REPOS if r["stargazers_count"] >= stars]
            per_page, page = int(q["per_page"]), int(q["page"])
            items = hits[(page - 1) * per_page : page * per_page]
            return self.reply(200, {"total_count": len(hits), "incomplete_results": False, "items": items})
        parts = url.path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "repos" and parts[3] == "commits":
            name = f"{parts[1]}/{parts[2]}"
            repo = next((r for r in REPOS if r["full_name"] == name), None)
            if repo is None:
                return self.reply(404, {"message": "Not Found"})
            if name == "carol/empty":
                return self.reply(409, {"message": "Git Repository is empty."})
            assert q["sha"] == repo["default_branch"] and q["per_page"] == "1"
            until = q.get("until")
            if until and name == "dan/new-stuff":
                return self.reply(200, [])  # nothing that old
            return self.reply(200, [{"sha": sha_for(name, until)}])
        return self.reply(404, {"message": "Not Found"})


@pytest.fixture
def api():
    FakeGitHub.requests = []
    FakeGitHub.rate_limited = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_lists_repos_pinned_to_default_branch_head(api, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    lines = discover("lean", api_url=api, min_stars=100)
    assert lines == [
        f"alice/flt@{sha_for('alice/flt', None)}",
        f"bob/topology@{sha_for('bob/topology', None)}",
        f"dan/new-stuff@{sha_for('dan/new-stuff', None)}",
    ]  # carol/empty has no commit to pin, erin/tiny has too few stars
    search = FakeGitHub.requests[0]
    assert search[0] == "/search/repositories"
    assert search[1]["q"] == "language:Lean stars:>=100"
    assert (search[1]["sort"], search[1]["order"]) == ("stars", "desc")
    assert "Authorization" not in search[2] and search[2]["User-Agent"]


def test_paging_limit_token_and_date_pin(api, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "tok123")
    lines = discover("lean", api_url=api, limit=3, per_page=2, pushed_before="2023-06-01")
    # dan/new-stuff has no commit before the date and carol/empty none at all: both dropped, erin fills the gap
    assert lines == [
        f"alice/flt@{sha_for('alice/flt', '2023-06-01')}",
        f"bob/topology@{sha_for('bob/topology', '2023-06-01')}",
        f"erin/tiny@{sha_for('erin/tiny', '2023-06-01')}",
    ]
    searches = [r for r in FakeGitHub.requests if r[0] == "/search/repositories"]
    assert [r[1]["page"] for r in searches] == ["1", "2", "3"]
    assert all(r[1]["q"] == "language:Lean stars:>=0 created:<2023-06-01" for r in searches)
    assert all(r[2]["Authorization"] == "Bearer tok123" for r in FakeGitHub.requests)
    explicit = discover("lean", api_url=api, limit=1, token="other")
    assert len(explicit) == 1 and FakeGitHub.requests[-1][2]["Authorization"] == "Bearer other"


def test_limit_stops_early(api):
    assert len(discover("lean", api_url=api, limit=2, per_page=100)) == 2
    assert FakeGitHub.requests[0][1]["per_page"] == "2"
    assert len(FakeGitHub.requests) == 3  # one search, two commit look-ups


def test_rate_limit_is_one_clear_line(api, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    FakeGitHub.rate_limited = True
    with pytest.raises(DiscoverError) as info:
        discover("lean", api_url=api)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("GitHub API rate limit exhausted until 2023-11-14 22:13:20 UTC")
    assert "GITHUB_TOKEN" in msg


def test_unknown_language_and_unreachable_api():
    with pytest.raises(ValueError, match="brainfuck"):
        discover("brainfuck")
    with pytest.raises(DiscoverError, match="127.0.0.1:9"):
        discover("coq", api_url="http://127.0.0.1:9", timeout=5)
