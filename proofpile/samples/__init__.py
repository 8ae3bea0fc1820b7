"""Bundled sample inputs for offline builds (`proofpile build algebraic-stack --sample`).

`create_sample_inputs(dest)` turns the small source trees shipped under `algebraic_stack/` into

* real git repositories, one per sample repo, each with two commits: the manifests pin the FIRST commit, and the
  second adds an `after_pin.<ext>` file that a correct crawler never sees;
* one manifest per GitHub language, listing `file://` URLs of those repositories `@<commit>`;
* one Parquet file per Stack language, with The Stack's columns, under `the-stack/data/<lang>/`;
* an arXiv bulk archive of short LaTeX papers (`proofpile.samples.arxiv`) under `arxiv/`, and a Common
  Crawl-shaped WARC of HTML pages (`proofpile.samples.web`) under `commoncrawl/`, all written for proofpile;
* `benchmarks`: small stand-ins for MATH and GSM8K (`benchmarks/README.md`; NOT the real test sets), one item
  of each planted in the sample paper and web page, so a sample build shows decontamination at work.

Commits are made with a fixed author, committer, dates and message, with the user's and the system's git
configuration switched off, so the commit ids are the same on every machine. The Parquet bytes are the same too
(for a given pyarrow version). Only the absolute paths in the manifests depend on `dest`.

What the funnel should keep or drop is listed in `proofpile.samples.expected`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .arxiv import write_arxiv_sample
from .expected import AFTER_PIN as _AFTER_PIN_NAMES
from .web import write_web_sample

from proofpile.atomic import write_text

__all__ = [
    "BENCHMARKS",
    "GITHUB_LANGS",
    "STACK_LANGS",
    "STACK_SCHEMA",
    "SampleInputs",
    "create_sample_inputs",
    "read_manifest",
]

SAMPLES_ROOT = Path(__file__).resolve().parent / "algebraic_stack"
REPOS_SRC = SAMPLES_ROOT / "repos"
STACK_SRC = SAMPLES_ROOT / "stack"

#: stand-ins for the decontamination benchmarks, in the loaders' formats (benchmarks/README.md)
BENCHMARKS: dict[str, Path] = {
    name: Path(__file__).resolve().parent / "benchmarks" / f"{name}.jsonl" for name in ("math", "gsm8k")
}

#: bump when the generated output changes for reasons other than the sample files themselves
FORMAT_VERSION = 1
MARKER = ".proofpile-samples.json"

GITHUB_LANGS = ("lean", "coq", "isabelle", "matlab")

#: recipe language key -> The Stack's `lang` value
STACK_LANGS: dict[str, str] = {
    "python": "Python",
    "c": "C",
    "cpp": "C++",
    "haskell": "Haskell",
    "julia": "Julia",
    "r": "R",
    "maple": "Maple",
    "tex": "TeX",
    "jupyter": "Jupyter Notebook",
    "gap": "GAP",
    "idris": "Idris",
    "agda": "Agda",
    "fortran": "FORTRAN",
}

STACK_SCHEMA = pa.schema(
    [
        pa.field("hexsha", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("ext", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
        pa.field("max_stars_repo_path", pa.string(), nullable=False),
        pa.field("max_stars_repo_name", pa.string(), nullable=False),
        pa.field("max_stars_repo_head_hexsha", pa.string(), nullable=False),
        pa.field("max_stars_repo_licenses", pa.list_(pa.string()), nullable=False),
        pa.field("max_stars_count", pa.int64(), nullable=True),
        pa.field("content", pa.string(), nullable=False),
        pa.field("avg_line_length", pa.float64(), nullable=False),
        pa.field("max_line_length", pa.int64(), nullable=False),
        pa.field("alphanum_fraction", pa.float64(), nullable=False),
    ]
)

# A leading "__dot__" in a shipped path component stands for "." (package data globs skip dot-directories).
_DOT_PREFIX = "__dot__"

_AUTHOR = ("Proofpile Samples", "samples@proofpile.invalid")
_FIRST_DATE = "1678881600 +0000"  # 2023-03-15T12:00:00Z, before the AlgebraicStack cutoff
_SECOND_DATE = "1683028800 +0000"  # 2023-05-02T12:00:00Z, after it
_FIRST_MESSAGE = "Sample repository for proofpile\n"
_SECOND_MESSAGE = "Add a file after the pinned commit\n"

#: repository (lang/name) that also gets the generated binaries and the symlink
_EXTRAS_REPO = "lean/algebra-basics"
_SYMLINK_NAME = "link-to-passwd"
_SYMLINK_TARGET = "../../../../etc/passwd"

#: repository that also gets MATLAB sources in encodings a crawler must not decode as UTF-8 text: editors on
#: Windows save UTF-16 (NUL bytes: read as binary) and old toolboxes carry Latin-1 comments (invalid UTF-8)
_ENCODING_REPO = "matlab/linear-solvers"
_UTF16_TEXT = "% Gauss-Seidel sweep, saved as UTF-16 by an editor\nfunction x = gs_sweep(A, b, x)\nx = (tril(A)) \\ (b - triu(A, 1) * x);\nend\n"
_LATIN1_TEXT = "% Lösung des Systems mit Vorkonditionierung (Latin-1 encoded)\nfunction x = pcg_solve(A, b)\nx = pcg(A, b);\nend\n"

#: contents of the file each repository's second commit adds (names in expected.AFTER_PIN); all would be kept
_AFTER_PIN_TEXT = {
    "lean": "theorem after_pin_visible : 1 + 1 = 2 := rfl\n",
    "coq": "Theorem after_pin_visible : 1 + 1 = 2.\nProof. reflexivity. Qed.\n",
    "isabelle": 'theory after_pin\n  imports Main\nbegin\n\nlemma after_pin_visible: "1 + 1 = (2::nat)"\n  by simp\n\nend\n',
    "matlab": "function y = after_pin(x)\n%AFTER_PIN Must never reach the corpus.\ny = 2 * x;\nend\n",
}

_GIT_CONFIG = (
    "commit.gpgsign=false",
    "tag.gpgsign=false",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.eol=lf",
    "core.symlinks=true",
    "core.filemode=true",
    "core.precomposeunicode=false",
    "gc.auto=0",
    "init.defaultBranch=main",
)


@dataclass(frozen=True)
class SampleInputs:
    manifests: dict[str, Path]  # lang -> manifest file listing file:// URLs @commit of the created repos
    stack_files: list[Path]  # Parquet files shaped like The Stack
    root: Path
    arxiv_paths: list[Path] = field(default_factory=list)  # [the bulk tar of sample papers]
    warc_files: list[Path] = field(default_factory=list)  # [the sample WARC]
    benchmarks: dict[str, Path] = field(default_factory=dict)  # benchmark name -> stand-in JSONL (shipped)


# --------------------------------------------------------------------------------------------------- helpers


def _read_text_bytes(p: Path) -> bytes:
    """A shipped sample file's bytes, with CRLF normalised so a Windows checkout gives the same commits."""
    return p.read_bytes().replace(b"\r\n", b"\n")


