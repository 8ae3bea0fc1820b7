"""Getting text out of raw formats (notebooks, HTML, LaTeX projects)."""

from proofpile.extract.notebook import NotebookError, NotebookToMarkdown, notebook_to_markdown

__all__ = ["NotebookError", "NotebookToMarkdown", "notebook_to_markdown"]
