"""Jupyter notebooks to Markdown, the form in which AlgebraicStack keeps them.

Written against the notebook JSON directly rather than nbformat/nbconvert: those pull in a large dependency
tree (jinja2, bleach, mistune, traitlets, jsonschema, ...) for what is a fifty-line walk over a dict, and
every worker would pay their import time.

Images and error tracebacks are dropped: base64 blobs and ANSI-coloured stack traces are noise to a language
model, while printed results (``text/plain``) often show the mathematics the code computed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from proofpile.documents import loggable
from proofpile.errors import ProofpileError
from proofpile.stage_registry import StageConfig, declare_stage

_IMAGE_KEYS = frozenset(("image/png", "image/jpeg", "image/svg+xml", "png", "jpeg", "svg"))
_V3_OUTPUT_TYPES = {"pyout": "execute_result", "pyerr": "error"}

# Each pattern stops at the next opener of its own kind ((?!<img\b) etc.): an untempered `<script\b.*?</script>`
# scans to the end of the text from every unclosed `<script`, so a cell of 100 KB of them took minutes.
_MEDIA_SRC = (
    r"!\[(?:(?!!\[)[^\]\n])*\](?:\((?:(?!!\[)[^)])*\)|\[[^\]\n]*\])"  # Markdown images, inline and reference
    r"|<img\b(?:(?!<img\b)[^>])*>"
    r"|<video\b(?:(?!<video\b)[^>])*/>|<video\b(?:(?!<video\b).)*?</video\s*>"
    r"|<script\b(?:(?!<script\b).)*?</script\s*>"
    r"|<iframe\b(?:(?!<iframe\b)[^>])*/>|<iframe\b(?:(?!<iframe\b).)*?</iframe\s*>"
)
_MEDIA = re.compile(_MEDIA_SRC, re.I | re.S)
# media that filled whole lines go with their line, so removing them leaves no run of blank lines behind
_MEDIA_LINES = re.compile(
    r"^[ \t]*(?:" + _MEDIA_SRC + r")(?:[ \t]*(?:" + _MEDIA_SRC + r"))*[ \t]*\n", re.I | re.S | re.M
)
_BACKTICK_RUN = re.compile(r"`{3,}")


class NotebookError(ProofpileError, ValueError):
    """The input is not a readable notebook."""


def _text(value: Any) -> str:
    # notebook text fields are a string or a list of lines (which carry their own newlines)
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _fence(body: str, info: str) -> str:
    # a fence longer than any backtick run inside, so code that prints Markdown cannot close it early
    longest = max((len(m) for m in _BACKTICK_RUN.findall(body)), default=2)
    ticks = "`" * (longest + 1)
    return f"{ticks}{info}\n{body.rstrip(chr(10))}\n{ticks}"


def _language(nb: dict) -> str:
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        sub = meta.get(key)
        if isinstance(sub, dict) and isinstance(sub.get(field), str) and sub[field].strip():
            return sub[field].strip().lower()
    if isinstance(meta.get("language"), str) and meta["language"].strip():
        return meta["language"].strip().lower()
    return "python"


def _output_text(output: dict) -> str:
    kind = _V3_OUTPUT_TYPES.get(output.get("output_type"), output.get("output_type"))
    if kind == "error":
        return ""
    if kind == "stream":
        return _text(output.get("text"))
    data = output.get("data") if isinstance(output.get("data"), dict) else output  # v3 keeps data inline
    if _IMAGE_KEYS.intersection(data):
        return ""
    return _text(data.get("text/plain", data.get("text") if data is output else None))


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _cells(nb: dict) -> list:
    if isinstance(nb.get("cells"), list):
        return nb["cells"]
    worksheets = nb.get("worksheets")
    if isinstance(worksheets, list):
        return [c for ws in worksheets if isinstance(ws, dict) for c in _list(ws.get("cells"))]
    raise NotebookError("JSON has neither 'cells' (nbformat 4) nor 'worksheets' (nbformat 3)")


def notebook_to_markdown(raw: str) -> str:
    """Markdown of a notebook: prose as-is, code and its text output as fenced blocks, media removed."""
    try:
        nb = json.loads(raw)
    except RecursionError:
        raise NotebookError("invalid JSON: nested too deeply to parse") from None
    except (ValueError, TypeError) as e:  # JSONDecodeError, or an integer too long to convert
        raise NotebookError(f"invalid JSON: {(str(e).splitlines() or [''])[0][:200]}") from None
    if not isinstance(nb, dict):
        raise NotebookError(f"top-level JSON value is a {type(nb).__name__}, not a notebook object")
    language = _language(nb)
    parts: list[str] = []
    for cell in _cells(nb):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _text(cell.get("source", cell.get("input")))
        if kind == "code":
            if source.strip():
                cell_language = cell.get("language")
                parts.append(_fence(source, cell_language if isinstance(cell_language, str) else language))
            for output in _list(cell.get("outputs")):
                if isinstance(output, dict) and (text := _output_text(output)).strip():
                    parts.append(_fence(text, "output"))
        elif kind == "heading":  # nbformat 3 kept headings as their own cell type
            level = cell.get("level") if isinstance(cell.get("level"), int) else 1
            parts.append("#" * min(max(level, 1), 6) + " " + source.strip())
        elif source.strip():  # markdown and raw cells
            parts.append(source.strip("\n"))
    if not parts:
        return ""
    markdown = _MEDIA.sub("", _MEDIA_LINES.sub("", "\n\n".join(parts) + "\n"))
    return markdown.strip() + "\n" if markdown.strip() else ""


class NotebookToMarkdown(PipelineStep):
    """Replace the JSON of ``lang == "jupyter"`` documents by their Markdown; unreadable notebooks are dropped."""

    type = "✂️ - FORMAT"
    name = "notebook to markdown"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if doc.metadata.get("lang") != "jupyter":
                yield doc
                continue
            self.stat_update("notebooks")
            try:
                with self.track_time():
                    doc.text = notebook_to_markdown(doc.text)
            except NotebookError as e:
                logger.warning(f"dropping notebook {loggable(doc.metadata.get('path') or doc.id)}: {loggable(str(e))}")
                self.stat_update("dropped_notebook_parse_error")
                continue
            except Exception as e:  # noqa: BLE001 - a notebook this walk did not foresee costs that notebook
                problem = (str(e).splitlines() or [""])[0][:200]
                logger.warning(f"dropping notebook {doc.metadata.get('path') or doc.id}: "
                               f"{type(e).__name__}: {problem}")
                self.stat_update("dropped_notebook_error")
                continue
            self.stat_update("converted")
            self.update_doc_stats(doc)
            yield doc


class NotebookStage(StageConfig):
    pass


@declare_stage("notebook", config=NotebookStage, where="per_document", order=10,
               purpose="Jupyter notebooks converted to Markdown")
def _stage(cfg, plan):
    return NotebookToMarkdown()
