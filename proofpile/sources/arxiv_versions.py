"""One document per arXiv paper: which copy is kept when a paper comes more than once.

A document's id is `stable_id("arxiv", <arXiv id>)`, the same for every version, so that a row joins to arXiv's
own metadata. Inputs can hold a paper twice: `2301.00001v1.gz` and `2301.00001v2.gz` side by side, a member
repeated in a bulk tar, or one paper in two archives. The rule, applied at three points because the copies can
sit in one task or in several:

1. among separate paper files (known when the build is planned), the highest version is read and the others
   are skipped by their task (a file without a version counts as older than any `vN`);
2. within one task (a bulk tar, a batch of e-print ids), the first copy is kept;
3. across tasks, the finalize task keeps the first copy it meets, in its fixed input order.

Each copy left out is counted as `duplicate_paper_id` (`skipped_`/`dropped_` in the stats) and named in one log line. The result depends only on
the inputs and their order, never on the worker count.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from proofpile.documents import SOURCE


def version_number(version: str | None) -> int:
    """`"v3"` -> 3; no version (or a malformed one) -> 0, older than any numbered version."""
    digits = (version or "")[1:]
    return int(digits) if digits.isdigit() and len(digits) < 9 else 0


def superseded_papers(units: Iterable) -> dict[int, str]:
    """{index of a paper-file unit: path of the newer copy that replaces it}, for papers given as files more
    than once. Ties (same version, or no versions) keep the first in the given order."""
    from proofpile.sources.arxiv import parse_paper_name

    units = list(units)
    best: dict[str, tuple[int, int]] = {}  # arXiv id -> (version, unit index)
    candidates: list[tuple[int, str, int]] = []
    for index, unit in enumerate(units):
        if unit.kind != "paper":
            continue
        name = parse_paper_name(posixpath.basename(unit.path))
        if name is None:
            continue
        version = version_number(name.version)
        candidates.append((index, name.arxiv_id, version))
        kept = best.get(name.arxiv_id)
        if kept is None or version > kept[0]:
            best[name.arxiv_id] = (version, index)
    return {index: units[best[aid][1]].path for index, aid, _ in candidates if best[aid][1] != index}


class OnePerPaper(BaseFilter):
    """Finalize step: the first arXiv document of each id passes, later ones are dropped and counted.

    Holds one id per arXiv paper (32-character strings: ~100 bytes each, 250 MB for all of arXiv's ~2.4 M
    papers); documents of other sources pass untouched and are not remembered."""

    name = "one document per arXiv paper"

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.metadata.get(SOURCE) != "arxiv":
            return True
        if doc.id in self.seen:
            from datatrove.utils.logging import logger

            logger.warning(f"{doc.metadata.get('origin', doc.id)}: arXiv {doc.metadata.get('arxiv_id', '')} "
                           f"already read from another input; this copy dropped")
            return False, "duplicate_paper_id"
        self.seen.add(doc.id)
        return True
