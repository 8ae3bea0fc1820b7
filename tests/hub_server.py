"""A stand-in for the Hugging Face Hub on 127.0.0.1, for testing `proofpile publish` without the network.

It implements only the endpoints huggingface_hub (2.x) calls for a dataset upload over git-LFS, with the
status codes and `X-Error-Code` headers the client turns into its exceptions:

- POST /api/repos/create                                   create a repo (409 when it exists)
- GET  /api/datasets/<repo>[/revision/<rev>]               repo info (404 RepoNotFound / RevisionNotFound)
- GET  /api/datasets/<repo>/tree/<rev>[?recursive=..]      tree listing, paginated with a `Link: rel="next"` header
- POST /api/datasets/<repo>/branch/<branch>                create a branch (409 when it exists)
- GET  /api/datasets/<repo>/xet-write-token/<rev>          404: this server offers no Xet storage, only LFS
- POST /api/validate-yaml                                  the card's YAML header must parse
- POST /api/datasets/<repo>/preupload/<rev>                upload mode per file (binary or large: lfs) + remote oid
- POST /datasets/<repo>.git/info/lfs/objects/batch         LFS batch: an upload action unless the object is stored
- PUT  /lfs/<oid>                                          the LFS object itself (sha256 and size checked)
- POST /api/datasets/<repo>/commit/<rev>                   ndjson commit of regular files and LFS pointers

Everything is kept in memory: `files(repo)` returns what a revision holds, `materialize()` writes it to a
directory. Faults for tests: `forbid = True` answers every write with 403; `drop["commit"] = n` lets n more
commits through and then closes the connection without answering (a server going away mid-upload).
`log` records (method, path) of every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

TOKEN = "hf_test_token"
PAGE = 20  # tree entries per page, small so pagination is exercised


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    def __init__(self):
        self.repos: dict[str, dict] = {}  # repo -> {"private": bool, "branches": {rev: {"sha", "files": {path: entry}}}}
        self.lfs: dict[str, bytes] = {}
        self.log: list[tuple[str, str]] = []
        self.forbid = False
        self.drop: dict[str, int] = {}
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    # -- what the server holds --------------------------------------------------------------------------

    def files(self, repo: str, revision: str = "main") -> dict[str, bytes]:
        branch = self.repos[repo]["branches"][revision]
        return {p: (self.lfs[e["lfs"]] if e.get("lfs") else e["data"]) for p, e in branch["files"].items()}

    def materialize(self, repo: str, dest: Path, revision: str = "main") -> Path:
        for path, data in self.files(repo, revision).items():
            out = dest / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        return dest

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.log if m in ("POST", "PUT") and "validate-yaml" not in p
                and "preupload" not in p and "/info/lfs/" not in p]


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        # -- plumbing ---------------------------------------------------------------------------------

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, body=None, headers: dict | None = None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str | None = None, message: str = "error"):
            self._send(status, {"error": message}, {"X-Error-Code": code} if code else None)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._error(401, message="Invalid credentials in Authorization header")
                return False
            return True

        def _branch(self, repo: str, rev: str):
            if repo not in hub.repos:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            branch = hub.repos[repo]["branches"].get(unquote(rev))
            if branch is None:
                self._error(404, "RevisionNotFound", "Revision not found")
            return branch

        # -- GET --------------------------------------------------------------------------------------

        def do_GET(self):
            url = urlsplit(self.path)
            hub.log.append(("GET", url.path))
            query = parse_qs(url.query)
            if m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?", url.path):
                if (branch := self._branch(m[1], m[2] or "main")) is None:
                    return
                return self._send(200, {"id": m[1], "sha": branch["sha"], "private": hub.repos[m[1]]["private"],
                                        "siblings": [{"rfilename": p} for p in sorted(branch["files"])]})
            if m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)", url.path):
                if (branch := self._branch(m[1], m[2])) is None:
                    return
                return self._tree(m[1], m[2], branch, query)
            if re.fullmatch(r"/api/datasets/[^/]+/[^/]+/xet-write-token/.+", url.path):
                return self._error(404, message="no Xet storage on this server")
            self._error(404, message=f"no route GET {url.path}")

        def _tree(self, repo: str, rev: str, branch: dict, query: dict):
            entries = []
            dirs = set()
            for path in sorted(branch["files"]):
                e = branch["files"][path]
                parts = path.split("/")
                for i in range(1, len(parts)):
                    dirs.add("/".join(parts[:i]))
                item = {"type": "file", "path": path, "size": e["size"], "oid": e["oid"]}
                if e.get("lfs"):
                    item["lfs"] = {"oid": e["lfs"], "size": e["size"], "pointerSize": 134}
                entries.append(item)
            entries += [{"type": "directory", "path": d, "size": 0, "oid": git_blob_id(d.encode())} for d in dirs]
            entries.sort(key=lambda x: x["path"])
            if query.get("recursive", ["false"])[0].lower() != "true":
                entries = [x for x in entries if "/" not in x["path"]]
            start = int(query.get("cursor", ["0"])[0])
            page = entries[start:start + PAGE]
            headers = {}
            if start + PAGE < len(entries):
                nxt = f"{hub.url}/api/datasets/{repo}/tree/{rev}?recursive={query.get('recursive', ['false'])[0]}" \
                      f"&cursor={start + PAGE}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            self._send(200, page, headers)

        # -- PUT: LFS objects -------------------------------------------------------------------------

        def do_PUT(self):
            url = urlsplit(self.path)
            hub.log.append(("PUT", url.path))
            data = self._body()
            if hub.forbid:
                return self._error(403, message="forbidden")
            m = re.fullmatch(r"/lfs/([0-9a-f]{64})", url.path)
            if not m:
                return self._error(404, message=f"no route PUT {url.path}")
            if hashlib.sha256(data).hexdigest() != m[1]:
                return self._error(400, message="sha256 mismatch")
            with hub.lock:
                hub.lfs[m[1]] = data
            self._send(200, {})

        # -- POST -------------------------------------------------------------------------------------

        def do_POST(self):
            url = urlsplit(self.path)
            hub.log.append(("POST", url.path))
            body = self._body()
            if url.path == "/api/validate-yaml":
                return self._validate_yaml(json.loads(body))
            if not self._authorized():
                return
            if hub.forbid:
                return self._error(403, message="You don't have the rights to write to this repository")
            if url.path == "/api/repos/create":
                return self._create(json.loads(body))
            if m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/branch/([^/]+)", url.path):
                if (main := self._branch(m[1], "main")) is None:
                    return
                branches = hub.repos[m[1]]["branches"]
                if unquote(m[2]) in branches:
                    return self._error(409, message="branch exists")
                branches[unquote(m[2])] = {"sha": main["sha"], "files": dict(main["files"])}
                return self._send(200, {})
            if m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)", url.path):
                if (branch := self._branch(m[1], m[2])) is None:
                    return
                return self._preupload(branch, json.loads(body))
            if m := re.fullmatch(r"/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch", url.path):
                if m[1] not in hub.repos:
                    return self._error(404, "RepoNotFound", "Repository not found")
                return self._lfs_batch(json.loads(body))
            if m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/commit/([^/]+)", url.path):
                if "commit" in hub.drop:
                    if hub.drop["commit"] <= 0:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    hub.drop["commit"] -= 1
                if (branch := self._branch(m[1], m[2])) is None:
                    return
                return self._commit(m[1], unquote(m[2]), branch, body)
            self._error(404, message=f"no route POST {url.path}")

        def _validate_yaml(self, payload: dict):
            text = payload.get("content", "")
            head = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
            try:
                if head:
                    yaml.safe_load(head[1])
            except yaml.YAMLError as e:
                return self._send(400, {"errors": [{"message": str(e)}]})
            self._send(200, {"errors": [], "warnings": []})

        def _create(self, payload: dict):
            repo = f"{payload.get('organization')}/{payload['name']}"
            if payload.get("type") != "dataset":
                return self._error(400, message="this stand-in only hosts datasets")
            with hub.lock:
                if repo in hub.repos:  # the Hub's 409 carries the url too; create_repo(exist_ok=True) reads it
                    return self._send(409, {"error": "You already created this dataset repo",
                                            "url": f"{hub.url}/datasets/{repo}"})
                sha = hashlib.sha1(repo.encode()).hexdigest()
                hub.repos[repo] = {"private": payload.get("visibility") == "private",
                                   "branches": {"main": {"sha": sha, "files": {}}}}
            self._send(200, {"url": f"{hub.url}/datasets/{repo}"})

        def _preupload(self, branch: dict, payload: dict):
            out = []
            for f in payload["files"]:
                sample = base64.b64decode(f["sample"])
                lfs = f["size"] > 10_000_000 or b"\0" in sample or f["path"].endswith((".parquet", ".png", ".bin", ".idx"))
                remote = branch["files"].get(f["path"])
                item = {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
                if remote is not None:
                    item["oid"] = remote["lfs"] or remote["oid"]
                out.append(item)
            self._send(200, {"files": out, "commitOid": branch["sha"]})

        def _lfs_batch(self, payload: dict):
            objects = []
            for o in payload["objects"]:
                item = {"oid": o["oid"], "size": o["size"], "authenticated": True}
                if o["oid"] not in hub.lfs:
                    item["actions"] = {"upload": {"href": f"{hub.url}/lfs/{o['oid']}", "header": {}}}
                objects.append(item)
            self._send(200, {"transfer": "basic", "objects": objects})

        def _commit(self, repo: str, rev: str, branch: dict, body: bytes):
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            changes = {}
            for item in lines[1:]:
                v = item["value"]
                if item["key"] == "file":
                    data = base64.b64decode(v["content"])
                    changes[v["path"]] = {"size": len(data), "oid": git_blob_id(data), "lfs": None, "data": data}
                elif item["key"] == "lfsFile":
                    if v["oid"] not in hub.lfs:
                        return self._error(422, message=f"LFS object {v['oid']} of {v['path']} was never uploaded")
                    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{v['oid']}\nsize {v['size']}\n"
                    changes[v["path"]] = {"size": v["size"], "oid": git_blob_id(pointer.encode()), "lfs": v["oid"]}
                else:
                    return self._error(400, message=f"unsupported commit operation {item['key']}")
            with hub.lock:
                branch["files"].update(changes)
                branch["sha"] = hashlib.sha1((branch["sha"] + json.dumps(sorted(changes))).encode()).hexdigest()
            self._send(200, {"commitUrl": f"{hub.url}/datasets/{repo}/commit/{branch['sha']}",
                             "commitOid": branch["sha"], "pullRequestUrl": None})

    return Handler
