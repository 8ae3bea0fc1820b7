"""Upload a carded build to a Hugging Face dataset repository, in resumable batches.

The remote tree is listed first and every local file compared with it (LFS files by sha256, small files by
git blob id), so a re-run after an interruption, or a publish of an unchanged build, sends nothing that is
already there; `dry_run` stops after that comparison. What is left goes in commits of at most `batch_files`
files / `batch_bytes` bytes through `HfApi.create_commit`: each commit is atomic on the Hub, so an interrupted
run leaves whole batches behind and the next run continues from there. Data goes first and the card last, so
the repository never shows a card whose configs point at files that are not there yet.

`HfApi.upload_folder`/`upload_large_folder` are not used: in huggingface_hub 2.x they only speak the Xet
protocol when hf_xet is installed and cannot compare against the remote before uploading; `create_commit`
keeps the choice of transfer (Xet or git-LFS) open, which servers without Xet storage need.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from proofpile.errors import ProofpileError
from proofpile.publish.stats import StatsError, find_pack, load_manifest, manifest_shape
from proofpile.shards import sha256_file

#: uploaded besides `data/`; never `_work/` (clones, logs, per-task files) nor anything not listed here
TOP_FILES = ("manifest.json",)
CARD = "README.md"
#: seconds to connect, and between two bytes read or written; huggingface_hub itself waits forever
DEFAULT_TIMEOUT = 60.0


class PublishError(ProofpileError):
    """Anything that stops a publish, as one line for the terminal."""


@dataclass
class LocalFile:
    path_in_repo: str
    local: Path
    size: int
    sha256: str


@dataclass
class UploadPlan:
    repo_id: str
    revision: str
    files: list[LocalFile]
    new: list[LocalFile] = field(default_factory=list)
    changed: list[LocalFile] = field(default_factory=list)
    unchanged: list[LocalFile] = field(default_factory=list)
    repo_exists: bool = False

    @property
    def to_upload(self) -> list[LocalFile]:
        return self.new + self.changed


@dataclass
class PublishResult:
    url: str
    plan: UploadPlan
    commits: list[str] = field(default_factory=list)
    dry_run: bool = False


def local_files(directory: str | Path, with_pack: bool = False) -> list[LocalFile]:
    """The files a publish sends, in upload order: shards (checked against the manifest's sha256, so a file
    changed or truncated since the build is refused), the packed token files if asked, the manifest, the
    figures, and the card last."""
    directory = Path(directory)
    try:
        manifest = load_manifest(directory)
        if not (directory / CARD).is_file():
            raise PublishError(f"{directory / CARD}: no dataset card; run `proofpile card {directory}` first")
        with manifest_shape(directory):
            _check_card(directory / CARD, manifest)
    except StatsError as e:
        raise PublishError(str(e)) from None
    files = []
    for entry in sorted(manifest["outputs"]["shards"], key=lambda s: s["path"]):
        path = _inside(directory, entry["path"], "data")
        if not path.is_file():
            raise PublishError(f"{path}: listed in manifest.json but missing")
        digest = sha256_file(path)
        if entry.get("sha256") and digest != entry["sha256"]:
            raise PublishError(f"{path}: sha256 {digest[:12]}… differs from manifest.json's {entry['sha256'][:12]}… "
                               "(changed since the build?)")
        files.append(LocalFile(entry["path"], path, path.stat().st_size, digest))
    if with_pack:
        pack = find_pack(directory, manifest)
        if pack is None:
            raise PublishError(f"{directory}: --with-pack, but the build has no pack (tokens.json) to upload")
        for path in sorted(p for p in pack.rglob("*") if p.is_file() and not p.name.endswith(".tmp")
                           and not p.name.startswith(".")):
            if path.is_symlink():  # a pack writes no links: one there points at a file the pack did not write
                raise PublishError(f"{path}: a symbolic link inside the pack; refusing to upload what it points to")
            rel = path.relative_to(pack).as_posix()
            files.append(_local(f"packed/{rel}", path))
    extra = [directory / name for name in TOP_FILES]
    extra += sorted((directory / "assets").glob("*.png")) if (directory / "assets").is_dir() else []
    files += [_local(p.relative_to(directory).as_posix(), p) for p in extra if p.is_file()]
    files.append(_local(CARD, directory / CARD))
    return files


def _inside(directory: Path, rel: object, top: str) -> Path:
    """`directory/rel` for a manifest entry naming a file below `directory/top`, as a build writes it. Anything
    else (absolute, `..`, a symbolic link on the way) would upload a file the build did not write, perhaps a
    secret, so it is refused."""
    parts = Path(rel).parts if isinstance(rel, str) else ()
    if not parts or parts[0] != top or ".." in parts or Path(rel).is_absolute():
        raise PublishError(f"{directory / 'manifest.json'}: shard path {rel!r} is not a file below {top}/; "
                           "refusing to upload it")
    path = directory
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise PublishError(f"{path}: a symbolic link; a build writes none, refusing to upload what it points to")
    return path


def _check_card(card: Path, manifest: dict) -> None:
    """A card written before a rebuild lists other files in its configs: the Hub would then serve a dataset
    that fails to load (or silently loads fewer rows)."""
    import re

    import yaml

    m = re.match(r"^---\n(.*?)\n---\n", card.read_text(encoding="utf-8"), re.DOTALL)
    try:
        meta = yaml.safe_load(m[1]) if m else None
    except yaml.YAMLError as e:
        raise PublishError(f"{card}: the YAML header does not parse: {e}".splitlines()[0]) from None
    from proofpile.publish.card import SHARDS_MARK, dataset_configs, matching, shards_digest

    if f"{SHARDS_MARK} {shards_digest(manifest)}" not in card.read_text(encoding="utf-8"):
        raise PublishError(f"{card}: written for another set of shards (before a rebuild?); re-run `proofpile card`")

    built = sorted(s["path"] for s in manifest["outputs"]["shards"])

    def selected(configs) -> dict:
        return {(c.get("config_name"), df.get("split")): matching(df.get("path") or [], built)
                for c in configs or [] for df in c.get("data_files") or []}

    # what each config and split of the card selects must be what the build's own configs select
    if selected((meta or {}).get("configs")) != selected(dataset_configs(manifest)):
        raise PublishError(f"{card}: its configs do not select this build's shards (written before a rebuild?); "
                           "re-run `proofpile card`")


def _local(path_in_repo: str, path: Path) -> LocalFile:
    return LocalFile(path_in_repo, path, path.stat().st_size, sha256_file(path))


def git_blob_id(path: Path) -> str:
    """The id git (and the Hub's tree listing) gives a non-LFS file: sha1 of "blob <size>\\0" + content."""
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def plan_upload(api, repo_id: str, files: list[LocalFile], revision: str = "main") -> UploadPlan:
    """Compare the local files with the remote tree at `revision` (an absent repo or branch is empty)."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    plan = UploadPlan(repo_id, revision, files)
    remote = {}
    try:
        api.repo_info(repo_id, repo_type="dataset", revision=revision)
        plan.repo_exists = True
        for entry in api.list_repo_tree(repo_id, repo_type="dataset", revision=revision, recursive=True):
            if hasattr(entry, "blob_id"):
                remote[entry.path] = entry
    except RevisionNotFoundError:
        plan.repo_exists = True
    except RepositoryNotFoundError:
        pass
    for f in files:
        r = remote.get(f.path_in_repo)
        if r is None:
            plan.new.append(f)
        elif (r.lfs.sha256 == f.sha256) if r.lfs is not None else (r.size == f.size and r.blob_id == git_blob_id(f.local)):
            plan.unchanged.append(f)
        else:
            plan.changed.append(f)
    return plan


def batches(files: list[LocalFile], max_files: int, max_bytes: int) -> list[list[LocalFile]]:
    out: list[list[LocalFile]] = []
    size = 0
    for f in files:
        if not out or len(out[-1]) >= max_files or (size + f.size > max_bytes and out[-1]):
            out.append([])
            size = 0
        out[-1].append(f)
        size += f.size
    return out


def publish(
    directory: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    endpoint: str | None = None,
    token: str | None = None,
    with_pack: bool = False,
    batch_files: int = 100,
    batch_bytes: int = 8 << 30,
    transfer: str = "auto",
    progress_bars: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    log=lambda msg: None,
) -> PublishResult:
    """Create the dataset repo if needed and upload what differs. `transfer` is "xet", "lfs" or "auto" (Xet
    when hf_xet is installed and the server offers it, else git-LFS). `timeout` bounds each connect and each
    wait for the server (not a whole upload). Raises PublishError (one line)."""
    from huggingface_hub import HfApi, get_token

    if "/" not in repo_id or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"--repo {repo_id!r}: expected ORG/NAME")
    if transfer not in ("auto", "xet", "lfs"):
        raise PublishError(f"transfer {transfer!r}: expected auto, xet or lfs")
    if not timeout > 0:
        raise PublishError(f"timeout {timeout!r}: expected a positive number of seconds")
    files = local_files(directory, with_pack=with_pack)
    token = token or get_token()
    if token is None and not dry_run:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    api = HfApi(endpoint=endpoint, token=token)
    rev = revision or "main"
    url = f"{api.endpoint}/datasets/{repo_id}" + (f"/tree/{rev}" if revision and revision != "main" else "")
    progress = {"done": 0, "total": 0}
    with _errors(api.endpoint, repo_id, progress, timeout), _http_timeout(timeout):
        if dry_run:
            return PublishResult(url, plan_upload(api, repo_id, files, rev), dry_run=True)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if rev != "main":
            api.create_branch(repo_id, repo_type="dataset", branch=rev, exist_ok=True)
        plan = plan_upload(api, repo_id, files, rev)
        result = PublishResult(url, plan)
        todo = batches(plan.to_upload, batch_files, batch_bytes)
        progress["total"] = len(plan.to_upload)
        use_lfs = transfer == "lfs" or (transfer == "auto" and not _xet_offered(api, repo_id, rev, token))
        with _lfs_only(use_lfs), _progress_bars(progress_bars):
            for i, batch in enumerate(todo, 1):
                result.commits.append(_commit(api, repo_id, rev, batch, f"proofpile publish: part {i}/{len(todo)}"))
                progress["done"] += len(batch)
                log(f"committed part {i}/{len(todo)}: {len(batch)} files, {sum(f.size for f in batch):,} bytes")
    return result


def _commit(api, repo_id: str, revision: str, batch: list[LocalFile], message: str) -> str:
    from huggingface_hub import CommitOperationAdd

    ops = [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.local)) for f in batch]
    info = api.create_commit(repo_id, ops, commit_message=message, repo_type="dataset", revision=revision)
    return info.oid


def _xet_offered(api, repo_id: str, revision: str, token: str | None) -> bool:
    """Whether hf_xet is installed and the server hands out Xet write tokens for this repo (the Hub does; a
    mirror or test server may speak only git-LFS)."""
    from huggingface_hub.utils import get_session, hf_raise_for_status
    from huggingface_hub.utils._runtime import is_xet_available

    if not is_xet_available():
        return False
    r = get_session().get(f"{api.endpoint}/api/datasets/{repo_id}/xet-write-token/{revision}",
                          headers=api._build_hf_headers(token=token))
    if r.status_code in (404, 405, 501):
        return False
    hf_raise_for_status(r)
    return True


@contextlib.contextmanager
def _http_timeout(seconds: float):
    """huggingface_hub's shared HTTP client is made with no timeout at all: a server that accepts a connection
    and never answers hangs the publish forever. That client is public (`get_session`) and so is its timeout."""
    import httpx2
    from huggingface_hub.utils import get_session

    client = get_session()
    saved = client.timeout
    client.timeout = httpx2.Timeout(seconds)
    try:
        yield
    finally:
        client.timeout = saved


@contextlib.contextmanager
def _lfs_only(enabled: bool):
    """huggingface_hub picks Xet whenever hf_xet is importable; its own switch is read at call time."""
    from huggingface_hub import constants

    saved = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = saved or enabled
    try:
        yield
    finally:
        constants.HF_HUB_DISABLE_XET = saved


@contextlib.contextmanager
def _progress_bars(enabled: bool):
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    was_disabled = are_progress_bars_disabled()
    if not enabled:
        disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()


@contextlib.contextmanager
def _errors(endpoint: str, repo_id: str, progress: dict, timeout: float = DEFAULT_TIMEOUT):
    """huggingface_hub's exceptions (and the network's, often wrapped) as one line that says what to do."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        yield
    except PublishError:
        raise
    except Exception as e:
        root = e
        while root.__cause__ is not None and not isinstance(root, (HfHubHTTPError, httpx2.TransportError)):
            root = root.__cause__
        where = f"{endpoint} (datasets/{repo_id})"
        if progress["total"]:
            where += f", {progress['done']} of {progress['total']} files committed"
        if isinstance(root, HfHubHTTPError):
            status = root.response.status_code if root.response is not None else None
            if status == 401:
                raise PublishError(f"{where}: 401 Unauthorized: the token is missing, invalid or expired "
                                   "(HF_TOKEN or `hf auth login`)") from None
            if status == 403:
                raise PublishError(f"{where}: 403 Forbidden: this token may not write to datasets/{repo_id} "
                                   "(a write token, and membership of the organisation, are needed)") from None
            if isinstance(root, RepositoryNotFoundError):
                raise PublishError(f"{where}: repository not found or not visible with this token") from None
            msg = str(root).splitlines()[0] if str(root) else type(root).__name__
            raise PublishError(f"{where}: {msg}; re-run to resume") from None
        if isinstance(root, httpx2.TimeoutException):
            resume = "; committed batches are kept, re-run to resume" if progress["total"] else ""
            raise PublishError(f"{where}: no answer within {timeout:g} s ({type(root).__name__}; --timeout sets "
                               f"the limit){resume}") from None
        if isinstance(root, httpx2.TransportError):
            hint = ("committed batches are kept, re-run the same command to resume" if progress["total"]
                    else "is the endpoint right and reachable?")
            raise PublishError(f"{where}: network error ({type(root).__name__}: {root or 'connection lost'}); "
                               f"{hint}") from None
        if isinstance(root, json.JSONDecodeError) or _client_choked_on_answer(root):
            # an HTML page from a proxy or a captive portal (JSONDecodeError), or JSON of another shape
            raise PublishError(f"{where}: the server's answer is not what a Hugging Face Hub sends "
                               f"({type(root).__name__}: {str(root).splitlines()[0] if str(root) else '?'}); "
                               "is --endpoint (or HF_ENDPOINT) the Hub's URL?") from None
        raise


def _client_choked_on_answer(e: BaseException) -> bool:
    """A KeyError/TypeError/ValueError raised inside huggingface_hub itself: it read an answer that was JSON
    but not the Hub's (`{}`, `[]`, `null`). The same error raised in proofpile's own code is a bug and stays
    one."""
    import os

    import huggingface_hub

    if not isinstance(e, (KeyError, TypeError, AttributeError, IndexError, ValueError)):
        return False
    tb, last = e.__traceback__, None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_filename, tb.tb_next
    return last is not None and last.startswith(os.path.dirname(huggingface_hub.__file__) + os.sep)
