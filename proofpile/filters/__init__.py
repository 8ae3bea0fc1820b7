"""Keep/drop steps; each module is a plain-Python core plus the datatrove step that wraps it."""

from proofpile.extract.notebook import NotebookToMarkdown
from proofpile.filters.code_rules import EXTENSIONS, LANGUAGES, CodeRulesFilter, Verdict, check
from proofpile.filters.langid import LanguageIdentifier, LanguageIdFilter

__all__ = [
    "EXTENSIONS",
    "LANGUAGES",
    "CodeRulesFilter",
    "LanguageIdFilter",
    "LanguageIdentifier",
    "NotebookToMarkdown",
    "Verdict",
    "check",
]
