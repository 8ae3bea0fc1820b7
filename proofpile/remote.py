"""`--out s3://bucket/prefix` (any fsspec URL): build in a local work directory, then upload what changed.

datatrove's steps, pyarrow's writers and the resume logic all work on a local directory, and an object store
has neither rename nor append nor locks; so the build runs unchanged in a local *work directory* and its
outputs are then uploaded, each with one PUT (`proofpile.atomic.put_file`):

1. the ownership marker first, so the prefix is recognisably proofpile's before any data lands there;
2. the data (shards, dropped tables, pack files, figures);
3. last the files that describe the data -- `tokens.json`, `README.md`, and `manifest.json` at the very end --
   so a reader that sees a manifest sees the data it lists. When the data under an existing manifest is about
   to change, that manifest is deleted first and written again at the end.

What was uploaded is recorded (path -> sha256) in `<work>/_work/remote.json`; a re-run uploads only files
whose hash changed, and deletes only objects proofpile itself uploaded that the build no longer has. Objects
it did not upload are never deleted. A prefix that holds objects but no proofpile marker is refused, the rule
`proofpile.outdir` applies to a local --out.

Reading commands (`card`, `stats`, `publish`, `pack`'s input) given a URL first bring the prefix into the
same work directory (`pull`), downloading only what the work directory does not already hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from proofpile.atomic import TMP_SUFFIX, atomic_path, put_file, write_text
from proofpile.outdir import MARKER, OutDirError
from proofpile.shards import sha256_file

STATE = "_work/remote.json"
#: files describing the data, uploaded after it (in this order, manifest.json at the very end)
DESCRIBING = ("tokens.json", "README.md", "manifest.json")
#: the ownership marker a command writes at the top of its output
MARKERS = {"build": MARKER, "pack": ".proofpile-pack"}
_SAVE_EVERY = 2.0  # seconds between writes of the state file during an upload


def is_url(out: str | os.PathLike) -> bool:
    """True for a remote fsspec URL (`s3://`, `gs://`, `memory://`...); `file://` and plain paths are local."""
    protocol, sep, _ = str(out).partition("://")
    return bool(sep) and protocol.isascii() and protocol.replace("+", "").replace("-", "").isalnum() \
        and protocol != "file"


def default_work_dir(url: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "proofpile" / "out" / hashlib.sha256(url.encode()).hexdigest()[:16]


def refuse_url(out: str, command: str) -> None:
    if is_url(out):
        raise OutDirError(f"{out}: `proofpile {command}` writes local directories only for now; "
                          "write to a local --out and copy it")


class RemoteOut:
    """One remote output prefix and the local work directory standing in for it."""

    def __init__(self, url: str, work_dir: str | os.PathLike | None = None, kind: str = "build"):
        from fsspec.core import url_to_fs

        self.url = url.rstrip("/")
        self.kind = kind
        self.marker = MARKERS[kind]
        self.work = Path(work_dir).expanduser().resolve() if work_dir else default_work_dir(self.url)
        try:
            self.fs, self.root = url_to_fs(self.url)
        except ImportError as e:  # fsspec names the package: "Install s3fs to access S3"
            raise OutDirError(f"{self.url}: {(str(e).splitlines() or ['a package is missing'])[0]} "
                              "(for s3://: pip install 'proofpile[s3]')") from None
        self.root = self.root.rstrip("/")
        self._state_path = self.work / STATE

    # ---- state
    def _load(self) -> dict[str, str]:
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if state.get("url") != self.url:
            raise OutDirError(f"{self.work}: work directory of {state.get('url')}, not of {self.url}; "
                              "use another --work-dir")
        return dict(state.get("uploaded", {}))

    def _save(self, uploaded: dict[str, str]) -> None:
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        write_text(self._state_path, json.dumps({"url": self.url, "uploaded": dict(sorted(uploaded.items()))},
                                                indent=1) + "\n")

    def _key(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def _listing(self) -> dict[str, int]:
        """Every object under the prefix: relative path -> size."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        prefix = self.root + "/"
        return {k[len(prefix):]: int(v.get("size") or 0) for k, v in found.items()
                if k.startswith(prefix) and v.get("type", "file") != "directory"}

    # ---- the ownership rule
    def check(self) -> tuple[dict[str, str], dict[str, int]]:
        """Refuse a prefix that holds objects and no proofpile marker, or another command's output; also a work
        directory that stands for another URL. Writes nothing. Returns (what was uploaded before, the listing)."""
        uploaded = self._load()
        listing = self._listing()
        if not listing:
            return uploaded, listing
        if self.marker not in listing:
            other = next((k for k, m in MARKERS.items() if m in listing), None)
            if other is not None:
                raise OutDirError(f"{self.url}: holds the output of `proofpile {other}`, not of "
                                  f"`proofpile {self.kind}`; use a new --out")
            raise OutDirError(f"{self.url}: not empty and not made by proofpile (no {self.marker}); refusing to "
                              "write there, since a re-run deletes what proofpile uploaded: use a new or empty prefix")
        if self.kind == "build":
            try:
                written_by = json.loads(self.fs.cat_file(self._key(self.marker)))["written_by"]
            except (ValueError, KeyError, TypeError):
                written_by = None
            if written_by != "proofpile build":
                raise OutDirError(f"{self.url}: its {self.marker} does not name a proofpile build "
                                  f"({written_by!r}); use a new --out")
        return uploaded, listing

    # ---- upload
    def _local_files(self) -> list[str]:
        """The outputs: everything in the work directory except its `_work/` and temporary files."""
        files = []
        for p in self.work.rglob("*"):
            rel = p.relative_to(self.work).as_posix()
            if p.is_file() and p.parts[len(self.work.parts)] != "_work" and not rel.endswith(TMP_SUFFIX):
                files.append(rel)
        return sorted(files)

    def _order(self, rel: str) -> tuple:
        if rel == self.marker:
            return (0, rel)
        name = rel.rsplit("/", 1)[-1]
        if name in DESCRIBING:
            return (2, DESCRIBING.index(name), rel.count("/") == 0, rel)  # the top manifest is the very last
        return (1, rel)

    def upload(self, log=None) -> dict:
        """Upload what changed since the last upload; delete stale objects of ours. Returns counts."""
        uploaded, listing = self.check()
        local = {rel: sha256_file(self.work / rel) for rel in self._local_files()}
        # sent before with these bytes and still there at that size: skipped (a listing gives no sha256)
        changed = [rel for rel in local if uploaded.get(rel) != local[rel]
                   or listing.get(rel) != (self.work / rel).stat().st_size]
        stale = sorted(rel for rel in uploaded if rel not in local)
        data_moves = any(self._order(rel)[0] == 1 for rel in changed) or bool(stale)
        if data_moves:  # no describing file may stand over data being changed: down first, up again last
            for rel in [r for r in listing if self._order(r)[0] == 2 and (r in uploaded or r in local)]:
                self.fs.rm_file(self._key(rel))
                uploaded.pop(rel, None)
                if rel in local and rel not in changed:
                    changed.append(rel)
        sent = 0
        last_save = time.monotonic()
        try:
            for rel in sorted(changed, key=self._order):
                put_file(self.work / rel, self._key(rel), fs=self.fs)
                uploaded[rel] = local[rel]
                sent += (self.work / rel).stat().st_size
                if log:
                    log(f"uploaded {self.url}/{rel}")
                if time.monotonic() - last_save > _SAVE_EVERY:
                    self._save(uploaded)
                    last_save = time.monotonic()
            for rel in stale:  # after the new manifest: it no longer names them
                if rel in listing:
                    self.fs.rm_file(self._key(rel))
                uploaded.pop(rel)
        finally:
            self._save(uploaded)
        return {"uploaded": len(changed), "bytes": sent, "deleted": len(stale), "unchanged": len(local) - len(changed)}

    # ---- download, for the commands that read an output
    def pull(self) -> Path:
        """Make the work directory hold the prefix's objects; download only those it lacks or holds other
        bytes of (by size, or by the hash recorded when it uploaded them). Returns the work directory."""
        listing = self._listing()
        if self.marker not in listing:  # a dedup output (also marked .proofpile-out) is read like a build's
            raise OutDirError(f"{self.url}: no {self.marker}; not an output of proofpile")
        uploaded = self._load()
        for rel, size in sorted(listing.items()):
            path = self.work / rel
            if rel.split("/", 1)[0] == "_work" or rel.endswith(TMP_SUFFIX):
                continue
            if path.is_file() and path.stat().st_size == size and uploaded.get(rel) == sha256_file(path):
                continue
            with atomic_path(path) as tmp:
                self.fs.get_file(self._key(rel), str(tmp))
            uploaded[rel] = sha256_file(path)
        self._save(uploaded)
        return self.work
