"""Read source files of pinned git repositories straight out of git's object store.

Why no checkout: a checkout runs code we do not control (hooks, LFS smudge and other filters, fsmonitor) and
writes symlinks that a naive reader would follow out of the repository. Fetching one commit into a bare
repository and reading blobs with ``git cat-file`` touches nothing but git's own data, so a hostile repository
can at worst waste bandwidth, and that is bounded by a size cap checked while the download runs.

Why the git CLI and not a library: it speaks every transport (https, ssh, file) with the user's own proxy
settings, and fetching a single commit by id with ``--depth 1`` is one command.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.atomic import write_text
from proofpile.documents import COMMIT, LANG, PATH, REPO, SOURCE, SUBSET, URL, loggable, stable_id
from proofpile.errors import ProofpileError
from proofpile.failed_inputs import TaskFailures
from proofpile.redact import redact_text, redact_url
from proofpile.sources.repo_manifest import RepoSpec

_SYMLINK_MODE = "120000"
_GITLINK_MODE = "160000"
_PINNED_REF = "refs/proofpile/pinned"
_COMPLETE_MARKER = "proofpile-complete"  # written last: a clone without it was interrupted and is redone
_BINARY_PROBE = 8192
_FULL_SHA = re.compile(r"[0-9a-f]{40}")

# Settings that make git refuse to run anything from the fetched repository or to ask a human for anything.
_GIT_CONFIG = (
    "core.hooksPath=/dev/null",
    "credential.helper=",
    "protocol.file.allow=always",
    # for file:// git serves the fetch itself; protocol v2 accepts any commit id, v0 only ref tips without this
    "uploadpack.allowAnySHA1InWant=true",
    "core.fsmonitor=false",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "advice.detachedHead=false",
)
# set by git when we run inside a hook; they would point our commands at someone else's repository
_INHERITED_GIT_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)


class RepoError(ProofpileError, RuntimeError):
    """One repository could not be used; the message is one line naming it, safe to log and move on.
    `transient`: the network or the server failed (timeout, refused connection, HTTP 5xx), not the repository,
    so a resumed build tries it again."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


#: git's words for a failure of the network or the server rather than of the repository or the request
_TRANSIENT_GIT = re.compile(
    r"could not resolve host|failed to connect|connection (refused|reset|timed out)|timed out|"
    r"operation too slow|early eof|rpc failed|remote end hung up|"
    r"returned error: (5\d\d|429|408)|(error|status):? (5\d\d|429)|temporary failure|network is unreachable",
    re.I,
)


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    data: bytes


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str  # symlink | submodule | too_large


@dataclass
class FetchedRepo:
    spec: RepoSpec
    git_dir: Path
    commit: str  # full 40-hex id actually read, also for unpinned specs
    size_bytes: int  # sum of blob sizes in the commit's tree

    def remove(self) -> None:
        # the marker first: a removal cut short (a killed task) must not leave a clone that looks complete and
        # lacks objects, which the next run would reuse and read fewer files from
        (self.git_dir / _COMPLETE_MARKER).unlink(missing_ok=True)
        shutil.rmtree(self.git_dir, ignore_errors=True)


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_GIT_VARS}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="true",  # answers every prompt with an empty string, so auth fails instead of waiting
        SSH_ASKPASS="true",
        GCM_INTERACTIVE="never",
        GIT_LFS_SKIP_SMUDGE="1",
        GIT_CONFIG_NOSYSTEM="1",
        LC_ALL="C",  # stable English messages to cut error lines from
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def _git_argv(git_dir: Path | None, *args: str) -> list[str]:
    argv = ["git"]
    for setting in _GIT_CONFIG:
        argv += ["-c", setting]
    if git_dir is not None:
        argv += ["--git-dir", str(git_dir)]
    return argv + list(args)


