"""Pages whose extracted text has a very long line: link farms, tag clouds, minified scripts or base64 blobs that
the extractor kept as one run of text. Prose paragraphs are one line each after extraction, so the cut sits far
above them: over the HTML pages in the test data the longest prose line is 3,566 characters, a link-dump page
81,478. OpenWebMath's published filter script has no line-length rule; the default of 20,000 characters is ours,
chosen from those measurements, and the recipe can move it.

The longest line's length is stored as ``metadata["max_line_length"]`` so the threshold can be judged (and
re-applied) from the kept documents.
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field

from proofpile.stage_registry import StageConfig, declare_stage


def longest_line(text: str) -> int:
    """Characters in the longest line of `text` (0 for an empty text)."""
    return max(map(len, text.splitlines()), default=0)


class MaxLineLengthFilter(BaseFilter):
    name = "max line length"

    def __init__(self, max_chars: int = 20_000, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.max_chars = max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc.metadata["max_line_length"] = longest = longest_line(doc.text)
        if longest > self.max_chars:
            return False, "line_too_long"
        return True


class MaxLineLengthStage(StageConfig):
    max_chars: int = Field(20_000, gt=0, description="pages with a longer line are dropped")


@declare_stage("max_line_length", config=MaxLineLengthStage, where="per_document", order=75, omit_default=True,
               purpose="pages with a line longer than `max_chars` dropped (link farms, minified scripts)")
def _stage(cfg, plan):
    return MaxLineLengthFilter(max_chars=cfg.max_chars)
