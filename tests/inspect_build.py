"""A copy of the shared sample build with one extra open-web-math shard of hostile documents, for the viewer's
tests (the shared build itself must stay untouched: other test modules read it, and the viewer never writes)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HOSTILE_ID = "hostile-0001"
MATH_ID = "math-0001"
SCRIPT = "<script>document.title='pwned'</script>"


def hostile_text() -> str:
    """Script tags (in text and inside \\text{}), a 1 MB line, escapes of invalid UTF-8 and control bytes."""
    line = ("$x<y$ " + SCRIPT + " \\xff\\xfe \ufffd\ufffd \x00\x1b[31m ") * 16_000
    return f"{SCRIPT}\n<img src=x onerror=alert(1)>\n$\\text{{{SCRIPT}}}$\n" + line[: 1_000_000] + "\nEND-OF-HOSTILE"


MATH_TEXT = ("Euler: $e^{i\\pi} + 1 = 0$ and\n$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\nalso \\(a^2+b^2=c^2\\) and "
             "\\[\\sum_{n=1}^\\infty \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\]\n"
             "\\begin{align}f(x) &= x^2 \\\\ g(x) &= \\sqrt{x}\\end{align}\n")


def with_hostile_shard(build: Path, dst: Path) -> Path:
    """`build` copied to `dst` (its _work left out) plus data/open-web-math/train-hostile.parquet."""
    if dst.exists():
        return dst
    shutil.copytree(build, dst, ignore=shutil.ignore_patterns("_work", "packed"))
    rel = "data/open-web-math/train-hostile.parquet"
    rows = [
        {"id": HOSTILE_ID, "text": hostile_text(), "meta": json.dumps({"url": "https://evil.example/x", "source": "test"}),
         "subset": "open-web-math", "lang": "en"},
        {"id": MATH_ID, "text": MATH_TEXT, "meta": json.dumps({"url": "https://math.example/euler", "source": "test"}),
         "subset": "open-web-math", "lang": "en"},
    ]
    schema = pa.schema([("id", pa.string()), ("text", pa.large_string()), ("meta", pa.string()),
                        ("subset", pa.string()), ("lang", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), dst / rel)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["outputs"]["shards"].append({"path": rel, "subset": "open-web-math", "split": "train", "lang": "en",
                                          "rows": len(rows)})
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return dst


def tree_hash(root: Path) -> str:
    """Every path, size, mtime and content under `root`: any write shows."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        h.update(f"{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}|{p.is_dir()}\n".encode())
        if p.is_file() and not p.is_symlink():
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()
