"""Cost of hostile inputs as they grow: wall time and peak RSS must be linear and capped.

    python bench/hostile_cost.py [--quick] [--pythonpath DIR] [--timeout 120]

Cases, each run in a fresh process (peak RSS from `wait4`, so it is that case's alone):
- `\\input` fan-out bomb: main includes l1, each l<i> includes l<i+1> three times, 5..20 levels (a few hundred
  bytes asking for 3^levels inlines); `clean_project` as the arXiv cleaner calls it;
- thousands of files that could each be the main file, all including one hub that includes thousands more;
- unclosed math openers before language ID: 10..80 KB of `\\[` (and `\\(`) never closed; `prose_for_lid`;
- e-print answers of 10 MB .. 1 GiB without Content-Length, streamed lazily by a real server on 127.0.0.1;
  `PoliteFetcher.get` as the arXiv reader calls it (cap: the default max_paper_bytes, 256 MiB);
- a server that sends one byte every 0.5 s (the fetcher's deadline set to 2 s where it has one).

`--pythonpath DIR` runs the children against another checkout (e.g. `git archive` of an older commit), for a
before/after table from the same script. The HTTP server comes from the test suite (tests/hostile_http.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30


# ------------------------------------------------------------------------------------------------ the children
def _bomb(levels: str) -> dict:
    from proofpile.extract.latex import clean_project

    n = int(levels)
    files = {"main.tex": "\\documentclass{article}\\begin{document}\nStart.\n\\input{l1}\n\\end{document}\n"}
    for i in range(1, n + 1):
        files[f"l{i}.tex"] = (f"Level {i} words.\n" + f"\\input{{l{i + 1}}}\n" * 3) if i < n else "Leaf.\n"
    cleaned = clean_project(files)
    return {"input_bytes": sum(len(v) for v in files.values()), "text_chars": len(cleaned.text),
            "meta_bytes": len(json.dumps(cleaned.meta))}


def _candidates(count: str) -> dict:
    from proofpile.extract.latex import clean_project

    n = int(count)
    files = {f"c{i}.tex": "\\documentclass{article}\\begin{document}\\input{hub}\\end{document}" for i in range(n)}
    files["hub.tex"] = "".join(f"\\input{{l{i}}}\n" for i in range(n))
    files.update({f"l{i}.tex": f"w{i} " for i in range(n)})
    cleaned = clean_project(files)
    return {"text_chars": len(cleaned.text), "meta_bytes": len(json.dumps(cleaned.meta))}


def _unclosed(arg: str) -> dict:
    from proofpile.filters.langid import prose_for_lid

    opener, kb = arg.split(":")
    text = (opener * (int(kb) * 1000 // len(opener) + 1))[: int(kb) * 1000]
    return {"prose_chars": len(prose_for_lid(text, "tex"))}


def _fetch(url: str) -> dict:
    import inspect

    from proofpile.sources.arxiv import PoliteFetcher

    kw = {"deadline": 2.0} if "deadline" in inspect.signature(PoliteFetcher).parameters else {}
    body, reason = PoliteFetcher(interval=0, retries=0, timeout=30, **kw).get(url)
    return {"body_bytes": len(body) if body is not None else 0, "reason": reason}


CHILDREN = {"bomb": _bomb, "candidates": _candidates, "unclosed": _unclosed, "fetch": _fetch}


# ------------------------------------------------------------------------------------------------ the parent
def measure(case: str, arg: str, timeout: float, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--child", case, arg], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {"seconds": time.monotonic() - start, "rss_mb": usage.ru_maxrss / 1024, "killed": True}
        time.sleep(0.05)
    seconds = time.monotonic() - start
    out = proc.stdout.read().decode(errors="replace").strip().splitlines()
    result = json.loads(out[-1]) if out and out[-1].startswith("{") else {"error": f"exit status {status}"}
    return {**result, "seconds": seconds, "rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="the small sizes only")
    ap.add_argument("--pythonpath", help="run the cases against the proofpile package found here")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a case is killed")
    args = ap.parse_args()
    if args.child:
        import proofpile.extract.latex  # noqa: F401 - imported before the clock starts
        import proofpile.filters.langid  # noqa: F401
        import proofpile.sources.arxiv  # noqa: F401

        start = time.perf_counter()
        result = CHILDREN[args.child[0]](args.child[1])
        print(json.dumps({**result, "op_seconds": time.perf_counter() - start}), flush=True)
        os._exit(0)

    sys.path.insert(0, str(REPO_ROOT))
    from tests.hostile_http import serve

    levels = [5, 8, 11] if args.quick else [5, 8, 11, 14, 17, 20]
    kbs = [10, 20] if args.quick else [10, 20, 40, 80]
    sizes = [10 * 2**20, 100 * 2**20] if args.quick else [10 * 2**20, 100 * 2**20, 512 * 2**20, GIB]
    rows = []
    for n in levels:
        r = measure("bomb", str(n), args.timeout, args.pythonpath)
        rows.append(("\\input bomb", f"{n} levels", r, f"text {r.get('text_chars', 0):,} ch, meta {r.get('meta_bytes', 0):,} B"))
    for n in ([250, 500] if args.quick else [250, 500, 1000, 2000]):
        r = measure("candidates", str(n), args.timeout, args.pythonpath)
        rows.append(("main candidates", f"{n} files", r, f"meta {r.get('meta_bytes', 0):,} B"))
    for opener in ("\\[", "\\("):
        for kb in kbs:
            r = measure("unclosed", f"{opener}:{kb}", args.timeout, args.pythonpath)
            rows.append((f"unclosed {opener}", f"{kb} KB", r, ""))
    with serve(drip_interval=0.5) as (base, _):
        for size in sizes:
            r = measure("fetch", f"{base}huge-nolength/{size}", args.timeout, args.pythonpath)
            rows.append(("e-print answer", f"{size / 2**20:,.0f} MiB", r,
                         f"kept {r.get('body_bytes', 0) / 2**20:,.0f} MiB" + (f", {r['reason']}" if r.get("reason") else "")))
        r = measure("fetch", f"{base}drip/100000", min(args.timeout, 30.0), args.pythonpath)
        rows.append(("1 byte / 0.5 s", "100 KB", r, r.get("reason") or ""))

    # `seconds`: the operation itself; `process`: with interpreter start-up and imports
    print(f"{'case':18s} {'size':>10s} {'seconds':>9s} {'process':>9s} {'peak RSS MB':>12s}  outcome")
    for case, size, r, note in rows:
        killed = " (killed at timeout)" if r.get("killed") else ""
        op = f"{r['op_seconds']:9.2f}" if "op_seconds" in r else f"{'-':>9s}"
        print(f"{case:18s} {size:>10s} {op} {r['seconds']:9.2f} {r['rss_mb']:12.0f}  {note}{killed}{r.get('error', '')}")


if __name__ == "__main__":
    main()
