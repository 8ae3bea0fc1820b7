"""Readers that turn external inputs (git repositories, The Stack, ...) into datatrove Documents.

Each reader pins what it reads (a commit, a dataset revision) into the documents' metadata, because a corpus
can only be rebuilt if every input can be fetched again byte for byte.
"""

from proofpile.sources.github import (
    FetchedRepo,
    GitHubReader,
    RepoError,
    RepoFile,
    SkippedFile,
    fetch_repo,
    iter_repo_files,
)
from proofpile.sources.repo_manifest import ManifestError, RepoSpec, parse_manifest
from proofpile.sources.stack import STACK_DATA_DIRS, StackReader

__all__ = [
    "FetchedRepo",
    "GitHubReader",
    "ManifestError",
    "RepoError",
    "RepoFile",
    "RepoSpec",
    "STACK_DATA_DIRS",
    "SkippedFile",
    "StackReader",
    "fetch_repo",
    "iter_repo_files",
    "parse_manifest",
]
