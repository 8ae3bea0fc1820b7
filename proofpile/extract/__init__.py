"""Getting text out of raw formats (notebooks, HTML, LaTeX projects)."""

from proofpile.extract.html_math import Extraction, ExtractionError, MathHtmlExtractor, extract_math_text
from proofpile.extract.notebook import NotebookError, NotebookToMarkdown, notebook_to_markdown

__all__ = [
    "Extraction",
    "ExtractionError",
    "MathHtmlExtractor",
    "NotebookError",
    "NotebookToMarkdown",
    "extract_math_text",
    "notebook_to_markdown",
]
