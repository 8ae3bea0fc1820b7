"""JSON Lines records read one line at a time, so one hostile line costs that line and nothing else.

Every JSONL input of proofpile goes through here: The Stack's local files, `decontaminate`'s shards and
arXiv's OAI metadata by `read_jsonl`, local benchmark files by `parse_line` (strictly: a bad line is an error).
Reading the file as text would make one invalid UTF-8 byte fail the file's decoder, and with it every line
before and after; so the file is read as bytes (`.gz`, `.bz2`, `.zst`, ... decompressed by fsspec from the
name) and each line is decoded on its own. Whatever a line can raise while being decoded and parsed (bad
UTF-8, bad JSON, nesting deep enough for a `RecursionError`, an integer too long to convert, a lone
surrogate that no writer can encode, a value that is not an object or lacks a required field) skips that
line, is counted under a named reason and logged as `file:line: what is wrong` (the first few per file in
full, then one summary line). Damage to the file itself (a truncated or corrupt compressed stream) ends it
with a `JsonlError` after every line before the damage has been yielded.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from proofpile.documents import printable
from proofpile.errors import ProofpileError

#: a line longer than this is skipped unread (the longest Stack file is ~1 MB; a 1 GB line must not be held)
DEFAULT_MAX_LINE_BYTES = 64 * 2**20
#: bad lines per file logged one by one; the rest only counted
_LOGGED_PER_FILE = 10
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


class JsonlError(ProofpileError, ValueError):
    """A JSONL file that cannot be read on past some point; one line naming the file and where."""


def _ignore(reason: str) -> None:
    pass


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_line(line: bytes, required: dict[str, type | tuple[type, ...]] | None = None) -> tuple[dict | None, str, str]:
    """(object, "", "") for a good line, else (None, reason, detail): the reason a counter name, the detail
    a short human one. Never raises for any `line`."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, "bad_utf8", f"invalid UTF-8 at byte {err.start + 1}"
    try:
        value = json.loads(text)
    except RecursionError:
        return None, "too_deep", "JSON nested too deeply to parse"
    except json.JSONDecodeError as err:
        return None, "bad_json", f"bad JSON ({err.msg} at column {err.colno})"
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        return None, "bad_json", f"bad JSON ({(str(err).splitlines() or [''])[0][:80]})"
    if not isinstance(value, dict):
        return None, "not_an_object", f"JSON {_json_type(value)}, not an object"
    if b"\\u" in line and _SURROGATE_ESCAPE.search(line):  # only then can a string hold half a UTF-16 pair
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, "lone_surrogate", "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff escape)"
        except (RecursionError, ValueError):
            return None, "too_deep", "JSON nested too deeply to re-encode"
    for name, kind in (required or {}).items():
        if name not in value:
            return None, "missing_field", f"no {name!r} field"
        if not isinstance(value[name], kind):
            return None, "bad_field", f"{name!r} is a JSON {_json_type(value[name])}"
    return value, "", ""


def _lines(f, max_line_bytes: int, block: int = 1 << 16) -> Iterator[bytes | None]:
    """The file's lines as bytes, None in place of a line longer than `max_line_bytes` (passed over, never
    held). Split by hand from fixed-size reads: not every decompressor fsspec hands back has `readline`."""
    parts: list[bytes] = []
    size, too_long = 0, False  # bytes of the current line so far; whether it is already over the limit
    # read1: what one decompression step gives, so lines before a truncated end are passed on before it fails
    read = getattr(f, "read1", f.read)
    while chunk := read(block):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            size += end - start
            if too_long or size > max_line_bytes:
                yield None
            else:
                parts.append(chunk[start : end + 1])
                yield b"".join(parts)
            parts, size, too_long, start = [], 0, False, end + 1
        size += len(chunk) - start
        if too_long or size > max_line_bytes:
            parts, too_long = [], True
        elif start < len(chunk):
            parts.append(chunk[start:])
    if too_long:
        yield None
    elif parts:
        yield b"".join(parts)


def read_jsonl(
    path: str,
    count: Callable[[str], None] = _ignore,
    required: dict[str, type | tuple[type, ...]] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every good line of `path` (local or fsspec URL, compression from the name).

    A bad line calls `count("skipped_<reason>")` (reasons: bad_utf8, bad_json, too_deep, not_an_object,
    lone_surrogate, missing_field, bad_field, line_too_long) and is logged; blank lines are passed over.
    `required` maps field names to the type(s) their value must have.
    """
    import fsspec
    from datatrove.utils.logging import logger

    shown = printable(str(path))
    bad: Counter[str] = Counter()
    line_no = 0

    def skip(reason: str, detail: str) -> None:
        bad[reason] += 1
        count(f"skipped_{reason}")
        if sum(bad.values()) <= _LOGGED_PER_FILE:
            logger.warning(f"{shown}:{line_no}: {detail}; line skipped")

    try:
        with fsspec.open(path, "rb", compression="infer") as f:
            for line_no, line in enumerate(_lines(f, max_line_bytes), start=1):
                if line is None:
                    skip("line_too_long", f"line over {max_line_bytes:,} bytes")
                    continue
                if line_no == 1 and line.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM some editors write
                    line = line[3:]
                if line.isspace():
                    continue
                value, reason, detail = parse_line(line, required)
                if value is None:
                    skip(reason, detail)
                    continue
                yield line_no, value
    except (OSError, EOFError, ValueError, RuntimeError) as err:  # truncated/corrupt compressed stream
        if isinstance(err, FileNotFoundError):
            raise JsonlError(f"{shown}: no such file") from None
        problem = printable((str(err).splitlines() or [""])[0])[:200]
        raise JsonlError(f"{shown}: unreadable after line {line_no} ({type(err).__name__}: {problem})") from None
    finally:
        if sum(bad.values()) > _LOGGED_PER_FILE:
            summary = ", ".join(f"{n:,} {reason}" for reason, n in sorted(bad.items()))
            logger.warning(f"{shown}: {sum(bad.values()):,} lines skipped ({summary})")