def _last_meaningful_line(stderr: str) -> str:
    """git explains one failure in several lines; the first fatal/error line is the cause, the rest advice."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        for prefix in ("fatal: ", "error: "):
            if ln.startswith(prefix):
                return ln[len(prefix) :]
    return lines[-1] if lines else "git failed without a message"


def _du(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:  # temporary pack files come and go while git runs
                pass
    return total


class _Git:
    """Runs git for one repository and turns every failure into a one-line RepoError."""

    def __init__(self, spec: RepoSpec, git_dir: Path, timeout: float):
        self.spec, self.git_dir, self.timeout = spec, git_dir, timeout
        self.label = f"{loggable(spec.name)} ({loggable(redact_url(spec.url))}@{spec.commit or 'HEAD'})"

    def error(self, problem: str, transient: bool = False) -> RepoError:
        message = loggable(redact_text(f"{self.label}: {problem}".replace("\n", " ")))
        return RepoError(message, transient)

    def run(self, *args: str, watch_bytes: int | None = None, check: bool = True) -> tuple[int, bytes, str]:
        """Run one git command with the deadline; ``watch_bytes`` kills it once git_dir grows past that size."""
        deadline = time.monotonic() + self.timeout
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            # files, not pipes: a chatty git never blocks on a full pipe while we poll it
            proc = subprocess.Popen(
                _git_argv(self.git_dir, *args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=_git_env(),
                start_new_session=True,  # so a timeout kills git's helpers (remote-https, upload-pack) too
            )
            killed_for = None
            while True:
                try:
                    proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                transient = False
                if time.monotonic() > deadline:
                    killed_for, transient = f"git {args[0]} timed out after {self.timeout:g} s", True
                elif watch_bytes is not None and (size := _du(self.git_dir)) > watch_bytes:
                    killed_for = f"repository download passed {_mb(size)}, over the cap"
                if killed_for:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
                    raise self.error(killed_for, transient)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read().decode("utf-8", "replace")
        if check and proc.returncode != 0:
            problem = _last_meaningful_line(stderr)
            if "not our ref" in problem or "couldn't find remote ref" in problem:
                problem = f"commit not found on the remote ({problem})"
            raise self.error(problem, bool(_TRANSIENT_GIT.search(stderr)))
        return proc.returncode, stdout, stderr


def _clone_dir(spec: RepoSpec, workdir: Path) -> Path:
    digest = hashlib.sha1(f"{spec.url}\0{spec.commit or 'HEAD'}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", spec.name)[:60]
    return workdir / f"{readable}-{digest}"


def _ls_tree(git: _Git, commit: str) -> list[tuple[str, str, str, int | None, str]]:
    """(mode, type, sha, size or None, path) for every entry of the commit's tree, recursively."""
    _, out, _ = git.run("ls-tree", "-r", "-l", "-z", "--full-tree", commit)
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, sha, size = meta.decode("ascii").split()
        # git paths are bytes; a non-UTF-8 name still needs a stable, printable form for ids and metadata
        path = raw_path.decode("utf-8", "backslashreplace")
        entries.append((mode, kind, sha, None if size == "-" else int(size), path))
    return entries


def _tree_bytes(git: _Git, commit: str) -> int:
    return sum(size or 0 for mode, kind, _, size, _ in _ls_tree(git, commit) if kind == "blob")


def _fetch_into(git: _Git, spec: RepoSpec, watch_bytes: int) -> str:
    """Fetch the wanted commit into the bare repository and return its full id."""
    commit = spec.commit.lower() if spec.commit else None

    def shallow(source: str) -> None:
        refspec = f"+{source}:{_PINNED_REF}"
        git.run("fetch", "--quiet", "--depth", "1", "--no-tags", "--", spec.url, refspec, watch_bytes=watch_bytes)

    if commit is None:
        shallow("HEAD")
    elif _FULL_SHA.fullmatch(commit):
        shallow(commit)
    else:
        # A server only accepts full ids in a fetch. If the short id is a branch or tag tip we learn the full id
        # from ls-remote; otherwise the whole history has to come down so git can expand the prefix.
        _, out, _ = git.run("ls-remote", "--", spec.url)
        tips = {line.split()[0] for line in out.decode("utf-8", "replace").splitlines() if line.strip()}
        matches = {sha for sha in tips if sha.startswith(commit)}
        if len(matches) == 1:
            shallow(matches.pop())
        else:
            everything = ("+refs/heads/*:refs/proofpile/heads/*", "+refs/tags/*:refs/proofpile/tags/*")
            git.run("fetch", "--quiet", "--no-tags", "--", spec.url, *everything, watch_bytes=watch_bytes)
            rc, out, _ = git.run("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", check=False)
            if rc != 0:
                raise git.error(f"commit {commit} not found (or ambiguous) in any branch or tag")
            git.run("update-ref", _PINNED_REF, out.decode().strip())
    rc, out, _ = git.run("rev-parse", "--verify", "--quiet", f"{_PINNED_REF}^{{commit}}", check=False)
    if rc != 0:
        raise git.error("fetched object is not a commit")
    return out.decode().strip()


