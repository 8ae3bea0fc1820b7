"""One hostile case run in a process of its own, so its peak RSS and wall time are its alone.

`python -m tests.reliability.cost_child CASE JSON_ARGS` prints one JSON line: the counters and what was kept.
`run_case` starts it and adds `rss_mb` (the child's peak resident memory, from `wait4`) and `seconds`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _arxiv_build(args: dict) -> dict:
    from tests.reliability.helpers import build, counts, rows

    out = Path(args["out"])
    manifest = build("arxiv", out, f"arxiv.ids={json.dumps(args['ids'])}", f"arxiv.eprint_url={args['url']}",
                     "arxiv.paths=[]", "arxiv.request_interval=0", "arxiv.retries=0", *args.get("set", []))
    kept = rows(out)
    return {"counts": dict(counts(manifest)), "ids": sorted(json.loads(r["meta"])["arxiv_id"] for r in kept),
            "texts": [r["text"][:2000] for r in kept]}


def _commoncrawl_list(args: dict) -> dict:
    from proofpile.recipes import load_recipe
    from proofpile.source_plans import plan_commoncrawl

    recipe, path = load_recipe("open-web-math", [f"commoncrawl.paths_file={args['paths_file']}",
                                                 f"commoncrawl.base_url={args['base_url']}", "commoncrawl.retries=0",
                                                 *args.get("set", [])])
    plan = plan_commoncrawl(recipe.sources.commoncrawl, recipe, path)
    reader = plan.make_reader(Path(args["work"]))
    urls = [d.metadata["url"] for d in reader.run(None, 0, 1)]
    return {"counts": {k: v.total for k, v in reader.stats.stats.items()}, "urls": urls, "errors": plan.errors,
            "tasks": plan.tasks}


CASES = {"arxiv_build": _arxiv_build, "commoncrawl_list": _commoncrawl_list}


def run_case(case: str, args: dict, timeout: float = 120.0, max_address_space: int | None = None) -> dict:
    """The case's result plus `rss_mb` and `seconds`; a child still running after `timeout` is killed and the
    result says `timed_out`. `max_address_space` (bytes) keeps a runaway child from taking the machine."""

    def limit():
        if max_address_space:
            resource.setrlimit(resource.RLIMIT_AS, (max_address_space, max_address_space))

    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.cost_child", case, json.dumps(args)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    seconds = time.monotonic() - start
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # fallback if the line is missing
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1]) if lines and not timed_out else {}
    rss_mb = result.pop("rss_mb", rss_mb)
    return {**result, "rss_mb": rss_mb, "seconds": seconds, "timed_out": timed_out, "returncode": proc.returncode,
            "stderr": err.decode(errors="replace")[-3000:]}


def main() -> None:
    case, args = sys.argv[1], json.loads(sys.argv[2])
    result = CASES[case](args)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # worker processes of the build, if any
    result["rss_mb"] = max(own, kids) / 1024
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    os._exit(0)  # the reader may leave a daemon thread blocked on a dead socket: do not wait for it


if __name__ == "__main__":
    main()
