"""Code files from The Stack (deduplicated, v1.2), streamed from the Hub or read from local copies.

AlgebraicStack takes its general-purpose languages (Python, C, C++, Julia, ...) from The Stack rather than
crawling GitHub itself. The Hub dataset is gated and large, so the same reader also takes local Parquet or JSONL
files with The Stack's columns: that is how tests run, and how a site with a mirror avoids the Hub.

A bad record or an unreadable file is counted and named in one log line; it never ends the task, because one
corrupt shard in hundreds should cost that shard, not the run.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from proofpile.documents import LANG, LICENSE, PATH, REPO, SOURCE, SUBSET, loggable, stable_id
from proofpile.redact import redact_url

# our canonical language name -> directory under data/ in bigcode/the-stack-dedup
STACK_DATA_DIRS: dict[str, str] = {
    "python": "python",
    "c": "c",
    "cpp": "c++",
    "haskell": "haskell",
    "julia": "julia",
    "r": "r",
    "maple": "maple",
    "tex": "tex",
    "jupyter": "jupyter-notebook",
    "gap": "gap",
    "idris": "idris",
    "agda": "agda",
    "fortran": "fortran",
}

# The Stack's `lang` column holds GitHub Linguist display names ("C++", "Jupyter Notebook", "FORTRAN"); they are
# compared after lower-casing and turning spaces and underscores into hyphens.
_LANG_ALIASES: dict[str, str] = {
    **{canonical: canonical for canonical in STACK_DATA_DIRS},
    **{data_dir: canonical for canonical, data_dir in STACK_DATA_DIRS.items()},
    "fortran-free-form": "fortran",
}

STACK_FILE_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".jsonl.bz2")
_BATCH_ROWS = 1024  # Stack files average a few KB, so a batch stays in the low MB


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _stack_id(hexsha: str, repo: str, path: str, content: str) -> str:
    """The blob's git hash names a Stack file; without it, its repository path; without both, its text (else
    every row lacking all three would share one id)."""
    if hexsha:
        return stable_id("the-stack", hexsha)
    if repo or path:
        return stable_id("the-stack", repo, path)
    return stable_id("the-stack-content", content)


def canonical_lang(stack_lang: Any) -> str | None:
    if not isinstance(stack_lang, str):
        return None
    return _LANG_ALIASES.get(stack_lang.strip().lower().replace(" ", "-").replace("_", "-"))


class StackReader(PipelineStep):
    """Documents from The Stack's rows; exactly one of ``files`` (local/fsspec paths) or ``hub_langs``."""

    type = "📖 - READER"
    name = "the stack"

    def __init__(
        self,
        files: list[str] | None = None,
        hub_langs: list[str] | None = None,
        dataset: str = "bigcode/the-stack-dedup",
        revision: str = "v1.2",
        subset: str = "algebraic-stack",
        limit: int = -1,
        token: str | None = None,
    ):
        super().__init__()
        if (files is None) == (hub_langs is None):
            raise ValueError("StackReader needs exactly one of files= or hub_langs=")
        if files is not None:
            unsupported = [f for f in files if not str(f).endswith(STACK_FILE_SUFFIXES)]
            if unsupported:
                shown = ", ".join(loggable(redact_url(str(f))) for f in unsupported[:3])
                raise ValueError(f"the stack reads {', '.join(STACK_FILE_SUFFIXES)} files, not: {shown}"
                                 + (f" (and {len(unsupported) - 3} more)" if len(unsupported) > 3 else ""))
        if hub_langs is not None:
            unknown = [lang for lang in hub_langs if lang not in STACK_DATA_DIRS]
            if unknown:
                raise ValueError(
                    f"not a Stack language: {', '.join(unknown)} (known: {', '.join(sorted(STACK_DATA_DIRS))})"
                )
        self.files = [str(f) for f in files] if files is not None else None
        self.hub_langs = list(hub_langs) if hub_langs is not None else None
        self.dataset = dataset
        self.revision = revision
        self.subset = subset
        self.limit = limit
        self.token = token

    # ---- rows -> documents -------------------------------------------------------------------------------

    def _document(self, row: dict, where: str) -> Document | None:
        from datatrove.utils.logging import logger

        content = row.get("content")
        if not isinstance(content, str):
            logger.warning(f"{where}: content is {type(content).__name__}, not text; record skipped")
            self.stat_update("skipped_bad_record")
            return None
        lang = canonical_lang(row.get("lang"))
        if lang is None:
            self.stat_update("skipped_unknown_lang")
            return None
        # a mirror with other column types (an integer repo name, a struct of licenses) must not end the task:
        # every field is taken only when it has the type The Stack gives it
        repo = _str(row.get("max_stars_repo_name"))
        path = _str(row.get("max_stars_repo_path"))
        hexsha = _str(row.get("hexsha"))
        licenses = row.get("max_stars_repo_licenses")
        if isinstance(licenses, (list, tuple)):
            licenses = ", ".join(str(x) for x in licenses)
        licenses = _str(licenses)
        size = row.get("size")
        return Document(
            text=content,
            id=_stack_id(hexsha, repo, path, content),
            metadata={
                SOURCE: "the-stack",
                SUBSET: self.subset,
                LANG: lang,
                REPO: repo,
                PATH: path,
                LICENSE: licenses or "",
                "ext": _str(row.get("ext")),
                "size_bytes": int(size) if isinstance(size, int) and not isinstance(size, bool) else len(content.encode("utf-8", "surrogatepass")),
            },
        )

    # ---- row sources -------------------------------------------------------------------------------------

    def _parquet_rows(self, path: str) -> Iterator[tuple[dict, str]]:
        import fsspec
        import pyarrow.parquet as pq

        with fsspec.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            names = set(pf.schema_arrow.names)
            wanted = [
                c
                for c in ("content", "lang", "ext", "size", "hexsha", "max_stars_repo_name", "max_stars_repo_path",
                          "max_stars_repo_licenses")
                if c in names
            ]  # fmt: skip
            # one row group at a time: damage in one group costs that group, not the rows before or after it
            first = 0
            for group in range(pf.num_row_groups):
                row_no = first
                try:
                    for batch in pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=[group], columns=wanted):
                        for row in batch.to_pylist():
                            yield row, f"{path} row {row_no}"
                            row_no += 1
                except Exception as err:  # noqa: BLE001 - pyarrow raises OSError, ArrowInvalid, ... for damage
                    from datatrove.utils.logging import logger

                    problem = "".join(c if c.isprintable() else "?" for c in (str(err).splitlines() or [""])[0])
                    logger.warning(f"{path}: row group {group} unreadable after row {row_no} "
                                   f"({type(err).__name__}: {problem[:200]}); rest of the group skipped")
                    self.stat_update("skipped_row_group_damaged")
                first += pf.metadata.row_group(group).num_rows

    def _jsonl_rows(self, path: str) -> Iterator[tuple[dict, str]]:
        from proofpile.jsonl import read_jsonl

        for line_no, row in read_jsonl(path, count=self.stat_update):
            yield row, f"{path}:{line_no}"

    def _file_rows(self, path: str) -> Iterator[tuple[dict, str]]:
        from datatrove.utils.logging import logger

        rows = self._parquet_rows(path) if path.endswith(".parquet") else self._jsonl_rows(path)
        try:
            yield from rows
            self.stat_update("files_read")
        except Exception as err:  # corrupt or truncated file: keep what was read, go on with the next file
            problem = "".join(c if c.isprintable() else "?" for c in (str(err).splitlines() or [""])[0])
            logger.warning(f"{path}: cannot read ({type(err).__name__}: {problem}); rest of file skipped")
            self.stat_update("file_failed")

    def _hub_rows(self, lang: str) -> Iterator[tuple[dict, str]]:
        from datasets import load_dataset

        data_dir = f"data/{STACK_DATA_DIRS[lang]}"
        stream = load_dataset(
            self.dataset,
            data_dir=data_dir,
            revision=self.revision,
            split="train",
            streaming=True,
            token=self.token or os.environ.get("HF_TOKEN"),
        )
        for row_no, row in enumerate(stream):
            yield row, f"{self.dataset}/{data_dir}@{self.revision} row {row_no}"

    def _rows(self, rank: int, world_size: int) -> Iterator[tuple[dict, str]]:
        if self.files is not None:
            for path in self.files[rank::world_size]:
                yield from self._file_rows(path)
        else:
            for lang in self.hub_langs[rank::world_size]:
                yield from self._hub_rows(lang)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        produced = 0
        for row, where in self._rows(rank, world_size):
            if 0 <= self.limit <= produced:
                break
            try:
                with self.track_time():
                    doc = self._document(row, where)
            except Exception as err:  # noqa: BLE001 - whatever one row can raise costs that row
                from datatrove.utils.logging import logger

                logger.warning(f"{where}: {type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}; "
                               f"record skipped")
                self.stat_update("skipped_bad_record")
                continue
            if doc is None:
                continue
            self.stat_update("documents")
            self.update_doc_stats(doc)
            produced += 1
            yield doc