def _shipped_files(base: Path) -> list[Path]:
    return sorted((p for p in base.rglob("*") if p.is_file() and p.name != ".gitattributes"), key=lambda p: p.as_posix())


def _decode_relpath(rel: Path) -> str:
    parts = [("." + part[len(_DOT_PREFIX) :]) if part.startswith(_DOT_PREFIX) else part for part in rel.parts]
    return "/".join(parts)


def _sample_repos() -> list[tuple[str, str, Path]]:
    """(lang, repo name, shipped directory), in manifest order."""
    out = []
    for lang in GITHUB_LANGS:
        d = REPOS_SRC / lang
        for repo in sorted(p for p in d.iterdir() if p.is_dir()):
            out.append((lang, repo.name, repo))
    return out


def _fingerprint() -> str:
    h = hashlib.sha256(f"format={FORMAT_VERSION}\n".encode())
    for base in (REPOS_SRC, STACK_SRC):
        for p in _shipped_files(base):
            h.update(p.relative_to(SAMPLES_ROOT).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(_read_text_bytes(p)).digest())
    h.update(hashlib.sha256(_read_text_bytes(Path(__file__))).digest())
    return h.hexdigest()


def _png(width: int, height: int) -> bytes:
    """A valid RGB PNG with a stored (uncompressed) deflate stream, so its bytes never depend on zlib's version."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter: none
        for x in range(width):
            row += bytes(((x * 32) & 0xFF, (y * 32) & 0xFF, 160))
        rows.append(bytes(row))
    raw = b"".join(rows)
    assert len(raw) < 65536
    deflate = b"\x01" + struct.pack("<HH", len(raw), len(raw) ^ 0xFFFF) + raw  # one final stored block
    idat = b"\x78\x01" + deflate + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _binary_blob() -> bytes:
    """256 bytes covering every byte value, NUL first: unmistakably binary."""
    return bytes(range(256))


class _Git:
    """Runs git with every outside influence on the resulting object ids switched off."""

    def __init__(self, home: Path):
        exe = shutil.which("git")
        if exe is None:
            raise RuntimeError("proofpile --sample needs the `git` executable on PATH to create the sample repositories")
        self.exe = exe
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        name, email = _AUTHOR
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            GIT_AUTHOR_NAME=name,
            GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=name,
            GIT_COMMITTER_EMAIL=email,
            LC_ALL="C",
            LANG="C",
            TZ="UTC",
        )
        self.env = env
        self.hooks = home / "no-hooks"
        self.hooks.mkdir(exist_ok=True)

    def __call__(self, repo: Path, *args: str, date: str | None = None, stdin: bytes | None = None) -> str:
        cmd = [self.exe]
        for c in (*_GIT_CONFIG, f"core.hooksPath={self.hooks}"):
            cmd += ["-c", c]
        cmd += list(args)
        env = dict(self.env)
        if date is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        res = subprocess.run(cmd, cwd=repo, env=env, input=stdin, capture_output=True)
        if res.returncode != 0:
            raise RuntimeError(
                f"git {' '.join(args)} failed in {repo} (exit {res.returncode}): "
                f"{res.stderr.decode(errors='replace').strip()}"
            )
        return res.stdout.decode().strip()


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)  # git records only the exec bit; make sure it is never set


def _create_repo(git: _Git, lang: str, name: str, src: Path, dest: Path) -> str:
    """Build one sample repository at `dest`; returns the pinned (first) commit id."""
    dest.mkdir(parents=True)
    for p in _shipped_files(src):
        _write_file(dest / _decode_relpath(p.relative_to(src)), _read_text_bytes(p))
    git(dest, "init", "-q", "-b", "main", "--template=", ".")
    # like GitHub, serve any reachable commit by id, also to protocol-v0 clients (`git fetch <url> <sha>`)
    git(dest, "config", "uploadpack.allowReachableSHA1InWant", "true")

    add_symlink_to_index = False
    if f"{lang}/{name}" == _EXTRAS_REPO:
        _write_file(dest / "logo.png", _png(8, 8))
        _write_file(dest / "data" / "weights.bin", _binary_blob())
        try:
            os.symlink(_SYMLINK_TARGET, dest / _SYMLINK_NAME)
        except (OSError, NotImplementedError):  # e.g. Windows without the privilege: record it in the index only
            add_symlink_to_index = True

    if f"{lang}/{name}" == _ENCODING_REPO:
        _write_file(dest / "legacy" / "gs_sweep.m", _UTF16_TEXT.encode("utf-16"))
        _write_file(dest / "legacy" / "pcg_solve.m", _LATIN1_TEXT.encode("latin-1"))

    git(dest, "add", "-A", ".")
    if add_symlink_to_index:
        blob = git(dest, "hash-object", "-w", "--stdin", stdin=_SYMLINK_TARGET.encode())
        git(dest, "update-index", "--add", "--cacheinfo", f"120000,{blob},{_SYMLINK_NAME}")
    git(dest, "commit", "-q", "--no-verify", "-m", _FIRST_MESSAGE, date=_FIRST_DATE)
    pinned = git(dest, "rev-parse", "HEAD")

    after_name, after_text = _AFTER_PIN_NAMES[lang], _AFTER_PIN_TEXT[lang]
    _write_file(dest / after_name, after_text.encode())
    git(dest, "add", "--", after_name)
    git(dest, "commit", "-q", "--no-verify", "-m", _SECOND_MESSAGE, date=_SECOND_DATE)
    return pinned


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _line_stats(text: str) -> tuple[float, int, float]:
    lines = text.splitlines() or [""]
    lengths = [len(x) for x in lines]
    avg = sum(lengths) / len(lengths)
    alnum = sum(c.isalnum() for c in text) / len(text) if text else 0.0
    return avg, max(lengths), alnum


def _stack_table(lang: str) -> pa.Table:
    files = _shipped_files(STACK_SRC / lang)
    if not files:
        raise RuntimeError(f"no bundled Stack samples for {lang}")
    repo_name = f"sample/{lang}-numerics"
    # a placeholder head commit for the invented repository: derived from its name, not a real commit
    head = hashlib.sha1(repo_name.encode()).hexdigest()
    cols: dict[str, list] = {f.name: [] for f in STACK_SCHEMA}
    for i, p in enumerate(files):
        data = _read_text_bytes(p)
        text = data.decode("utf-8")
        rel = p.relative_to(STACK_SRC / lang).as_posix()
        avg, longest, alnum = _line_stats(text)
        cols["hexsha"].append(_git_blob_sha1(data))
        cols["size"].append(len(data))
        cols["ext"].append(p.suffix.lstrip("."))
        cols["lang"].append(STACK_LANGS[lang])
        cols["max_stars_repo_path"].append(rel)
        cols["max_stars_repo_name"].append(repo_name)
        cols["max_stars_repo_head_hexsha"].append(head)
        cols["max_stars_repo_licenses"].append(["MIT"] if i % 2 == 0 else ["Apache-2.0", "MIT"])
        cols["max_stars_count"].append(None if i % 3 == 2 else 1 + 7 * i)  # some repos have no star count
        cols["content"].append(text)
        cols["avg_line_length"].append(round(avg, 6))
        cols["max_line_length"].append(longest)
        cols["alphanum_fraction"].append(round(alnum, 6))
    return pa.table(cols, schema=STACK_SCHEMA)


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=1000,
        use_dictionary=False,
        write_statistics=True,
    )


def read_manifest(path: Path) -> list[tuple[str, str]]:
    """(url, commit) pairs of a sample manifest; a tiny reader for tests and tools."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = line.split(" #", 1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        url, _, commit = entry.rpartition("@")
        out.append((url, commit))
    return out