def fetch_repo(spec: RepoSpec, workdir: Path, max_repo_bytes: int = 2 * 2**30, timeout: float = 600) -> FetchedRepo:
    """Bring exactly ``spec.commit`` (or the remote HEAD) into a bare repository under ``workdir``.

    A complete clone left by an earlier run is reused, so a resumed build does not download again.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    git_dir = _clone_dir(spec, workdir)
    git = _Git(spec, git_dir, timeout)
    marker = git_dir / _COMPLETE_MARKER
    if spec.url.startswith("-"):  # `--` already keeps git from parsing it; such a "URL" is a mistake or an attack
        raise git.error("URL starts with '-' (git would read it as an option); refused")

    if marker.is_file():
        commit = marker.read_text().strip()
        rc, _, _ = git.run("cat-file", "-e", f"{commit}^{{commit}}", check=False)
        if rc == 0 and _FULL_SHA.fullmatch(commit):
            size = _tree_bytes(git, commit)
            if size > max_repo_bytes:  # the cap may have been lowered since that run
                raise git.error(f"repository is {_mb(size)}, over the cap of {_mb(max_repo_bytes)}")
            return FetchedRepo(spec, git_dir, commit, size)
    if git_dir.exists():
        shutil.rmtree(git_dir)

    try:
        git_dir.mkdir(parents=True)
        git.run("init", "--quiet", "--bare", "--template=", str(git_dir))
        # compressed pack on disk is at most about the raw tree size; the slack avoids killing borderline repos
        watch = max_repo_bytes + max(max_repo_bytes // 10, 2**20)
        commit = _fetch_into(git, spec, watch)
        size = _tree_bytes(git, commit)
        if size > max_repo_bytes:
            raise git.error(f"repository is {_mb(size)}, over the cap of {_mb(max_repo_bytes)}")
        marker.write_text(commit + "\n")
    except BaseException:
        shutil.rmtree(git_dir, ignore_errors=True)
        raise
    return FetchedRepo(spec, git_dir, commit, size)


def _wanted(path: str, extensions: tuple[str, ...]) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(name.endswith(ext) and len(name) > len(ext) for ext in extensions)


def iter_repo_files(
    repo: FetchedRepo, extensions: tuple[str, ...], max_file_bytes: int
) -> Iterator[RepoFile | SkippedFile]:
    """Files of the commit whose name ends with one of ``extensions``, by path; nothing is ever checked out.

    Submodules and symlinks are reported whatever their name: a submodule may hold exactly the code we want
    (a vendored mathlib) and a link's name need not carry its target's extension, so the counts tell the user
    what was not followed. Their contents are never read.
    """
    if not extensions:
        raise ValueError("iter_repo_files needs at least one extension")
    git = _Git(repo.spec, repo.git_dir, timeout=600)
    proc: subprocess.Popen | None = None  # started at the first blob, so repositories with none spawn nothing
    try:
        for mode, kind, sha, size, path in sorted(_ls_tree(git, repo.commit), key=lambda e: e[4]):
            if mode == _GITLINK_MODE:
                yield SkippedFile(path, "submodule")
            elif mode == _SYMLINK_MODE:
                yield SkippedFile(path, "symlink")
            elif kind != "blob" or not _wanted(path, extensions):
                continue
            elif size is not None and size > max_file_bytes:
                yield SkippedFile(path, "too_large")
            else:
                if proc is None:
                    proc = subprocess.Popen(
                        _git_argv(repo.git_dir, "cat-file", "--batch"),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        env=_git_env(),
                    )
                # one request, one answer: never more than one blob in flight, so the pipes cannot deadlock
                proc.stdin.write(sha.encode() + b"\n")
                proc.stdin.flush()
                header = proc.stdout.readline().split()
                if len(header) != 3 or header[1] != b"blob":
                    raise git.error(f"cannot read blob {sha} for {loggable(path)}")
                data = proc.stdout.read(int(header[2]))
                if len(data) != int(header[2]) or proc.stdout.read(1) != b"\n":
                    raise git.error(f"blob {sha} for {loggable(path)} ended early")
                yield RepoFile(path, len(data), data)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
            proc.stdin.close()
            proc.stdout.close()


class GitHubReader(PipelineStep):
    """Documents from the source files of pinned repositories; a repository that fails is counted and skipped."""

    type = "📖 - READER"
    name = "github repos"

    def __init__(
        self,
        repos: list[RepoSpec],
        extensions: dict[str, tuple[str, ...]],
        workdir: str,
        subset: str = "algebraic-stack",
        max_repo_bytes: int = 2 * 2**30,
        max_file_bytes: int = 1_048_575 * 2,
        keep_clones: bool = False,
        timeout: float = 600,
        report_dir: str | None = None,
        failed_dir: str | None = None,
    ):
        """`report_dir`: where each task writes one JSON line per repository (resolved commit, status, error),
        so a run manifest can say exactly which inputs went in. `failed_dir`: where each task lists the
        repositories that failed transiently, for the next run to retry (`proofpile.failed_inputs`)."""
        super().__init__()
        missing = sorted({r.lang for r in repos} - {lang for lang, exts in extensions.items() if exts})
        if missing:
            # without extensions a language would silently yield nothing; say so before any download
            raise ValueError(f"no file extensions configured for language(s): {', '.join(missing)}")
        self.repos = list(repos)
        self.extensions = {lang: tuple(exts) for lang, exts in extensions.items()}
        self.workdir = workdir
        self.subset = subset
        self.max_repo_bytes = max_repo_bytes
        self.max_file_bytes = max_file_bytes
        self.keep_clones = keep_clones
        self.timeout = timeout
        self.report_dir = report_dir
        self.failed_dir = failed_dir

    def _document(self, repo: FetchedRepo, f: RepoFile) -> Document | None:
        spec = repo.spec
        from datatrove.utils.logging import logger

        if b"\0" in f.data[:_BINARY_PROBE]:
            where = f"{loggable(spec.name)}@{repo.commit}:{loggable(f.path)}"
            logger.warning(f"{where}: binary content (NUL bytes), skipped")
            self.stat_update("skipped_binary")
            return None
        try:
            text = f.data.decode("utf-8")
        except UnicodeDecodeError as err:
            logger.warning(f"{loggable(spec.name)}@{repo.commit}:{loggable(f.path)}: invalid UTF-8 at byte {err.start}")
            self.stat_update("skipped_invalid_utf8")
            return None
        if text.startswith("\ufeff"):
            text = text[1:]
        return Document(
            text=text,
            id=stable_id("github", spec.name, repo.commit, f.path),
            metadata={
                SOURCE: "github",
                SUBSET: self.subset,
                LANG: spec.lang,
                REPO: spec.name,
                URL: redact_url(spec.url),
                COMMIT: repo.commit,
                PATH: f.path,
                "size_bytes": f.size,
            },
        )

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from datatrove.utils.logging import logger

        if data:
            yield from data
        if shutil.which("git") is None:
            raise RuntimeError("GitHubReader needs the git command line tool on PATH")
        reports: list[dict] = []
        failures = TaskFailures(self, self.failed_dir, rank)
        for spec in self.repos[rank::world_size]:
            report = {"name": spec.name, "url": redact_url(spec.url), "lang": spec.lang, "pinned": spec.commit}
            reports.append(report)
            try:
                with self.track_time("repo"):
                    repo = fetch_repo(spec, Path(self.workdir), self.max_repo_bytes, self.timeout)
            except (RepoError, OSError, ValueError) as err:  # one repository's failure costs that repository
                err = _as_repo_error(spec, err)
                if err.transient:
                    logger.warning(f"{err}; retried by the next run into this --out")
                    failures.add(redact_url(spec.url))
                else:
                    logger.warning(str(err))
                    self.stat_update("repo_failed")
                report.update(status="failed", error=str(err), transient=err.transient)
                continue
            self.stat_update("repos_fetched")
            report.update(status="ok", commit=repo.commit, size_bytes=repo.size_bytes, documents=0)
            try:
                for f in iter_repo_files(repo, self.extensions[spec.lang], self.max_file_bytes):
                    if isinstance(f, SkippedFile):
                        self.stat_update(f"skipped_{f.reason}")
                        continue
                    doc = self._document(repo, f)
                    if doc is None:
                        continue
                    self.stat_update("documents")
                    report["documents"] += 1
                    self.update_doc_stats(doc)
                    yield doc
            except (RepoError, OSError, ValueError) as err:  # the object store went bad mid-read (git died: a
                err = _as_repo_error(spec, err)  # BrokenPipeError; a garbled answer): lose this repository only
                logger.warning(str(err))
                self.stat_update("repo_failed")
                report.update(status="failed", error=str(err))
            finally:
                if not self.keep_clones:
                    repo.remove()
        if self.report_dir:
            _write_report(Path(self.report_dir) / f"{rank:05d}.jsonl", reports)
        failures.close()


def _as_repo_error(spec: RepoSpec, err: Exception) -> RepoError:
    """A RepoError as is; anything else a repository made git or the disk raise, as one line naming it."""
    if isinstance(err, RepoError):
        return err
    problem = (str(err).splitlines() or [""])[0][:200]
    return RepoError(loggable(redact_text(f"{spec.name} ({redact_url(spec.url)}): {type(err).__name__}: {problem}")))


def _write_report(path: Path, reports: list[dict]) -> None:
    write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in reports))
