"""Keep only the languages a recipe asks for, so a local dump with extra languages cannot leak into a subset."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter


class LanguageSelect(BaseFilter):
    name = "language select"

    def __init__(self, languages: list[str], exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.languages = frozenset(languages)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return doc.metadata.get("lang") in self.languages or (False, "lang_not_in_recipe")