def _load_existing(dest: Path, fingerprint: str) -> SampleInputs | None:
    marker = dest / MARKER
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("fingerprint") != fingerprint:
        return None
    manifests = {lang: dest / rel for lang, rel in info.get("manifests", {}).items()}
    stack_files = [dest / rel for rel in info.get("stack_files", [])]
    if set(manifests) != set(GITHUB_LANGS) or len(stack_files) != len(STACK_LANGS):
        return None
    if not all(p.is_file() for p in [*manifests.values(), *stack_files]):
        return None
    commits = info.get("commits", {})
    if not commits or not all((dest / "repos" / key / ".git").is_dir() for key in commits):
        return None
    return SampleInputs(manifests=manifests, stack_files=stack_files, root=dest)


# --------------------------------------------------------------------------------------------------- API


def create_sample_inputs(dest: Path) -> SampleInputs:
    """Create (or reuse) the sample repositories, manifests and Stack Parquet files under `dest`.

    Layout: `dest/repos/<lang>/<name>/` (git work trees), `dest/manifests/<lang>.txt`,
    `dest/the-stack/data/<lang>/train-00000-of-00001.parquet`, and `dest/.proofpile-samples.json`, written last.
    A `dest` that already holds a complete set made from the same samples is reused as is; an incomplete or stale
    one has those three directories replaced (nothing else in `dest` is touched). Not safe for concurrent calls
    on the same `dest`.
    """
    dest = Path(dest).expanduser().resolve()
    fingerprint = _fingerprint()
    existing = _load_existing(dest, fingerprint)
    if existing is not None:
        return _with_documents(existing)

    dest.mkdir(parents=True, exist_ok=True)
    (dest / MARKER).unlink(missing_ok=True)
    for sub in ("repos", "manifests", "the-stack"):
        shutil.rmtree(dest / sub, ignore_errors=True)

    # GitHub-side repositories
    pins: dict[str, list[tuple[Path, str]]] = {lang: [] for lang in GITHUB_LANGS}
    with tempfile.TemporaryDirectory(prefix="proofpile-git-home-") as home:
        git = _Git(Path(home))
        for lang, name, src in _sample_repos():
            repo_dir = dest / "repos" / lang / name
            pins[lang].append((repo_dir, _create_repo(git, lang, name, src, repo_dir)))

    manifests: dict[str, Path] = {}
    for lang in GITHUB_LANGS:
        lines = [
            f"# Generated by proofpile.samples.create_sample_inputs: sample {lang} repositories for --sample builds.",
            "# Each entry pins its repository's FIRST commit; a later commit adds "
            f"{_AFTER_PIN_NAMES[lang]}, which a correct crawler never sees.",
            "",
        ]
        lines += [f"{repo_dir.as_uri()}@{commit}" for repo_dir, commit in pins[lang]]
        path = dest / "manifests" / f"{lang}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
        manifests[lang] = path

    # Stack-side Parquet files
    stack_files: list[Path] = []
    for lang in STACK_LANGS:
        path = dest / "the-stack" / "data" / lang / "train-00000-of-00001.parquet"
        _write_parquet(_stack_table(lang), path)
        stack_files.append(path)

    info = {
        "format": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "manifests": {lang: p.relative_to(dest).as_posix() for lang, p in manifests.items()},
        "stack_files": [p.relative_to(dest).as_posix() for p in stack_files],
        "commits": {f"{lang}/{d.name}": c for lang in GITHUB_LANGS for d, c in pins[lang]},
    }
    write_text(dest / MARKER, json.dumps(info, indent=2, sort_keys=True) + "\n")
    return _with_documents(SampleInputs(manifests=manifests, stack_files=stack_files, root=dest))


def _with_documents(inputs: SampleInputs) -> SampleInputs:
    """Add the arXiv archive and the WARC; both are a few kilobytes, so they are simply rewritten when stale."""
    return replace(inputs, arxiv_paths=write_arxiv_sample(inputs.root / "arxiv"),
                   warc_files=write_web_sample(inputs.root / "commoncrawl"), benchmarks=dict(BENCHMARKS))
